//! Building the service inside the sandbox from vendored sources only: the verified crates of its lockfile,
//! mounted read-only, with a cargo configuration written by Assay that replaces crates.io with them. No
//! cargo runs on the host; the build has no network, no host registry cache and no host HOME.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use assay_report::{Finding, codes};

use std::os::unix::fs::DirBuilderExt;

use assay_report::observed::ObservedBehaviour;

use crate::cancel::Cancel;
use crate::observe::{SYSTEM_WRITES, Scope, read_trace};
use crate::sandbox::bounded::{Finished, run_bounded};
use crate::sandbox::{Identity, Job, Limits, Sandbox, SandboxUid};

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildRequest<'a> {
    /// The working directory (host path), the only writable one: it holds the asset and the target dir.
    pub scratch: &'a Path,
    /// The asset's root inside it (host path).
    pub asset: &'a Path,
    /// The vendor directory (host path, outside `scratch`): one folder per verified dependency.
    pub vendor: &'a Path,
    /// The binary target to build.
    pub bin: &'a str,
    /// Limits of the compiler and the build scripts and proc macros it runs.
    pub limits: &'a Limits,
    /// The uid the build runs as (as root).
    pub uid: SandboxUid,
    /// Stops the build when raised.
    pub cancel: &'a Cancel,
}

/// A build and what it was seen doing.
#[derive(Debug)]
pub struct BuildOutcome {
    /// How it ended.
    pub built: Built,
    /// What the build did, when traced; the error says why tracing failed.
    pub observed: Option<Result<ObservedBehaviour, String>>,
}

/// How a build ended.
#[derive(Debug)]
pub enum Built {
    /// The binary, as the sandbox sees it.
    Binary(PathBuf),
    /// No binary; the finding says why (the compiler's message, a limit).
    Failed(Box<Finding>),
}

/// Files an asset may ship that would redirect cargo or the toolchain; the scanner already reports them as
/// ignored, and here they are removed from the build's copy so they are ignored for real.
const IGNORED_CONFIG: [&str; 4] = [".cargo", "rust-toolchain", "rust-toolchain.toml", "cargo-config.toml"];

/// Assay's cargo configuration, inside the vendor directory: cargo's directory source skips dot-entries.
const CONFIG_FILE: &str = ".assay-cargo-config.toml";

/// The cargo configuration of every sandboxed build: crates.io replaced by the vendor directory, offline.
fn cargo_config(vendor_inside: &Path) -> String {
    let directory = toml_string(&vendor_inside.display().to_string());
    format!(
        "# Written by Assay: the build sees only the verified crates of Cargo.lock.\n\
         [source.crates-io]\nreplace-with = \"assay-vendor\"\n\n\
         [source.assay-vendor]\ndirectory = {directory}\n\n\
         [net]\noffline = true\n"
    )
}

/// A TOML basic string (the vendor path is ours, but quoting it properly costs nothing).
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Where traces are written, inside the scratch directory: made by the host (mode 0700, owned by Assay's
/// uid) before anything untrusted runs, so the payload's uid can neither enter nor replace it.
pub const OBSERVE_DIR: &str = ".assay-observe";

/// Programs a build may run besides the toolchain and its own build scripts: the C compiler driver and the
/// binutils it calls (cc-rs, linking), by name under `/usr`, and the compiler's private directories.
const BUILD_PROGRAMS: &[&str] = &[
    "cc",
    "c++",
    "gcc",
    "g++",
    "gcc-*",
    "g++-*",
    "cpp",
    "clang*",
    "ld",
    "ld.*",
    "as",
    "ar",
    "ranlib",
    "strip",
    "nm",
    "objcopy",
    "pkg-config",
    "pkgconf",
    "x86_64-linux-gnu-*",
    "aarch64-linux-gnu-*",
    "/usr/lib/gcc",
    "/usr/libexec/gcc",
];

/// Builds `bin` in release mode inside the sandbox, offline, from the vendor directory; traced when the
/// sandbox has an observer.
pub fn build(sandbox: &Sandbox, request: &BuildRequest<'_>) -> io::Result<BuildOutcome> {
    for name in IGNORED_CONFIG {
        let path = request.asset.join(name);
        if path.is_dir() {
            fs::remove_dir_all(&path)?;
        } else if path.symlink_metadata().is_ok() {
            fs::remove_file(&path)?;
        }
    }
    let manifest = request.asset.join("Cargo.toml");
    let vendor_inside = sandbox.vendor_path(request.vendor);
    let config = request.vendor.join(CONFIG_FILE);
    fs::write(&config, cargo_config(&vendor_inside))?;

    let target = request.scratch.join("target");
    fs::create_dir_all(&target)?;
    if sandbox.observer().is_some() {
        let observe = request.scratch.join(OBSERVE_DIR);
        fs::DirBuilder::new().mode(0o700).create(&observe)?;
    }
    if sandbox.drops_privileges() {
        hand_over(request.asset, request.uid)?;
        hand_over(&target, request.uid)?;
        hand_over(request.vendor, request.uid)?;
    }
    let inside_manifest = sandbox.inside(request.scratch, &manifest);
    let inside_target = sandbox.inside(request.scratch, &target);
    let args = ["build", "--release", "--locked", "--offline", "--bin", request.bin, "--config"]
        .into_iter()
        .map(Into::into)
        .chain([vendor_inside.join(CONFIG_FILE).into_os_string(), "--manifest-path".into()])
        .chain([inside_manifest.into_os_string()])
        .collect();
    let cwd = sandbox.inside(request.scratch, request.asset);
    let mut job = Job {
        scratch: request.scratch,
        cwd: cwd.clone(),
        program: sandbox.cargo(),
        args,
        env: vec![
            ("CARGO_TARGET_DIR".to_owned(), inside_target.display().to_string()),
            ("CARGO_TERM_COLOR".to_owned(), "never".to_owned()),
        ],
        limits: request.limits,
        ro_binds: sandbox.vendor_binds(request.vendor),
        identity: Identity::Payload(request.uid),
    };
    let trace = request.scratch.join(OBSERVE_DIR).join("build.trace");
    if let Some(observer) = sandbox.observer() {
        // strace as the supervisor, the build through the usual setpriv/prlimit chain after it.
        let mut traced: Vec<std::ffi::OsString> =
            observer.command(&sandbox.inside(request.scratch, &trace)).into_iter().map(Into::into).collect();
        traced.extend(sandbox.payload_prefix(request.uid, request.limits).into_iter().map(Into::into));
        traced.push(job.program.into_os_string());
        traced.append(&mut job.args);
        job.program = PathBuf::from(traced.remove(0));
        job.args = traced;
        job.identity = Identity::Supervisor;
    }
    let finished =
        run_bounded(sandbox.command(&job), None, request.limits.wall_clock, request.limits.output.0, request.cancel)?;
    let observed = sandbox.observer().map(|observer| {
        let scope = Scope {
            program: sandbox.cargo().display().to_string(),
            cwd: cwd.display().to_string(),
            reads: false,
            quiet_reads: Vec::new(),
            quiet_writes: SYSTEM_WRITES
                .iter()
                .map(|path| path.to_string())
                .chain([inside_target.display().to_string(), "/tmp".to_owned()])
                .chain([sandbox.home(request.scratch).display().to_string()])
                .chain([request.scratch.join("cargo-home").display().to_string()])
                .collect(),
            quiet_programs: BUILD_PROGRAMS
                .iter()
                .map(|program| program.to_string())
                .chain([sandbox.toolchain_path().display().to_string(), inside_target.display().to_string()])
                .collect(),
            own_ports: Vec::new(),
        };
        let phase = "the build: cargo, the compiler, build scripts and proc macros".to_owned();
        read_trace(&trace, scope, phase, observer.mechanism())
            .map(|mut observed| {
                observed.not_observable = vec![
                    "reads (a build reads sources and libraries everywhere; only writes are judged)".to_owned(),
                    "environment variables read (no system call)".to_owned(),
                ];
                observed
            })
            .map_err(|err| format!("the build's trace is unreadable: {err}"))
    });
    let built = if finished.status.is_some_and(|status| status.success()) {
        Built::Binary(inside_target.join("release").join(request.bin))
    } else {
        Built::Failed(Box::new(build_failure(&finished, request.limits)))
    };
    Ok(BuildOutcome { built, observed })
}

/// The finding for a failed build: the limit it hit, or the compiler's message.
fn build_failure(built: &Finished, limits: &Limits) -> Finding {
    use std::os::unix::process::ExitStatusExt;
    let breach = match built.status {
        None => Some(format!("wall-clock limit ({} s)", limits.wall_clock.as_secs())),
        Some(status) => status.signal().and_then(|signal| limits.breach(signal, None, None, "")),
    };
    match breach {
        Some(limit) => Finding::new(&codes::SANDBOX_LIMIT, format!("the service's build hit the sandbox's {limit}"))
            .help("a build that needs more is refused; build scripts and proc macros count against the same limits"),
        None => Finding::new(
            &codes::LOAD_BUILD_FAILED,
            format!("`cargo build --release --locked --offline` failed: {}", compiler_message(built)),
        )
        .help(
            "make the service build with `cargo build --release --locked --offline` from the published archive \
             and crates.io dependencies only",
        ),
    }
}

/// The compiler's message, trimmed: from the first `error` line, at most 20 lines and 2000 characters.
fn compiler_message(finished: &Finished) -> String {
    let stderr = String::from_utf8_lossy(&finished.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let first_error = lines.iter().position(|line| line.starts_with("error")).unwrap_or(0);
    let mut message = lines[first_error..].iter().take(20).copied().collect::<Vec<_>>().join("\n");
    if message.len() > 2000 {
        let cut = (0..=2000).rev().find(|&index| message.is_char_boundary(index)).unwrap_or(0);
        message.truncate(cut);
        message.push('…');
    }
    if message.trim().is_empty() { "no output".to_owned() } else { message }
}

/// Gives `path` and everything under it to `uid`, so the build (running as `uid`) can write its outputs.
fn hand_over(path: &Path, uid: SandboxUid) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid.0), Some(uid.0))?;
    if fs::symlink_metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            hand_over(&entry?.path(), uid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cargo_config_replaces_crates_io_with_the_vendor_directory() {
        let config: toml::Table = toml::from_str(&cargo_config(Path::new("/vendor"))).unwrap_or_default();
        assert_eq!(config["source"]["crates-io"]["replace-with"].as_str(), Some("assay-vendor"));
        assert_eq!(config["source"]["assay-vendor"]["directory"].as_str(), Some("/vendor"));
        assert_eq!(config["net"]["offline"].as_bool(), Some(true));
    }

    #[test]
    fn a_vendor_path_is_quoted_as_toml() {
        let config: toml::Table = toml::from_str(&cargo_config(Path::new("/tmp/a \"b\\c"))).unwrap_or_default();
        assert_eq!(config["source"]["assay-vendor"]["directory"].as_str(), Some("/tmp/a \"b\\c"));
    }
}

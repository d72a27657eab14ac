//! Building the service inside the sandbox from vendored sources only: the verified crates of its lockfile,
//! mounted read-only, with a cargo configuration written by Assay that replaces crates.io with them. No
//! cargo runs on the host; the build has no network, no host registry cache and no host HOME.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use assay_report::{Finding, codes};

use crate::cancel::Cancel;
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

/// Builds `bin` in release mode inside the sandbox, offline, from the vendor directory.
pub fn build(sandbox: &Sandbox, request: &BuildRequest<'_>) -> io::Result<Built> {
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
    let job = Job {
        scratch: request.scratch,
        cwd: sandbox.inside(request.scratch, request.asset),
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
    let built =
        run_bounded(sandbox.command(&job), None, request.limits.wall_clock, request.limits.output.0, request.cancel)?;
    if built.status.is_some_and(|status| status.success()) {
        return Ok(Built::Binary(inside_target.join("release").join(request.bin)));
    }
    Ok(Built::Failed(Box::new(build_failure(&built, request.limits))))
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

//! Building the service: dependencies fetched on the host (downloads only, no code runs), compiled in the sandbox.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assay_report::{Finding, codes};

use crate::sandbox::bounded::{Finished, run_bounded};
use crate::sandbox::{Identity, Job, Limits, Sandbox, SandboxUid};

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildRequest<'a> {
    /// The scratch directory (host path).
    pub scratch: &'a Path,
    /// The asset's root inside it (host path).
    pub asset: &'a Path,
    /// The binary target to build.
    pub bin: &'a str,
    /// Limits of the compiler and the build scripts and proc macros it runs.
    pub limits: &'a Limits,
    /// How long `cargo fetch` may take.
    pub fetch_timeout: Duration,
    /// The uid the build runs as (as root).
    pub uid: SandboxUid,
}

/// How a build ended.
#[derive(Debug)]
pub enum Built {
    /// The binary, as the sandbox sees it.
    Binary(PathBuf),
    /// No binary; the finding says why (the compiler's message, a limit, a failed fetch).
    Failed(Box<Finding>),
}

/// Files an asset may ship that would redirect cargo or the toolchain; the scanner already reports them as
/// ignored, and here they are removed from the scratch copy so they are ignored for real.
const IGNORED_CONFIG: [&str; 4] = [".cargo", "rust-toolchain", "rust-toolchain.toml", "cargo-config.toml"];

/// Fetches the asset's locked dependencies and builds `bin` in release mode inside the sandbox.
pub fn build(sandbox: &Sandbox, request: &BuildRequest<'_>) -> io::Result<Built> {
    for name in IGNORED_CONFIG {
        let path = request.asset.join(name);
        if path.is_dir() {
            fs::remove_dir_all(&path)?;
        } else if path.exists() {
            fs::remove_file(&path)?;
        }
    }
    let manifest = request.asset.join("Cargo.toml");

    // `cargo fetch` downloads and unpacks crates; it compiles and runs nothing, so it may run on the host,
    // where the registry is reachable. The cwd is the scratch dir, so no host `.cargo/config` above it applies.
    let mut fetch = std::process::Command::new(sandbox.host_cargo());
    fetch.args(["fetch", "--locked", "--quiet", "--manifest-path"]).arg(&manifest).current_dir(request.scratch);
    fetch.env("CARGO_HOME", sandbox.cargo_home()).env("CARGO_TERM_COLOR", "never");
    let fetched = run_bounded(fetch, None, request.fetch_timeout, request.limits.output.0)?;
    if !fetched.status.is_some_and(|status| status.success()) {
        let why = if fetched.timed_out() {
            format!("timed out after {} s", request.fetch_timeout.as_secs())
        } else {
            compiler_message(&fetched)
        };
        return Ok(Built::Failed(Box::new(
            Finding::new(&codes::LOAD_BUILD_FAILED, format!("the service's dependencies could not be fetched: {why}"))
                .help("check that Cargo.lock is complete and every dependency is published"),
        )));
    }

    let target = request.scratch.join("target");
    fs::create_dir_all(&target)?;
    if sandbox.drops_privileges() {
        hand_over(request.asset, request.uid)?;
        hand_over(&target, request.uid)?;
    }
    let inside_manifest = sandbox.inside(request.scratch, &manifest);
    let inside_target = sandbox.inside(request.scratch, &target);
    let job = Job {
        scratch: request.scratch,
        cwd: sandbox.inside(request.scratch, request.asset),
        program: sandbox.cargo(),
        args: ["build", "--release", "--locked", "--offline", "--bin", request.bin, "--manifest-path"]
            .into_iter()
            .map(Into::into)
            .chain([inside_manifest.into_os_string()])
            .collect(),
        env: vec![
            ("CARGO_TARGET_DIR".to_owned(), inside_target.display().to_string()),
            ("CARGO_TERM_COLOR".to_owned(), "never".to_owned()),
        ],
        limits: request.limits,
        ro_binds: Vec::new(),
        identity: Identity::Payload(request.uid),
    };
    let built = run_bounded(sandbox.command(&job), None, request.limits.wall_clock, request.limits.output.0)?;
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
        .help("make the service build with `cargo build --release --locked --offline` from the published archive"),
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

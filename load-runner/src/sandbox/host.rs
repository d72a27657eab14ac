//! What the sandbox takes from the host: the system binds, the toolchain's sysroot, the programs it runs,
//! and the privileges it drops.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{SandboxError, SandboxUid};

/// Read-only binds of the system: `/usr` with the merged-usr links (or directories) beside it, and the bits
/// of `/etc` the dynamic loader and the compiler driver follow. Nothing else of `/etc`: no users, no secrets.
pub(super) fn system_binds() -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--ro-bind".into(), "/usr".into(), "/usr".into()];
    for top in ["/bin", "/sbin", "/lib", "/lib64", "/lib32"] {
        let path = Path::new(top);
        match std::fs::read_link(path) {
            Ok(target) => args.extend(["--symlink".into(), target.into_os_string(), top.into()]),
            Err(_) if path.is_dir() => args.extend(["--ro-bind".into(), top.into(), top.into()]),
            Err(_) => {}
        }
    }
    // bubblewrap makes missing parents of a mount point mode 0700, which the sandbox uid could not traverse.
    args.extend(["--perms".into(), "0755".into(), "--dir".into(), "/etc".into()]);
    for etc in ["/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"] {
        if Path::new(etc).exists() {
            args.extend(["--ro-bind".into(), etc.into(), etc.into()]);
        }
    }
    args
}

/// `setpriv` arguments that become `uid` with no groups, no capabilities and no way to gain privileges.
pub(super) fn drop_to(uid: SandboxUid) -> Vec<String> {
    vec![
        format!("--reuid={}", uid.0),
        format!("--regid={}", uid.0),
        "--clear-groups".to_owned(),
        "--inh-caps=-all".to_owned(),
        "--bounding-set=-all".to_owned(),
        "--no-new-privs".to_owned(),
        "--".to_owned(),
    ]
}

/// Whether Assay runs as root.
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `name` on PATH (or the usual system directories).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The active toolchain's sysroot (`rustc --print sysroot`, honouring `RUSTC`).
pub(super) fn toolchain_sysroot() -> Result<PathBuf, SandboxError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    // From `/`: a rustup proxy reads `rust-toolchain` files in its cwd and every parent, and the operator's
    // cwd is none of Assay's business (a submission's files are never anywhere near it).
    let output = Command::new(&rustc)
        .current_dir("/")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|err| SandboxError::Toolchain { detail: format!("`rustc --print sysroot`: {err}") })?;
    if !output.status.success() {
        return Err(SandboxError::Toolchain {
            detail: format!("`rustc --print sysroot` failed: {}", String::from_utf8_lossy(&output.stderr).trim()),
        });
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // Bound at its canonical path: a toolchain reached through a symlink would otherwise dangle inside.
    let sysroot = sysroot.canonicalize().unwrap_or(sysroot);
    if sysroot.join("bin").join("cargo").is_file() {
        Ok(sysroot)
    } else {
        Err(SandboxError::Toolchain { detail: format!("{} has no bin/cargo", sysroot.display()) })
    }
}

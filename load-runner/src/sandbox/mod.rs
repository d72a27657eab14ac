//! The sandbox untrusted code runs in: bubblewrap namespaces and read-only binds, rlimits set before exec.
//!
//! Inside bubblewrap a process sees `/usr` (with the merged-usr links), `/etc/alternatives` and
//! `/etc/ld.so.cache` read-only; the Rust toolchain read-only at `/opt/rust`; the verified dependency crates
//! read-only at `/vendor` (builds only); the working directory read-write at `/scratch`; a fresh tmpfs `HOME`
//! (with an empty `CARGO_HOME`) and `/tmp`; nothing else of the host: no registry cache, no credentials, no
//! parent of the scratch directory. It has its own network (loopback only, no egress), PID, IPC and UTS
//! namespaces, a new session, a cleared environment, and dies with its parent.
//!
//! Privileges. As root, bubblewrap needs no user namespace, and the payload drops to a dedicated uid with
//! `setpriv` (no capabilities, `no_new_privs`): RLIMIT_NPROC then counts exactly the sandbox's tasks, which a
//! root-mapped user namespace would exempt from the limit (measured here). Unprivileged, bubblewrap maps the
//! caller into a user namespace and drops every capability; the process limit then counts all of the
//! caller's tasks, so it is only as tight as the caller's other processes allow.

pub mod bounded;
mod host;
mod limits;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub use host::{find_program, running_as_root};
pub use limits::{Limits, signal_name};

use crate::observe::Observer;
use host::{drop_to, system_binds, toolchain_sysroot};

/// Where `/scratch` is, inside bubblewrap.
pub const SCRATCH_MOUNT: &str = "/scratch";
/// Where the vendored dependency crates appear inside bubblewrap (read-only).
pub const VENDOR_MOUNT: &str = "/vendor";
/// HOME inside bubblewrap (a tmpfs).
pub const SANDBOX_HOME: &str = "/home/sandbox";
/// Where the toolchain's sysroot appears inside bubblewrap; its host path may sit under a private directory
/// (`/root/.rustup`) that the sandbox uid could not traverse.
pub const TOOLCHAIN_MOUNT: &str = "/opt/rust";

/// Whether untrusted code runs inside bubblewrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxKind {
    /// bubblewrap plus rlimits: the only mode for untrusted submissions.
    Bubblewrap,
    /// rlimits only, on the host: trusted local development, stamped into the report.
    None,
}

impl fmt::Display for SandboxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SandboxKind::Bubblewrap => "bubblewrap",
            SandboxKind::None => "none",
        })
    }
}

impl std::str::FromStr for SandboxKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "bubblewrap" | "bwrap" => Ok(SandboxKind::Bubblewrap),
            "none" => Ok(SandboxKind::None),
            _ => Err(format!("unknown sandbox `{text}`; use `bubblewrap` or `none`")),
        }
    }
}

/// The sandbox cannot be set up; nothing untrusted ran.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// bubblewrap is not on PATH.
    #[error(
        "bubblewrap (`bwrap`) is not installed, and the load stage runs untrusted code only inside it; install it \
         (Debian/Ubuntu: `apt-get install bubblewrap`), or skip the load stage with --no-load (the report says so), \
         or, for trusted local development only, pass --sandbox none"
    )]
    BubblewrapMissing,
    /// A util-linux tool the sandbox needs is missing.
    #[error("`{tool}` is not installed; the sandbox sets limits and drops privileges with it (Debian: util-linux)")]
    ToolMissing {
        /// `prlimit` or `setpriv`.
        tool: &'static str,
    },
    /// bubblewrap is installed but cannot make a sandbox here.
    #[error(
        "bubblewrap cannot create a sandbox on this machine: {detail}; it needs user namespaces when not run as \
         root (sysctl kernel.unprivileged_userns_clone=1)"
    )]
    BubblewrapBroken {
        /// What bwrap printed.
        detail: String,
    },
    /// The Rust toolchain could not be located.
    #[error("cannot find the Rust toolchain to build the service with: {detail}")]
    Toolchain {
        /// Why.
        detail: String,
    },
}

/// A ready-to-use sandbox: where bubblewrap, util-linux's tools and the toolchain are.
#[derive(Clone, Debug)]
pub struct Sandbox {
    kind: SandboxKind,
    bwrap: PathBuf,
    prlimit: PathBuf,
    setpriv: Option<PathBuf>,
    sysroot: PathBuf,
    observer: Option<Observer>,
}

/// One command to run in the sandbox.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    /// Host path of the scratch directory, the only writable one (mounted at [`SCRATCH_MOUNT`]).
    pub scratch: &'a Path,
    /// Working directory, as the sandbox sees it.
    pub cwd: PathBuf,
    /// The program, as the sandbox sees it.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The whole environment (it starts empty; PATH and HOME are set by the sandbox).
    pub env: Vec<(String, String)>,
    /// rlimits of everything inside, set before exec.
    pub limits: &'a Limits,
    /// Extra read-only binds, host path to sandbox path.
    pub ro_binds: Vec<(PathBuf, PathBuf)>,
    /// Who the program runs as.
    pub identity: Identity,
}

/// Who a job's program runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The untrusted payload: the sandbox uid with no capabilities (as root), else the caller in a user namespace.
    Payload(SandboxUid),
    /// Assay's own supervisor (the load harness, the build's tracer): when Assay runs as root it keeps only the
    /// capabilities needed to start the payload as [`Identity::Payload`], to stop it, and to trace it
    /// (`setuid`, `setgid`, `setpcap`, `kill`, `sys_ptrace`: strace reads the arguments of a process of
    /// another uid); otherwise none. The payload never holds them: it is started through `setpriv`.
    Supervisor,
}

/// The uid (and gid) untrusted code runs as when Assay runs as root: one per sandbox, so the process limit
/// of one submission is not shared with another running beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxUid(pub u32);

impl SandboxUid {
    /// A fresh uid from a range no distribution assigns (5 898 240 and up), unique per process and call.
    pub fn allocate() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let sequence = NEXT.fetch_add(1, Ordering::Relaxed) % 64;
        SandboxUid(0x5A_0000 + (std::process::id() % 1_000_000) * 64 + sequence)
    }
}

impl Sandbox {
    /// Locates bubblewrap (when `kind` asks for it; `ASSAY_BWRAP`, else PATH), util-linux's `prlimit` and
    /// `setpriv` and the toolchain, and checks that bubblewrap can make a sandbox here.
    pub fn new(kind: SandboxKind) -> Result<Self, SandboxError> {
        let bwrap = match kind {
            // `ASSAY_BWRAP` names a bubblewrap installed off PATH.
            SandboxKind::Bubblewrap => match std::env::var_os("ASSAY_BWRAP") {
                Some(path) => Some(PathBuf::from(path)).filter(|path| path.is_file()),
                None => find_program("bwrap"),
            }
            .ok_or(SandboxError::BubblewrapMissing)?,
            SandboxKind::None => PathBuf::new(),
        };
        let prlimit = find_program("prlimit").ok_or(SandboxError::ToolMissing { tool: "prlimit" })?;
        let setpriv = if running_as_root() && kind == SandboxKind::Bubblewrap {
            Some(find_program("setpriv").ok_or(SandboxError::ToolMissing { tool: "setpriv" })?)
        } else {
            None
        };
        let observer = Observer::find();
        let sandbox = Self { kind, bwrap, prlimit, setpriv, sysroot: toolchain_sysroot()?, observer };
        if kind == SandboxKind::Bubblewrap {
            sandbox.probe()?;
        }
        Ok(sandbox)
    }

    /// Which sandbox this is.
    pub fn kind(&self) -> SandboxKind {
        self.kind
    }

    /// What traces the service and its build, when strace is installed.
    pub fn observer(&self) -> Option<&Observer> {
        self.observer.as_ref()
    }

    /// The toolchain's sysroot as sandboxed processes see it (builds may run anything under it).
    pub fn toolchain_path(&self) -> PathBuf {
        self.toolchain()
    }

    /// The toolchain's own `cargo` (not a rustup proxy, which would honour an asset's toolchain file), as
    /// sandboxed processes see it.
    pub fn cargo(&self) -> PathBuf {
        self.toolchain().join("bin").join("cargo")
    }

    /// The toolchain's sysroot as sandboxed processes see it.
    fn toolchain(&self) -> PathBuf {
        match self.kind {
            SandboxKind::Bubblewrap => PathBuf::from(TOOLCHAIN_MOUNT),
            SandboxKind::None => self.sysroot.clone(),
        }
    }

    /// Where the vendor directory at `host` appears to sandboxed processes.
    pub fn vendor_path(&self, host: &Path) -> PathBuf {
        match self.kind {
            SandboxKind::Bubblewrap => PathBuf::from(VENDOR_MOUNT),
            SandboxKind::None => host.to_owned(),
        }
    }

    /// The read-only bind that shows the vendor directory at `host` to a build.
    pub fn vendor_binds(&self, host: &Path) -> Vec<(PathBuf, PathBuf)> {
        match self.kind {
            SandboxKind::Bubblewrap => vec![(host.to_owned(), PathBuf::from(VENDOR_MOUNT))],
            SandboxKind::None => Vec::new(),
        }
    }

    /// Where `host` (inside the scratch directory) appears to sandboxed processes.
    pub fn inside(&self, scratch: &Path, host: &Path) -> PathBuf {
        match (self.kind, host.strip_prefix(scratch)) {
            (SandboxKind::Bubblewrap, Ok(relative)) => Path::new(SCRATCH_MOUNT).join(relative),
            _ => host.to_owned(),
        }
    }

    /// HOME of sandboxed processes.
    pub fn home(&self, scratch: &Path) -> PathBuf {
        match self.kind {
            SandboxKind::Bubblewrap => PathBuf::from(SANDBOX_HOME),
            SandboxKind::None => scratch.join("home"),
        }
    }

    /// Whether payloads run as a dedicated uid (Assay runs as root inside bubblewrap), so files they must
    /// write have to be handed to that uid first.
    pub fn drops_privileges(&self) -> bool {
        self.setpriv.is_some()
    }

    /// The command prefix that starts a payload as `uid` from a [`Identity::Supervisor`] inside the sandbox,
    /// with `limits` set before exec: `setpriv … -- prlimit … --`. Empty of `setpriv` when not root.
    pub fn payload_prefix(&self, uid: SandboxUid, limits: &Limits) -> Vec<String> {
        let mut prefix = Vec::new();
        if let Some(setpriv) = &self.setpriv {
            prefix.push(setpriv.display().to_string());
            prefix.extend(drop_to(uid));
        }
        prefix.push(self.prlimit.display().to_string());
        prefix.extend(limits.prlimit_args());
        prefix.push("--".to_owned());
        prefix
    }

    /// The host command that runs `job` in this sandbox.
    pub fn command(&self, job: &Job<'_>) -> Command {
        let mut command = Command::new(&self.prlimit);
        command.args(job.limits.prlimit_args()).arg("--");
        match self.kind {
            SandboxKind::Bubblewrap => {
                command.arg(&self.bwrap).args(self.bwrap_args(job)).arg("--");
                if let (Identity::Payload(uid), Some(setpriv)) = (job.identity, &self.setpriv) {
                    command.arg(setpriv).args(drop_to(uid));
                }
                command.arg(&job.program).args(&job.args);
                command.env_clear();
            }
            SandboxKind::None => {
                command.arg(&job.program).args(&job.args);
                command.env_clear().current_dir(&job.cwd);
                command.env("PATH", self.path_variable()).env("HOME", self.home(job.scratch));
                // Not the operator's ~/.cargo: its registry cache and credentials stay out even here.
                command.env("CARGO_HOME", job.scratch.join("cargo-home"));
                command.envs(job.env.iter().map(|(key, value)| (key, value)));
            }
        }
        command
    }

    fn path_variable(&self) -> String {
        format!("{}:/usr/local/bin:/usr/bin:/bin", self.toolchain().join("bin").display())
    }

    fn bwrap_args(&self, job: &Job<'_>) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
            args.extend(items.iter().map(|item| item.as_ref().to_owned()));
        };
        push(&[&"--unshare-net", &"--unshare-pid", &"--unshare-ipc", &"--unshare-uts"]);
        push(&[&"--die-with-parent", &"--new-session", &"--hostname", &"assay-sandbox"]);
        if !running_as_root() {
            push(&[&"--unshare-user", &"--cap-drop", &"ALL"]);
        } else if job.identity == Identity::Supervisor {
            push(&[&"--cap-drop", &"ALL"]);
            for capability in
                ["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"]
            {
                push(&[&"--cap-add", &capability]);
            }
        }
        args.extend(system_binds());
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
            args.extend(items.iter().map(|item| item.as_ref().to_owned()));
        };
        push(&[&"--proc", &"/proc", &"--dev", &"/dev", &"--tmpfs", &"/tmp", &"--chmod", &"1777", &"/tmp"]);
        for parent in ["/home", "/opt", "/opt/assay"] {
            push(&[&"--perms", &"0755", &"--dir", &parent]);
        }
        push(&[&"--tmpfs", &SANDBOX_HOME, &"--chmod", &"1777", &SANDBOX_HOME]);
        // An empty CARGO_HOME of the sandbox's own: no host registry cache, credentials or configuration.
        let cargo_home = Path::new(SANDBOX_HOME).join(".cargo");
        push(&[&"--perms", &"1777", &"--dir", &cargo_home]);
        push(&[&"--ro-bind", &self.sysroot, &TOOLCHAIN_MOUNT]);
        for (host, inside) in &job.ro_binds {
            push(&[&"--ro-bind", host, inside]);
        }
        push(&[&"--bind", &job.scratch, &SCRATCH_MOUNT, &"--chdir", &job.cwd]);
        push(&[&"--clearenv", &"--setenv", &"PATH", &self.path_variable()]);
        push(&[&"--setenv", &"HOME", &SANDBOX_HOME, &"--setenv", &"CARGO_HOME", &cargo_home]);
        for (key, value) in &job.env {
            push(&[&"--setenv", key, value]);
        }
        args
    }

    /// Runs `true` in a minimal sandbox, so a broken bubblewrap fails here with its own message, not later as
    /// a mysterious build failure.
    fn probe(&self) -> Result<(), SandboxError> {
        let mut command = Command::new(&self.bwrap);
        command.args(["--unshare-net", "--unshare-pid", "--die-with-parent"]).args(system_binds());
        if !running_as_root() {
            command.arg("--unshare-user");
        }
        command.args(["--", "/usr/bin/true"]);
        let output = command.output().map_err(|err| SandboxError::BubblewrapBroken { detail: err.to_string() })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(SandboxError::BubblewrapBroken { detail: String::from_utf8_lossy(&output.stderr).trim().to_owned() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_uids_are_distinct_and_unprivileged() {
        let (a, b) = (SandboxUid::allocate(), SandboxUid::allocate());
        assert_ne!(a, b);
        assert!(a.0 > 65_535);
    }

    #[test]
    fn sandbox_kinds_parse() {
        assert_eq!("bubblewrap".parse::<SandboxKind>(), Ok(SandboxKind::Bubblewrap));
        assert_eq!("none".parse::<SandboxKind>(), Ok(SandboxKind::None));
        assert!("docker".parse::<SandboxKind>().unwrap_err().contains("bubblewrap"));
    }
}

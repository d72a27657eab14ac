//! Resource limits of sandboxed processes, applied as rlimits before exec, and how a breach is recognised.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use assay_report::quantity::ByteSize;

/// What a sandboxed process may consume. Every value is a ceiling; reaching one is reported as what it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// CPU time of each process (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL a second later.
    pub cpu: Duration,
    /// Virtual address space of each process (RLIMIT_AS); allocations beyond it fail.
    pub address_space: ByteSize,
    /// Open file descriptors per process (RLIMIT_NOFILE).
    pub open_files: u64,
    /// Tasks (processes and threads) of the sandbox's user (RLIMIT_NPROC); fork and thread creation fail at it.
    pub processes: u64,
    /// Largest file a process may write (RLIMIT_FSIZE); SIGXFSZ beyond it.
    pub file_size: ByteSize,
    /// stdout and stderr kept; the rest is counted and dropped.
    pub output: ByteSize,
    /// Wall-clock time before everything in the sandbox is killed.
    pub wall_clock: Duration,
}

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

impl Limits {
    /// Defaults for the service under load: generous for a connector, small enough to protect the worker.
    /// The wall clock is the load run's own bound and is replaced per run.
    pub fn service() -> Self {
        Self {
            cpu: Duration::from_secs(120),
            address_space: ByteSize(4 * GIB),
            open_files: 1024,
            processes: 256,
            file_size: ByteSize(256 * MIB),
            output: ByteSize(MIB),
            wall_clock: Duration::from_secs(600),
        }
    }

    /// Defaults for `cargo build` of the service: rustc needs more of everything, for longer.
    pub fn build() -> Self {
        Self {
            cpu: Duration::from_secs(900),
            address_space: ByteSize(16 * GIB),
            open_files: 4096,
            processes: 2048,
            file_size: ByteSize(2 * GIB),
            output: ByteSize(4 * MIB),
            wall_clock: Duration::from_secs(600),
        }
    }

    /// Arguments of util-linux `prlimit` that set these limits on the command it executes (soft = hard, but
    /// CPU, whose hard limit is one second later so the process sees SIGXCPU first).
    pub fn prlimit_args(&self) -> Vec<String> {
        let cpu = self.cpu.as_secs().max(1);
        vec![
            format!("--cpu={cpu}:{}", cpu + 1),
            format!("--as={0}:{0}", self.address_space.0),
            format!("--nofile={0}:{0}", self.open_files),
            format!("--nproc={0}:{0}", self.processes),
            format!("--fsize={0}:{0}", self.file_size.0),
            "--core=0:0".to_owned(),
        ]
    }

    /// The limit a process that died of `signal` ran into, judged from the signal, its CPU time, the most
    /// address space it mapped and the last lines it wrote. `None` when nothing points at a limit.
    pub fn breach(&self, signal: i32, cpu: Option<Duration>, peak_vm: Option<u64>, log: &str) -> Option<String> {
        const SIGABRT: i32 = 6;
        const SIGKILL: i32 = 9;
        const SIGSEGV: i32 = 11;
        const SIGXCPU: i32 = 24;
        const SIGXFSZ: i32 = 25;
        let near_address_limit = peak_vm.is_some_and(|vm| vm.saturating_mul(10) >= self.address_space.0 * 9);
        let allocation_failed = log.contains("memory allocation of") || log.contains("Cannot allocate memory");
        match signal {
            SIGXCPU => Some(format!("CPU time limit ({} s)", self.cpu.as_secs())),
            SIGKILL if cpu.is_some_and(|used| used >= self.cpu) => {
                Some(format!("CPU time limit ({} s)", self.cpu.as_secs()))
            }
            SIGXFSZ => Some(format!("file size limit ({})", self.file_size)),
            SIGABRT | SIGSEGV if allocation_failed || near_address_limit => {
                Some(format!("memory limit ({} of address space)", self.address_space))
            }
            _ => None,
        }
    }
}

/// Name of a common signal, for messages (`signal 9 (SIGKILL)`).
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prlimit_arguments_carry_every_limit() {
        let args = Limits::service().prlimit_args();
        assert_eq!(args[0], "--cpu=120:121");
        assert!(args.contains(&"--nproc=256:256".to_owned()));
        assert!(args.contains(&format!("--as={0}:{0}", 4 * GIB)));
    }

    #[test]
    fn breaches_are_named_by_what_was_hit() {
        let limits = Limits::service();
        assert_eq!(limits.breach(24, None, None, "").as_deref(), Some("CPU time limit (120 s)"));
        assert_eq!(
            limits.breach(6, None, None, "memory allocation of 1048576 bytes failed").as_deref(),
            Some("memory limit (4096MiB of address space)")
        );
        assert_eq!(
            limits.breach(9, Some(Duration::from_secs(121)), None, "").as_deref(),
            Some("CPU time limit (120 s)")
        );
        assert_eq!(limits.breach(11, None, Some(GIB), ""), None, "a plain crash is not a limit");
    }
}

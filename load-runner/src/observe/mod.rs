//! Observing what sandboxed code does: the service at start-up and under a few probe requests (before the
//! measured window, so tracing costs the numbers nothing), and the build (build scripts, proc macros).
//!
//! The mechanism is strace inside the sandbox: ptrace with a seccomp filter (`--seccomp-bpf`), so only the
//! traced system calls stop the process. strace runs as Assay's supervisor and starts the payload through
//! the same `setpriv`/`prlimit` chain as always; its output file lies in a directory only the supervisor's
//! uid can enter, so (when Assay runs as root, and the payload as its own uid) the traced code can neither
//! read, forge nor truncate the trace. Reading another uid's memory needs `CAP_SYS_PTRACE`, which the
//! supervisor keeps inside the sandbox (see `sandbox::Identity::Supervisor`).
//!
//! Seccomp user notification would avoid ptrace, but needs a supervisor that answers every notification and
//! reads the same memory with the same privilege; strace is that supervisor, packaged and reviewed.

pub mod acts;
mod dns;
mod judge;
pub mod trace;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use assay_report::observed::ObservedBehaviour;
use rustix::fs::{Mode, OFlags};

pub use acts::{Collector, SYSTEM_READS, SYSTEM_WRITES, Scope};
pub use judge::{judge_build, judge_service};

/// The system calls traced: program execution, connections and datagrams, and every call that opens,
/// creates, renames, links or removes a file.
const TRACED: &str = "trace=execve,execveat,connect,sendto,sendmsg,sendmmsg,open,openat,openat2,creat,\
                      mkdir,mkdirat,rmdir,unlink,unlinkat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,\
                      truncate";

/// Bytes of a trace read; the rest is cut (and the report says so).
pub const MAX_TRACE_BYTES: u64 = 32 << 20;

/// strace, found on the host.
#[derive(Clone, Debug)]
pub struct Observer {
    strace: PathBuf,
    version: String,
}

impl Observer {
    /// strace on PATH (`ASSAY_STRACE` names one off PATH), with its version; `None` when there is none.
    pub fn find() -> Option<Self> {
        let strace = match std::env::var_os("ASSAY_STRACE") {
            Some(path) => Some(PathBuf::from(path)).filter(|path| path.is_file()),
            None => crate::sandbox::find_program("strace"),
        }?;
        let output = Command::new(&strace).arg("-V").output().ok().filter(|output| output.status.success())?;
        let first = String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_owned();
        let version = first.rsplit(' ').next().unwrap_or("unknown").to_owned();
        Some(Self { strace, version })
    }

    /// The command prefix that traces everything after it into `output` (a path as the tracer sees it).
    pub fn command(&self, output: &Path) -> Vec<String> {
        let mut command = vec![self.strace.display().to_string()];
        command.extend(
            [
                "-f",
                "-qq",
                "-y",
                "--seccomp-bpf",
                "-e",
                TRACED,
                "-e",
                "signal=none",
                "-s",
                "256",
                "-xx",
                "-X",
                "raw",
                "-o",
            ]
            .map(String::from),
        );
        command.push(output.display().to_string());
        command.push("--".to_owned());
        command
    }

    /// In words, for the report.
    pub fn mechanism(&self) -> String {
        format!(
            "strace {}: ptrace with a seccomp filter inside the sandbox, every process of the run followed",
            self.version
        )
    }
}

/// Reads the trace at `path` (never through a link) into the acts of `scope`.
pub fn read_trace(path: &Path, scope: Scope, phase: String, mechanism: String) -> io::Result<ObservedBehaviour> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = File::from(rustix::fs::open(path, flags, Mode::empty())?);
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!("{} is not a regular file", path.display())));
    }
    let read = read_acts(file, scope)?;
    Ok(ObservedBehaviour {
        phase,
        mechanism,
        acts: read.acts,
        omitted: read.omitted,
        truncated: read.truncated,
        not_observable: Vec::new(),
    })
}

/// What a trace held.
#[derive(Debug)]
pub struct TraceActs {
    /// The distinct acts, sorted, at most [`assay_report::observed::ACTS_SHOWN`] of each kind.
    pub acts: Vec<assay_report::observed::ObservedAct>,
    /// Distinct acts left out beyond that.
    pub omitted: u64,
    /// The trace passed [`MAX_TRACE_BYTES`] and was cut.
    pub truncated: bool,
}

/// Reads strace output (at most [`MAX_TRACE_BYTES`]; lines over [`trace::MAX_LINE`] skipped) into the acts of
/// `scope`. Never fails on its content, only on reading.
pub fn read_acts(source: impl Read, scope: Scope) -> io::Result<TraceActs> {
    let mut collector = Collector::new(scope);
    let mut reader = BufReader::new(source.take(MAX_TRACE_BYTES));
    let mut line = Vec::new();
    let mut read = 0u64;
    loop {
        line.clear();
        let n = reader.by_ref().take(trace::MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        if line.last() != Some(&b'\n') && n > trace::MAX_LINE {
            // An over-long line: skip to its end.
            let mut rest = Vec::new();
            read += reader.by_ref().take(MAX_TRACE_BYTES).read_until(b'\n', &mut rest)? as u64;
            continue;
        }
        if let Some(call) = std::str::from_utf8(&line).ok().and_then(trace::parse_line) {
            collector.add(&call);
        }
    }
    let (acts, omitted) = collector.finish();
    Ok(TraceActs { acts, omitted, truncated: read >= MAX_TRACE_BYTES })
}

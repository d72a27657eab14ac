//! What the service and its build were seen doing when they ran: the report's `observed` beside the contract's
//! declared capabilities.
//!
//! Static analysis reads the asset's own source; egress usually happens inside dependencies, and a name can
//! be hidden from a syntactic scan. So the load stage also records what the running code *did*, from the
//! kernel's side (system calls, traced inside the sandbox), and judges each act against the contract.

use serde::{Deserialize, Serialize};

/// What one traced run (the service's start-up and probe, or the build) did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ObservedBehaviour {
    /// When it was observed, in words (`start-up and 3 probe requests, before the measured window`).
    pub phase: String,
    /// How it was observed (`strace 6.1: ptrace with a seccomp filter, inside the sandbox`).
    pub mechanism: String,
    /// Each distinct act, sorted by kind then target; at most [`ACTS_SHOWN`] of each kind.
    pub acts: Vec<ObservedAct>,
    /// Distinct acts left out beyond [`ACTS_SHOWN`] of a kind.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u64,
    /// The trace was longer than Assay reads; acts after the cut are missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// What this mechanism cannot see, in words (environment reads happen in the process's own memory).
    pub not_observable: Vec<String>,
}

/// How many distinct acts of one kind a report lists.
pub const ACTS_SHOWN: usize = 64;

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// One distinct act.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ObservedAct {
    /// What kind of act.
    pub kind: ActKind,
    /// What it was aimed at: `10.1.2.3:443`, a host name looked up, a program, a path.
    pub target: String,
    /// For a process, its arguments (bounded); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// How the kernel answered the first attempt: `ok`, or the error (`ENETUNREACH`, `EROFS`, …). The act is
    /// judged either way: the sandbox refusing it does not make it declared.
    pub result: String,
    /// How many times it was attempted.
    pub times: u64,
    /// Whether the contract declares it; set when the act is judged.
    #[serde(default)]
    pub declared: bool,
}

/// The kinds of act observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ActKind {
    /// An outbound connection or datagram to `address:port`.
    Network,
    /// A host name looked up (a DNS query it sent).
    Lookup,
    /// A program executed.
    Process,
    /// A file opened for writing, created, renamed, linked or removed.
    Write,
    /// A file read outside the working directory, the toolchain and the system files every program reads.
    Read,
}

impl ActKind {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActKind::Network => "network",
            ActKind::Lookup => "lookup",
            ActKind::Process => "process",
            ActKind::Write => "write",
            ActKind::Read => "read",
        }
    }
}

impl std::fmt::Display for ActKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

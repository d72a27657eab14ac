//! What the host tells the load harness (the plan, on its stdin) and what it answers (on its stdout), as JSON.
//!
//! The answer travels over a pipe only the harness holds: the service under test shares the scratch
//! directory, so a result file there could be forged by it.

use serde::{Deserialize, Serialize};

use assay_report::load::{Measurement, ServiceUsage};

use assay_report::contract::LoadSpec;
use assay_report::observed::ObservedBehaviour;

use crate::observe::Scope;

/// Everything the harness needs, with paths as the sandbox sees them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HarnessPlan {
    /// How to start the service.
    pub service: ServiceLaunch,
    /// The contract's load spec.
    pub spec: LoadSpec,
    /// How long `ready` may take to answer 2xx before the service counts as never ready.
    pub startup_timeout_ms: u64,
    /// A request slower than this counts as failed (`timeout`).
    pub request_timeout_ms: u64,
    /// Bytes of the service's stdout and stderr kept for the log tail; more is counted and dropped.
    pub output_limit: u64,
    /// When set, the service is first started under a tracer for its start-up and a few probe requests, then
    /// stopped, and started again untraced for the measured run.
    #[serde(default)]
    pub observe: Option<ObservePlan>,
}

/// How to observe the service before it is measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ObservePlan {
    /// The tracer's command prefix (strace … -o `trace` --), put before the service's own prefix.
    pub tracer: Vec<String>,
    /// The directory the trace is written in: created by the harness, mode 0700, before the service starts.
    pub directory: String,
    /// The trace file inside it.
    pub trace: String,
    /// What counts as an act.
    pub scope: Scope,
    /// How the acts are observed, in words.
    pub mechanism: String,
    /// Milliseconds to keep watching after the last probe (work a service starts in the background).
    pub settle_ms: u64,
}

/// How to start the service inside the sandbox.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceLaunch {
    /// Command prefix that drops privileges and sets rlimits before exec (`setpriv … -- prlimit … --`).
    pub prefix: Vec<String>,
    /// The built binary.
    pub program: String,
    /// Its arguments (none for a service; the harness's own responder takes `--respond`).
    #[serde(default)]
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: String,
    /// Environment besides the port (PATH, HOME).
    pub env: Vec<(String, String)>,
    /// Variable that carries the port.
    pub port_env: String,
    /// Port to listen on, on 127.0.0.1.
    pub port: u16,
    /// Path that answers 2xx to GET once ready.
    pub ready: String,
}

/// What the harness measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HarnessResult {
    /// Milliseconds from spawn until `ready` answered 2xx; `None` when it never did.
    pub startup_ms: Option<f64>,
    /// Length of the measured window (after every user started), milliseconds.
    pub measured_ms: u64,
    /// All scenarios together.
    pub overall: Measurement,
    /// Each scenario, in contract order.
    pub scenarios: Vec<Measurement>,
    /// What the service used.
    pub service: ServiceUsage,
    /// How the service ended on its own, if it did.
    pub exit: Option<ServiceExit>,
    /// The most virtual memory the service mapped (`VmPeak`), bytes: tells a memory-limit abort from a crash.
    pub peak_vm_bytes: Option<u64>,
    /// Bytes the service wrote to stdout and stderr.
    pub output_bytes: u64,
    /// CPU time of the users' thread over the window, in percent of one core; near 100 the harness itself
    /// limited the load. Absent when it could not be read (no request completed after the window).
    #[serde(default)]
    pub users_busy_percent: Option<f64>,
    /// What the service did while observed; absent when it was not.
    #[serde(default)]
    pub observed: Option<ObservedBehaviour>,
    /// Why observing failed, when it was asked for and failed.
    #[serde(default)]
    pub observe_error: Option<String>,
}

/// The service ended before the harness stopped it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceExit {
    /// When: `startup` (before ready) or `load`.
    pub phase: String,
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal, when one killed it.
    pub signal: Option<i32>,
    /// Requests made before it ended.
    pub after_requests: u64,
}

impl ServiceExit {
    /// `exit status 3` or `signal 9 (SIGKILL)`.
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (_, Some(signal)) => format!("signal {signal} ({})", crate::sandbox::signal_name(signal)),
            (Some(code), None) => format!("exit status {code}"),
            (None, None) => "an unknown status".to_owned(),
        }
    }
}

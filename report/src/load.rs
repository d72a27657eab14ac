//! What the load stage measured, as the report, the summary, the rules and `load.json` carry it.
//!
//! Latencies are milliseconds with microsecond precision. A load test is a measurement: these values vary
//! between runs of the same asset, unlike the rest of the report.

use serde::{Deserialize, Serialize};

/// From this share of one core the harness's users' thread counts as saturated: the harness, not only the
/// service, set the pace. Measured on the `fast` load fixture (BENCHMARKS.md): one user at full speed keeps the
/// thread 44–59% busy and a paced load 20–30%; from two users at full speed it is 89–97%, where the harness
/// reports 1.7–3x the latency `oha` does.
pub const HARNESS_SATURATED_BUSY_PERCENT: f64 = 85.0;

/// Results of load-testing the asset's service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadReport {
    /// `bubblewrap`, or `none` when the service ran unsandboxed (`--sandbox none`, trusted development only).
    pub sandbox: String,
    /// The load model in words: goose users are a closed model (each user waits for its response), optionally paced.
    pub model: String,
    /// Concurrent users.
    pub users: u32,
    /// Requests per second the users were paced to together; absent when they sent at full speed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_rps: Option<f64>,
    /// Length of the measured window in milliseconds (ramp-up excluded).
    pub measured_ms: u64,
    /// Milliseconds from start until `ready` answered 2xx; absent when it never did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_ms: Option<f64>,
    /// All requests together.
    pub overall: Measurement,
    /// Each contract scenario, in contract order.
    pub scenarios: Vec<Measurement>,
    /// What the service process consumed.
    pub service: ServiceUsage,
    /// CPU time of the harness's users' thread over the window, in percent of one core. From 85 the harness
    /// itself limited the load (`load-harness-saturated`): latencies then include time responses waited for
    /// it. Absent when it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_busy_percent: Option<f64>,
    /// Every budget check made, passed or not, overall first.
    pub budgets: Vec<BudgetCheck>,
    /// The service binary that ran under load, so a marketplace can deploy exactly what was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<BuiltBinary>,
    /// When the measured window (start-up and load) ran and whether it had the host to itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<MeasuredWindow>,
    /// What the service did at start-up and under a few probe requests, traced before the measured window;
    /// absent when it could not be observed (the findings say why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<crate::observed::ObservedBehaviour>,
    /// What the build (the compiler, build scripts and proc macros) did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_observed: Option<crate::observed::ObservedBehaviour>,
    /// The CPUs the service and the harness were pinned to, apart; absent when they shared every CPU (one
    /// CPU only, or `--pin-cpus off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinning: Option<Pinning>,
    /// What the harness itself can drive on this machine, measured against a trivial responder pinned like
    /// the service; a `min-rps` budget above it is `budget-unmeasurable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_capacity: Option<HarnessCapacity>,
}

/// Disjoint CPU sets of the service and the harness (`taskset` lists, as in `0-2,4`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pinning {
    /// The service's CPUs (every process it starts inherits them).
    pub service_cpus: String,
    /// The harness's CPUs.
    pub harness_cpus: String,
}

/// The harness's own capacity: full-speed users against a responder that answers at once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HarnessCapacity {
    /// Requests per second it completed.
    pub rps: f64,
    /// Users it ran.
    pub users: u32,
    /// How busy its users' thread was, in percent of one core (near 100: the harness was the limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_percent: Option<f64>,
    /// Median latency against the responder, milliseconds: the harness's own floor.
    pub p50_ms: f64,
    /// When it was measured (once per process, before its first measured window).
    pub measured_at: String,
}

/// The binary that was measured and how it was built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BuiltBinary {
    /// `bin/<target name>`: the second subject of the signed VSA.
    pub name: String,
    /// Its sha256.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// `rustc -vV`'s release line of the toolchain that built it (`1.95.0 (…)`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    /// The cargo profile (`release`).
    pub profile: String,
    /// The target triple it was built for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// With `--check-reproducible`: whether a second build in a fresh sandbox gave the same digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproducible: Option<bool>,
    /// The second build's sha256, when it differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuilt_sha256: Option<String>,
}

/// The measured window of a load test.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MeasuredWindow {
    /// Whether it held the host-wide measurement lock: no other scan's build or load ran on this host during it.
    pub exclusive: bool,
    /// Milliseconds it waited for the lock (other scans' builds and windows).
    pub waited_ms: u64,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339).
    pub ended_at: String,
    /// The host's 1, 5 and 15 minute load averages at its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
}

/// Requests of one scenario (or all of them) in the measured window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Measurement {
    /// Scenario name, or `overall`.
    pub name: String,
    /// Requests started in the window.
    pub requests: u64,
    /// Requests that failed: connection errors, timeouts and non-2xx responses.
    pub errors: u64,
    /// `errors / requests` in percent.
    pub error_rate_percent: f64,
    /// Requests per second over the window.
    pub throughput_rps: f64,
    /// Latency of successful requests as measured.
    pub latency: Percentiles,
    /// The same, corrected for coordinated omission (each user's mean cadence backfilled, as goose's
    /// `Average` mitigation does).
    pub corrected: Percentiles,
    /// Failures by kind (`HTTP 500`, `connection refused`, …), sorted by kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureCount>,
    /// The latency distribution of successful requests as measured, at [`DISTRIBUTION_PERCENTILES`] (the
    /// percentile plot of `report.html`); empty when nothing succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distribution: Vec<LatencyPoint>,
}

/// The percentiles [`Measurement::distribution`] is taken at: denser towards the tail, where budgets live.
pub const DISTRIBUTION_PERCENTILES: [f64; 12] =
    [0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.9, 100.0];

/// One point of a latency distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencyPoint {
    /// The percentile, 0–100.
    pub percentile: f64,
    /// Milliseconds.
    pub ms: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// How often one kind of failure happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FailureCount {
    /// `HTTP 500`, `connection refused`, `timeout`, …
    pub kind: String,
    /// How many requests failed this way.
    pub count: u64,
}

/// Resources the service used, read from `/proc` inside the sandbox and the kernel's accounting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceUsage {
    /// Peak resident memory of the whole service, bytes: the largest sum of `VmRSS` over all of its
    /// processes at one sample (or, if larger, one process's own `VmHWM`). The `max-rss` budget judges it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// How the memory was counted: processes sampled every `sample_interval_ms`; the address-space rlimit of
    /// the sandbox applies to each process on its own (there are no cgroups here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryAccounting>,
    /// User plus system CPU time, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// Most tasks (processes and threads) the service had at once.
    pub peak_tasks: u64,
    /// How the service ended when it ended on its own (`exit status 3`, `signal 9 (SIGKILL)`); absent when
    /// it ran until the harness stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited: Option<String>,
    /// The last lines the service wrote to stdout and stderr (bounded).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_tail: String,
}

/// How a service's memory was counted, and each process's own peak.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemoryAccounting {
    /// Milliseconds between samples of `/proc`.
    pub sample_interval_ms: u64,
    /// Most processes the service had at once.
    pub peak_processes: u64,
    /// Processes seen over the run.
    pub processes_seen: u64,
    /// The processes with the largest own peaks (`VmHWM`), largest first, at most [`MEMORY_PROCESSES_SHOWN`].
    pub largest: Vec<ProcessPeak>,
    /// In words, for the report: what was summed and what the sandbox's memory limit does and does not do.
    pub note: String,
}

/// How many processes [`MemoryAccounting::largest`] lists.
pub const MEMORY_PROCESSES_SHOWN: usize = 8;

/// One process's own peak resident memory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessPeak {
    /// Its pid inside the sandbox.
    pub pid: u32,
    /// Its command name (`/proc/<pid>/comm`, which the service chooses).
    pub command: String,
    /// Its `VmHWM`, bytes.
    pub peak_rss_bytes: u64,
}

/// One budget compared with what was measured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BudgetCheck {
    /// `overall` or the scenario name.
    pub scope: String,
    /// `p50`, `p95`, `p99`, `error-rate`, `min-rps`, `max-rss` or `startup`.
    pub metric: String,
    /// The measured value, with its unit.
    pub measured: String,
    /// The effective limit, with its unit.
    pub limit: String,
    /// Where the limit came from: `contract` or `ceiling` (the rule set's, when stricter).
    pub source: String,
    /// Whether the measurement is within the limit.
    pub passed: bool,
}

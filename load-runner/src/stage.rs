//! The load stage from the host's side: build the service in the sandbox, run the harness beside it there,
//! and turn what it measured into the report's load section and findings.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use assay_report::load::{HarnessCapacity, LoadReport, MeasuredWindow};
use assay_report::{Finding, codes};

use crate::binary::{self, Toolchain};
use crate::budget_check::{judge, startup_budget};
use crate::build::{BuildRequest, Built, OBSERVE_DIR, build};
use crate::cancel::Cancel;
use crate::capacity;
use crate::harness_job::{HarnessJob, answer};
use crate::host_lock::{self, Hold};
use crate::observe::{SYSTEM_READS, SYSTEM_WRITES, Scope, judge_build, judge_service};
use crate::pinning;
use crate::plan::{HarnessPlan, HarnessResult, ObservePlan, ServiceLaunch};
use crate::reproducible::Pristine;
use crate::sandbox::bounded::tail_lines;
use crate::sandbox::{Limits, Sandbox, SandboxKind, SandboxUid};
use crate::saturation::saturation_finding;
use assay_report::contract::{Budget, Capabilities, LoadSpec, Service};
use assay_report::observed::ObservedBehaviour;
use assay_report::quantity::ByteSize;

/// Limits and bounds of a load run; [`LoadSettings::default`] documents the defaults.
#[derive(Clone, Debug)]
pub struct LoadSettings {
    /// Limits of the build.
    pub build: Limits,
    /// Limits of the running service (its wall clock is computed from the load spec).
    pub service: Limits,
    /// A request slower than this fails as `timeout`.
    pub request_timeout: Duration,
    /// How long the service may take to become ready when no budget says (twice the startup budget otherwise).
    pub startup_timeout: Duration,
    /// The host-wide measurement lock (see [`crate::host_lock`]); without one, windows are not isolated.
    pub measurement_lock: Option<PathBuf>,
    /// The toolchain builds use, recorded with the measured binary.
    pub toolchain: Toolchain,
    /// Whether the service and the harness get disjoint CPUs (when there are two or more).
    pub pin_cpus: bool,
    /// Whether the service is built a second time in a fresh sandbox and the binaries compared.
    pub check_reproducible: bool,
    /// The harness's capacity, measured once per process (shared by every clone of these settings).
    pub capacity: Arc<OnceLock<Option<HarnessCapacity>>>,
}

impl Default for LoadSettings {
    fn default() -> Self {
        Self {
            build: Limits::build(),
            service: Limits::service(),
            request_timeout: Duration::from_secs(10),
            startup_timeout: Duration::from_secs(30),
            measurement_lock: None,
            toolchain: Toolchain::default(),
            pin_cpus: true,
            check_reproducible: false,
            capacity: Arc::default(),
        }
    }
}

/// One load run.
#[derive(Clone, Debug)]
pub struct LoadRequest<'a> {
    /// The working directory (host path); the build and the service write only here.
    pub scratch: &'a Path,
    /// The asset's root inside it.
    pub asset: &'a Path,
    /// The verified dependency crates, one folder each (host path, outside `scratch`; mounted read-only).
    pub vendor: &'a Path,
    /// What to run.
    pub service: &'a Service,
    /// How to load it.
    pub spec: &'a LoadSpec,
    /// The rule set's ceilings (the stricter of these and the contract's budgets applies).
    pub ceilings: &'a Budget,
    /// What the contract declares the code may do: observed acts are judged against it.
    pub capabilities: &'a Capabilities,
    /// Limits and bounds.
    pub settings: &'a LoadSettings,
    /// Host path of the `assay-load-harness` binary.
    pub harness: &'a Path,
    /// Stops the build and the run when raised.
    pub cancel: &'a Cancel,
}

/// What the stage produced: the measurements when the service ran, and the findings either way.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    /// The load section of the report; absent when the service never ran (build failed).
    pub report: Option<LoadReport>,
    /// Build failures, crashes, limit breaches and budget breaches.
    pub findings: Vec<Finding>,
    /// One line for the stage record.
    pub note: String,
}

/// The load stage could not run; no verdict about the service exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The scratch directory could not be prepared, or a process could not be started.
    #[error("load stage: {what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The harness itself failed: a fault of Assay or its installation, not of the asset.
    #[error("the load harness failed ({status}): {detail}")]
    Harness {
        /// Its exit status.
        status: String,
        /// The end of its stderr.
        detail: String,
    },
}

/// Where the harness binary appears inside bubblewrap.
const HARNESS_MOUNT: &str = "/opt/assay/assay-load-harness";
/// Port the service listens on inside the sandbox's own network namespace, where every port is free.
const SANDBOX_PORT: u16 = 18080;

/// Builds the service, runs it under load in the sandbox and judges the result.
pub fn run(sandbox: &Sandbox, request: &LoadRequest<'_>) -> Result<LoadOutcome, LoadError> {
    let settings = request.settings;
    let mut findings = Vec::new();
    if sandbox.kind() == SandboxKind::None {
        findings.push(
            Finding::new(&codes::SANDBOX_DISABLED, "the service was built and run on the host, without bubblewrap")
                .help("only trusted local development may pass --sandbox none; a marketplace scan never does"),
        );
    }
    let uid = SandboxUid::allocate();
    let lock = |hold| match &settings.measurement_lock {
        Some(path) => host_lock::take(path, hold, request.cancel)
            .map_err(|source| LoadError::Io { what: "taking the host's measurement lock", source })
            .map(|taken| taken.map(Some)),
        None => Ok(Some(None)),
    };
    let cancelled = || LoadOutcome { report: None, findings: Vec::new(), note: "cancelled".to_owned() };
    // Builds may overlap one another, never another scan's measured window.
    let Some(build_lock) = lock(Hold::Shared)? else { return Ok(cancelled()) };
    let build_clock = std::time::Instant::now();
    let build_request = BuildRequest {
        scratch: request.scratch,
        asset: request.asset,
        bin: &request.service.bin,
        limits: &settings.build,
        vendor: request.vendor,
        uid,
        cancel: request.cancel,
    };
    // Before the first build can change the asset (a build script may write into it).
    let pristine = settings
        .check_reproducible
        .then(|| Pristine::copy(request.scratch, request.asset))
        .transpose()
        .map_err(|source| LoadError::Io { what: "copying the asset for a second build", source })?;
    let built =
        build(sandbox, &build_request).map_err(|source| LoadError::Io { what: "building the service", source })?;
    drop(build_lock);
    let build_seconds = build_clock.elapsed().as_secs_f64();
    let build_observed = match built.observed {
        Some(Ok(mut observed)) => {
            findings.extend(judge_build(&mut observed));
            findings.extend(cut_short(&observed, "build"));
            Some(observed)
        }
        Some(Err(why)) => {
            findings.push(not_observed(&why));
            None
        }
        None => {
            findings.push(not_observed(NO_OBSERVER));
            None
        }
    };
    let binary = match built.built {
        Built::Binary(binary) => binary,
        Built::Failed(finding) => {
            findings.push(*finding);
            return Ok(LoadOutcome { report: None, findings, note: "the service did not build".to_owned() });
        }
    };

    let spec = request.spec;
    let startup_timeout = startup_budget(spec, request.ceilings)
        .map_or(settings.startup_timeout, |budget| budget.0 * 2)
        .max(Duration::from_secs(1));
    let ramp = Duration::from_secs_f64(f64::from(spec.users) / spec.ramp.0.max(0.001));
    let expected = startup_timeout + ramp + spec.slot_wait() * 2 + spec.duration.0;
    let service_limits = Limits { wall_clock: expected, ..settings.service.clone() };
    // The harness and bubblewrap run under looser limits of their own; the service's apply to it alone.
    let outer = Limits {
        cpu: service_limits.cpu * 2 + expected * 2,
        address_space: ByteSize(1 << 40),
        open_files: 8192,
        processes: service_limits.processes + 1024,
        file_size: service_limits.file_size,
        output: ByteSize(4 << 20),
        // The observed start (start-up, probes, settling) comes first, and the capacity run once per process.
        wall_clock: expected + startup_timeout + Duration::from_secs(75),
    };
    let (port, harness_inside, ro_binds) = match sandbox.kind() {
        SandboxKind::Bubblewrap => (
            SANDBOX_PORT,
            PathBuf::from(HARNESS_MOUNT),
            vec![(request.harness.to_owned(), PathBuf::from(HARNESS_MOUNT))],
        ),
        SandboxKind::None => (
            free_port().map_err(|source| LoadError::Io { what: "finding a free port", source })?,
            request.harness.to_owned(),
            Vec::new(),
        ),
    };
    let cwd = sandbox.inside(request.scratch, request.asset);
    let observe = sandbox.observer().map(|observer| {
        let directory = sandbox.inside(request.scratch, &request.scratch.join(OBSERVE_DIR).join("service"));
        let trace = directory.join("trace");
        let target = sandbox.inside(request.scratch, &request.scratch.join("target"));
        ObservePlan {
            tracer: observer.command(&trace),
            directory: directory.display().to_string(),
            trace: trace.display().to_string(),
            scope: Scope {
                program: binary.display().to_string(),
                cwd: cwd.display().to_string(),
                reads: true,
                quiet_reads: SYSTEM_READS
                    .iter()
                    .map(|path| path.to_string())
                    .chain([&cwd, &target, &sandbox.toolchain_path()].map(|path| path.display().to_string()))
                    .collect(),
                quiet_writes: SYSTEM_WRITES.iter().map(|path| path.to_string()).collect(),
                quiet_programs: Vec::new(),
                own_ports: vec![port],
            },
            mechanism: observer.mechanism(),
            settle_ms: OBSERVE_SETTLE_MS,
        }
    });
    let job = HarnessJob {
        sandbox,
        scratch: request.scratch,
        harness: harness_inside,
        ro_binds,
        pinning: pinning::choose(settings.pin_cpus),
        limits: &outer,
    };
    let plan = HarnessPlan {
        service: ServiceLaunch {
            prefix: job.service_prefix().into_iter().chain(sandbox.payload_prefix(uid, &service_limits)).collect(),
            program: binary.display().to_string(),
            args: Vec::new(),
            cwd: cwd.display().to_string(),
            env: vec![("HOME".to_owned(), sandbox.home(request.scratch).display().to_string())],
            port_env: request.service.port_env.to_owned(),
            port,
            ready: request.service.ready.to_owned(),
        },
        spec: spec.clone(),
        startup_timeout_ms: millis(startup_timeout),
        request_timeout_ms: millis(settings.request_timeout),
        output_limit: service_limits.output.0,
        observe,
    };
    // The measured window (observation, start-up, then the load) runs alone on this host; so does the
    // harness's capacity run, the first time this process needs it.
    let Some(window_lock) = lock(Hold::Exclusive)? else { return Ok(cancelled()) };
    let capacity = settings
        .capacity
        .get_or_init(|| capacity::measure(&job, sandbox.payload_prefix(uid, &service_limits), port, request.cancel))
        .clone();
    let window_start = jiff::Timestamp::now();
    let finished =
        job.run(&plan, request.cancel).map_err(|source| LoadError::Io { what: "starting the load harness", source })?;
    let window = MeasuredWindow {
        exclusive: window_lock.is_some(),
        waited_ms: window_lock.as_ref().map_or(0, |lock| u64::try_from(lock.waited.as_millis()).unwrap_or(u64::MAX)),
        started_at: format!("{window_start:.3}"),
        ended_at: format!("{:.3}", jiff::Timestamp::now()),
        load_average: host_lock::load_average(),
    };
    drop(window_lock);
    if finished.timed_out() {
        findings.push(Finding::new(
            &codes::SANDBOX_LIMIT,
            format!(
                "the load run hit the sandbox's wall-clock limit ({} s) and was killed",
                outer.wall_clock.as_secs()
            ),
        ));
        return Ok(LoadOutcome { report: None, findings, note: "killed at the wall-clock limit".to_owned() });
    }
    let result = answer(&finished).map_err(|detail| LoadError::Harness {
        status: finished.status.map_or_else(|| "killed".to_owned(), |s| s.to_string()),
        detail,
    })?;
    let observed = result.observed.clone();
    let observe_error = result.observe_error.clone();
    let capacity_rps = capacity.as_ref().map(|capacity| capacity.rps);
    let (mut report, more) = interpret(sandbox.kind(), request, &service_limits, result, startup_timeout, capacity_rps);
    report.window = Some(window);
    report.pinning = job.pinning.map(|(pinning, _)| pinning);
    report.harness_capacity = capacity;
    report.build_observed = build_observed;
    report.observed = match (observed, observe_error) {
        (Some(mut observed), _) => {
            findings.extend(judge_service(&mut observed, request.capabilities));
            findings.extend(cut_short(&observed, "service"));
            Some(observed)
        }
        (None, Some(why)) => {
            findings.push(not_observed(&format!("the service could not be observed: {why}")));
            None
        }
        (None, None) => None,
    };
    let built_at = request.scratch.join("target").join("release").join(&request.service.bin);
    findings.extend(more);
    // Only the build could make its output anything but a regular file (a link, a device): the asset's doing.
    report.binary = match binary::describe(&built_at, &request.service.bin, &settings.toolchain) {
        Ok(described) => Some(described),
        Err(err) => {
            findings.push(
                Finding::new(
                    &codes::LOAD_BUILD_FAILED,
                    format!("the measured binary cannot be attested: target/release/{}: {err}", request.service.bin),
                )
                .help("the build must leave the service binary as a regular file in the target directory"),
            );
            None
        }
    };
    if let (Some(pristine), Some(measured)) = (pristine, report.binary.as_mut()) {
        let Some(rebuild_lock) = lock(Hold::Shared)? else { return Ok(cancelled()) };
        let rebuilt = pristine
            .rebuild(sandbox, &build_request, &settings.toolchain, measured)
            .map_err(|source| LoadError::Io { what: "building the service a second time", source })?;
        drop(rebuild_lock);
        findings.extend(rebuilt);
    }
    let note = format!(
        "built in {build_seconds:.1} s; {} requests in {:.1} s, {} users",
        report.overall.requests,
        report.measured_ms as f64 / 1000.0,
        report.users
    );
    Ok(LoadOutcome { report: Some(report), findings, note })
}

/// Why nothing was observed when strace is missing.
const NO_OBSERVER: &str = "strace is not installed, so what the service and its build did was not observed";

/// How long the observed start keeps watching after its last probe request.
const OBSERVE_SETTLE_MS: u64 = 300;

/// `behaviour-not-observed` for `why`.
fn not_observed(why: &str) -> Finding {
    Finding::new(&codes::BEHAVIOUR_NOT_OBSERVED, why.to_owned())
        .help("install strace (Debian: apt-get install strace) so the load stage can observe what the code does")
}

/// `behaviour-not-observed` when a trace was longer than Assay reads.
fn cut_short(observed: &ObservedBehaviour, whose: &str) -> Option<Finding> {
    observed.truncated.then(|| {
        Finding::new(
            &codes::BEHAVIOUR_NOT_OBSERVED,
            format!(
                "the {whose}'s trace passed {} MiB and was cut there; acts after the cut were not judged",
                crate::observe::MAX_TRACE_BYTES >> 20
            ),
        )
    })
}

/// The report's load section and the findings of a finished harness run.
fn interpret(
    kind: SandboxKind,
    request: &LoadRequest<'_>,
    limits: &Limits,
    result: HarnessResult,
    startup_timeout: Duration,
    capacity_rps: Option<f64>,
) -> (LoadReport, Vec<Finding>) {
    let spec = request.spec;
    let mut findings = Vec::new();
    let log = &result.service.log_tail;
    let last_lines = |n| {
        let tail = tail_lines(log, n);
        if tail.is_empty() { String::new() } else { format!("; its last output: {}", tail.replace('\n', " ⏎ ")) }
    };
    let cpu = result.service.cpu_ms.map(Duration::from_millis);
    if let Some(exit) = &result.exit {
        let breach = exit.signal.and_then(|signal| limits.breach(signal, cpu, result.peak_vm_bytes, log));
        if let Some(limit) = &breach {
            findings.push(
                Finding::new(&codes::SANDBOX_LIMIT, format!("the service hit the sandbox's {limit} and was killed"))
                    .help("a service must stay within the sandbox's limits under the contract's load"),
            );
        }
        let (code, message) = if exit.phase == "startup" {
            (&codes::LOAD_STARTUP_FAILED, format!("the service exited before it was ready: {}", exit.describe()))
        } else {
            (
                &codes::LOAD_CRASHED,
                format!("the service exited under load after {} requests: {}", exit.after_requests, exit.describe()),
            )
        };
        findings.push(Finding::new(code, format!("{message}{}", last_lines(3))));
    } else if result.startup_ms.is_none() {
        findings.push(
            Finding::new(
                &codes::LOAD_STARTUP_FAILED,
                format!(
                    "the service did not answer GET {} with 2xx within {:.1} s{}",
                    request.service.ready,
                    startup_timeout.as_secs_f64(),
                    last_lines(3)
                ),
            )
            .help(format!(
                "listen on 127.0.0.1 at the port in ${} and answer the ready path once serving",
                request.service.port_env
            )),
        );
    }
    if result.service.peak_tasks >= limits.processes {
        findings.push(Finding::new(
            &codes::SANDBOX_LIMIT,
            format!(
                "the service reached the sandbox's process limit ({} tasks); further forks failed",
                limits.processes
            ),
        ));
    }
    if result.output_bytes > limits.output.0 {
        findings.push(Finding::new(
            &codes::SANDBOX_LIMIT,
            format!(
                "the service wrote {} to stdout and stderr, over the sandbox's output limit ({}); the rest was dropped",
                ByteSize(result.output_bytes).human(),
                limits.output
            ),
        ));
    }
    let mut budgets = Vec::new();
    if result.startup_ms.is_some() {
        let (checks, breaches) = judge(
            spec,
            request.ceilings,
            &result.overall,
            &result.scenarios,
            result.startup_ms,
            result.service.peak_rss_bytes,
            capacity_rps,
        );
        budgets = checks;
        findings.extend(breaches);
        findings.extend(saturation_finding(result.users_busy_percent, &result.overall));
    }
    let mut service = result.service;
    service.exited = result.exit.as_ref().map(|exit| format!("{} during {}", exit.describe(), exit.phase));
    let report = LoadReport {
        sandbox: kind.to_string(),
        model: model(spec),
        users: spec.users,
        rate_rps: spec.rate.map(|rate| rate.0),
        measured_ms: result.measured_ms,
        startup_ms: result.startup_ms,
        overall: result.overall,
        scenarios: result.scenarios,
        service,
        harness_busy_percent: result.users_busy_percent,
        budgets,
        binary: None,
        window: None,
        observed: None,
        build_observed: None,
        pinning: None,
        harness_capacity: None,
    };
    (report, findings)
}

/// The load model in words, for the report.
fn model(spec: &LoadSpec) -> String {
    let closed = format!("closed model: {} goose users started at {}", spec.users, spec.ramp);
    match spec.rate {
        None => format!("{closed}, each sending its next request when the last one completes (no think time)"),
        Some(rate) => format!(
            "{closed}, paced to {rate} in total: a pacer releases send slots evenly spaced and each request \
             takes one, at most {} slots waiting when every user is busy (the corrected percentiles count a stall)",
            spec.users
        ),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A port free on the host's loopback right now (only `--sandbox none` shares the host's network).
fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

//! The observed start: the service started under the tracer, waited for, sent each scenario's request once,
//! watched a moment longer, stopped; then its trace read into the acts the host judges. Runs before the
//! measured start, so the tracer's cost never reaches the numbers.

use std::fs::DirBuilder;
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use assay_load_runner::observe::read_trace;
use assay_load_runner::plan::{HarnessPlan, ObservePlan};
use assay_report::observed::ObservedBehaviour;

use crate::recorder::Recorder;
use crate::service::{Service, exchange};

/// What the tracer cannot see, said in every observed report.
const NOT_OBSERVABLE: [&str; 2] = [
    "environment variables read (getenv reads the process's own memory, no system call)",
    "what the service does under load: observation ends before the measured window",
];

/// Starts the service traced, probes it, stops it and reads what it did.
pub fn observe(plan: &HarnessPlan, observe: &ObservePlan) -> Result<ObservedBehaviour, String> {
    // Only the harness's uid may enter: the traced service (another uid, as root) cannot touch the trace.
    DirBuilder::new()
        .mode(0o700)
        .create(&observe.directory)
        .map_err(|err| format!("cannot create the trace directory {}: {err}", observe.directory))?;
    let mut launch = plan.service.clone();
    launch.prefix = observe.tracer.iter().cloned().chain(launch.prefix).collect();
    let names = plan.spec.scenarios.iter().map(|scenario| scenario.name.clone()).collect();
    let recorder = Arc::new(Recorder::new(names, 1, Duration::from_secs(1)));
    let service = Service::start(&launch, recorder).map_err(|err| format!("cannot start the traced service: {err}"))?;
    let ready = service.wait_ready(&plan.service.ready, Duration::from_millis(plan.startup_timeout_ms));
    let mut probes = 0;
    if ready.is_some() {
        let address = SocketAddr::from(([127, 0, 0, 1], plan.service.port));
        for scenario in &plan.spec.scenarios {
            let request = &scenario.request;
            let headers: Vec<(&str, &str)> =
                request.headers.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
            exchange(address, &request.method, &request.path, &headers, request.body.as_deref());
            probes += 1;
        }
        std::thread::sleep(Duration::from_millis(observe.settle_ms));
    }
    let _ = service.stop();
    let phase = match ready {
        Some(_) => format!(
            "start-up and {probes} probe request{} (one per scenario), then {} ms, before the measured window",
            if probes == 1 { "" } else { "s" },
            observe.settle_ms
        ),
        None => "start-up only (the service never became ready), before the measured window".to_owned(),
    };
    let mut observed = read_trace(Path::new(&observe.trace), observe.scope.clone(), phase, observe.mechanism.clone())
        .map_err(|err| format!("cannot read the trace: {err}"))?;
    observed.not_observable = NOT_OBSERVABLE.map(String::from).to_vec();
    Ok(observed)
}

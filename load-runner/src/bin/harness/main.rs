//! `assay-load-harness`: runs inside the sandbox beside the service. Reads a [`HarnessPlan`] as JSON on
//! stdin, starts the service, waits until it is ready, drives the contract's load with goose, and writes a
//! [`HarnessResult`] as JSON on stdout. Diagnostics go to stderr. Not meant to be run by hand.

mod attack;
mod observe;
mod pacer;
mod recorder;
mod responder;
mod service;
mod users_clock;

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use assay_load_runner::plan::{HarnessPlan, HarnessResult};

use crate::recorder::Recorder;
use crate::service::Service;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--respond") {
        return responder::respond();
    }
    let mut result_out = match claim_stdout() {
        Ok(file) => file,
        Err(err) => {
            eprintln!("assay-load-harness: cannot set up stdout: {err}");
            return ExitCode::from(2);
        }
    };
    match run() {
        Ok(result) => match serde_json::to_writer(&mut result_out, &result) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("assay-load-harness: cannot write the result: {err}");
                ExitCode::from(2)
            }
        },
        Err(err) => {
            eprintln!("assay-load-harness: {err}");
            ExitCode::from(2)
        }
    }
}

/// Keeps the original stdout for the result alone and points fd 1 at stderr, so nothing else that prints
/// (goose's terminal logger warns about every failed request) can corrupt the JSON the host parses.
fn claim_stdout() -> std::io::Result<std::fs::File> {
    // Close-on-exec: the service must not inherit the result pipe (its reader would wait for the service too).
    let result = rustix::io::fcntl_dupfd_cloexec(std::io::stdout(), 3)?;
    rustix::stdio::dup2_stdout(std::io::stderr())?;
    Ok(std::fs::File::from(result))
}

fn run() -> Result<HarnessResult, String> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|err| format!("cannot read the plan on stdin: {err}"))?;
    let plan: HarnessPlan =
        serde_json::from_str(&input).map_err(|err| format!("the plan on stdin is invalid: {err}"))?;
    let (observed, observe_error) = match &plan.observe {
        Some(how) => match observe::observe(&plan, how) {
            Ok(observed) => (Some(observed), None),
            Err(err) => (None, Some(err)),
        },
        None => (None, None),
    };
    let names = plan.spec.scenarios.iter().map(|scenario| scenario.name.clone()).collect();
    let recorder = Arc::new(Recorder::new(names, plan.spec.users as usize, plan.spec.duration.0));
    let service = Service::start(&plan.service, recorder.clone())
        .map_err(|err| format!("cannot start the service `{}`: {err}", plan.service.program))?;
    let startup = service.wait_ready(&plan.service.ready, Duration::from_millis(plan.startup_timeout_ms));
    if startup.is_some() {
        // Goose's control loop, which `block_on` runs on this thread, drains every request metric in one burst
        // about every half second. On the users' thread that burst stalled every user (10–20 ms at 50k
        // requests/s), and the corrected percentiles counted the stall as the service's (p99 14 ms where the raw
        // p99 was 0.3 ms). The users run on the one worker thread instead, so the burst costs them only CPU.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|err| format!("cannot start the async runtime: {err}"))?;
        let attacked = runtime.block_on(attack::attack(&plan, recorder.clone()));
        if let Err(err) = attacked {
            service.stop();
            return Err(format!("goose failed: {err:?}"));
        }
    }
    let accounting = service.stop();
    let (overall, scenarios, window) = recorder.measurements();
    Ok(HarnessResult {
        startup_ms: startup.map(|elapsed| (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0),
        measured_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
        overall,
        scenarios,
        service: accounting.usage,
        exit: accounting.exit,
        peak_vm_bytes: accounting.peak_vm,
        output_bytes: accounting.output_bytes,
        users_busy_percent: recorder.users_busy_percent(),
        observed,
        observe_error,
    })
}

//! The harness's own capacity on this machine: its users at full speed against a responder that answers at
//! once (the harness binary itself, `--respond`, pinned and limited like a service). Measured once per
//! process, under the measurement lock, before the first measured window; a `min-rps` budget above it cannot
//! be measured here (`budget-unmeasurable`).

use std::collections::BTreeMap;
use std::time::Duration;

use assay_report::contract::{Budget, LoadSpec, Request, Scenario};
use assay_report::load::HarnessCapacity;
use assay_report::quantity::{Rate, TimeSpan};

use crate::cancel::Cancel;
use crate::harness_job::{HarnessJob, answer};
use crate::plan::{HarnessPlan, ServiceLaunch};

/// Users of the capacity run: the top of the range the harness's accuracy is stated for.
pub const CAPACITY_USERS: u32 = 8;
/// Length of its measured window.
const CAPACITY_WINDOW: Duration = Duration::from_secs(2);

/// Measures what the harness can drive; `None` (and a line on stderr) when the run fails.
pub fn measure(
    job: &HarnessJob<'_>,
    payload_prefix: Vec<String>,
    port: u16,
    cancel: &Cancel,
) -> Option<HarnessCapacity> {
    let spec = LoadSpec {
        users: CAPACITY_USERS,
        ramp: Rate(1000.0),
        duration: TimeSpan(CAPACITY_WINDOW),
        rate: None,
        budget: Budget::default(),
        scenarios: vec![Scenario {
            name: "respond".to_owned(),
            weight: 1,
            request: Request { method: "GET".to_owned(), path: "/".to_owned(), headers: BTreeMap::new(), body: None },
            budget: None,
        }],
    };
    let plan = HarnessPlan {
        service: ServiceLaunch {
            prefix: job.service_prefix().into_iter().chain(payload_prefix).collect(),
            program: job.harness.display().to_string(),
            args: vec!["--respond".to_owned()],
            cwd: job.sandbox.inside(job.scratch, job.scratch).display().to_string(),
            env: Vec::new(),
            port_env: "PORT".to_owned(),
            port,
            ready: "/".to_owned(),
        },
        spec,
        startup_timeout_ms: 10_000,
        request_timeout_ms: 10_000,
        output_limit: 64 * 1024,
        observe: None,
    };
    let measured_at = format!("{:.3}", jiff::Timestamp::now());
    let finished = job.run(&plan, cancel).map_err(|err| err.to_string());
    let answered = finished.and_then(|finished| {
        answer(&finished).map_err(|detail| {
            let status = finished.status.map_or_else(|| "killed".to_owned(), |status| status.to_string());
            format!("{status}: {detail}")
        })
    });
    match answered {
        Ok(result) if result.overall.requests > 0 => Some(HarnessCapacity {
            rps: (result.overall.throughput_rps * 10.0).round() / 10.0,
            users: CAPACITY_USERS,
            busy_percent: result.users_busy_percent,
            p50_ms: result.overall.latency.p50_ms,
            measured_at,
        }),
        Ok(_) => {
            eprintln!("assay: the harness capacity run completed no request; min-rps budgets are judged as measured");
            None
        }
        Err(err) => {
            eprintln!("assay: the harness capacity run failed ({err}); min-rps budgets are judged as measured");
            None
        }
    }
}

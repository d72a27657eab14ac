//! The goose attack: one goose scenario whose weighted transactions are the contract's scenarios, so every
//! user sends the contract's request mix whatever the number of users.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use assay_load_runner::plan::HarnessPlan;
use assay_report::contract::Request;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, ClientBuilder, Method, Url};

use crate::pacer::Pacer;
use crate::recorder::{Outcome, Recorder};

/// What the transactions read; goose transactions are plain functions, so they reach it through a static.
struct Shared {
    recorder: Arc<Recorder>,
    requests: Vec<PreparedRequest>,
    request_timeout: Duration,
    /// Time between one user's requests when the load is paced (`users / rate`).
    pace: Option<Duration>,
    /// Send slots at the contract's rate, when it sets one.
    pacer: Option<Pacer>,
}

/// A contract request parsed once, so a request costs a clone of these and not a URL parse and join.
struct PreparedRequest {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<String>,
}

impl PreparedRequest {
    fn new(request: &Request, base: &Url) -> Result<Self, GooseError> {
        let invalid = |value: &str, detail: String| GooseError::InvalidOption {
            option: "scenario.request".to_owned(),
            value: value.to_owned(),
            detail,
        };
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|err| invalid(&request.method, format!("not an HTTP method: {err}")))?;
        let url = base.join(&request.path).map_err(|err| invalid(&request.path, format!("not a path: {err}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|err| invalid(name, format!("not a header name: {err}")))?;
            let value =
                HeaderValue::from_str(value).map_err(|err| invalid(value, format!("not a header value: {err}")))?;
            headers.append(name, value);
        }
        Ok(Self { method, url, headers, body: request.body.clone() })
    }
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// One user's mean latency so far: the cadence a full-speed user meant to keep, for the coordinated-omission
/// correction.
#[derive(Default)]
struct MeanLatency {
    total: Duration,
    count: u32,
}

/// Runs the contract's load against `http://127.0.0.1:{port}` until the run time ends.
pub async fn attack(plan: &HarnessPlan, recorder: Arc<Recorder>) -> Result<(), GooseError> {
    let host = format!("http://127.0.0.1:{}", plan.service.port);
    let base = Url::parse(&host).map_err(|err| GooseError::InvalidOption {
        option: "host".to_owned(),
        value: host.clone(),
        detail: err.to_string(),
    })?;
    let requests = plan
        .spec
        .scenarios
        .iter()
        .map(|scenario| PreparedRequest::new(&scenario.request, &base))
        .collect::<Result<_, _>>()?;
    let request_timeout = Duration::from_millis(plan.request_timeout_ms);
    let pace = plan.spec.rate.map(|_| plan.spec.slot_wait());
    let pacer = match plan.spec.rate {
        Some(rate) => {
            Some(Pacer::start(rate.0, plan.spec.users as usize).map_err(|err| GooseError::InvalidOption {
                option: "rate".to_owned(),
                value: rate.to_string(),
                detail: format!("cannot start the pacer thread: {err}"),
            })?)
        }
        None => None,
    };
    if SHARED.set(Shared { recorder, requests, request_timeout, pace, pacer }).is_err() {
        return Err(GooseError::InvalidOption {
            option: "attack".to_owned(),
            value: "twice".to_owned(),
            detail: "one attack per harness process".to_owned(),
        });
    }
    let mut scenario = Scenario::new("contract");
    for (index, contract_scenario) in plan.spec.scenarios.iter().enumerate() {
        let transaction = Transaction::new(Arc::new(move |user: &mut GooseUser| exercise(user, index)))
            .set_name(&contract_scenario.name)
            .set_weight(contract_scenario.weight as usize)?;
        scenario = scenario.register_transaction(transaction);
    }
    // A paced window opens only when the last user has had its first send slot.
    let duration = plan.spec.duration.0 + plan.spec.slot_wait();
    // Private fields rule out a struct literal; the defaults are adjusted field by field.
    let mut configuration = GooseConfiguration::default();
    configuration.host = host;
    configuration.users = Some(plan.spec.users as usize);
    configuration.hatch_rate = Some(plan.spec.ramp.0.to_string());
    configuration.startup_time = "0".to_owned();
    // Whole seconds after every user started; one more so the measured window closes before goose stops.
    configuration.run_time = (duration.as_secs() + u64::from(duration.subsec_nanos() > 0) + 1).to_string();
    configuration.timeout = Some(format!("{:.3}", plan.request_timeout_ms as f64 / 1000.0));
    // Goose's own metrics backfill stalls too; the harness's corrected histograms do the same, per request.
    configuration.co_mitigation = Some(GooseCoordinatedOmissionMitigation::Average);
    // Goose aggregates its own metrics on the same cores as the service; only its request metrics (which the
    // coordinated-omission mitigation works on) are kept, so its bookkeeping disturbs the measurement least.
    configuration.no_transaction_metrics = true;
    configuration.no_scenario_metrics = true;
    configuration.no_status_codes = true;
    configuration.no_telnet = true;
    configuration.no_websocket = true;
    configuration.no_print_metrics = true;
    configuration.no_error_summary = true;
    configuration.quiet = 1;
    // `initialize()` would parse the harness's argv and may exit; the configuration is built here instead.
    let attacked = match GooseAttack::initialize_with_config(configuration) {
        Ok(attack) => attack.register_scenario(scenario).execute().await.map(drop),
        Err(err) => Err(err),
    };
    if let Some(pacer) = SHARED.get().and_then(|shared| shared.pacer.as_ref()) {
        pacer.stop();
    }
    attacked
}

/// One request of scenario `index`: sent, its body read, its latency and outcome recorded.
fn exercise(user: &mut GooseUser, index: usize) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(async move {
        let Some(shared) = SHARED.get() else { return Ok(()) };
        let Some(request) = shared.requests.get(index) else { return Ok(()) };
        if user.get_session_data::<MeanLatency>().is_none() {
            user.set_client_builder(lean_client(shared.request_timeout)).await?;
            user.set_session_data(MeanLatency::default());
            shared.recorder.user_started();
        }
        if let Some(pacer) = &shared.pacer
            && !pacer.next_slot().await
        {
            return Ok(()); // the attack is over
        }
        let mut builder =
            user.client.request(request.method.clone(), request.url.clone()).headers(request.headers.clone());
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let began = Instant::now();
        let goose = user.request(GooseRequest::builder().set_request_builder(builder).build()).await?;
        // A connection error is a failure here, never a fast success; the body is part of the latency.
        let outcome = match goose.response {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(_) if status.is_success() => Outcome::Success,
                    Ok(_) => Outcome::Failure(format!("HTTP {}", status.as_u16())),
                    Err(err) => Outcome::Failure(failure_kind(&err)),
                }
            }
            Err(err) => Outcome::Failure(failure_kind(&err)),
        };
        let elapsed = began.elapsed();
        let mean_latency = match user.get_session_data_mut::<MeanLatency>() {
            Some(mean) => {
                mean.total += elapsed;
                mean.count += 1;
                mean.total / mean.count
            }
            None => elapsed,
        };
        // The interval the user meant to keep: its pace, else (goose's `Average` mitigation) its mean latency.
        let cadence = shared.pace.unwrap_or(mean_latency);
        shared.recorder.record(index, began, elapsed, outcome, cadence);
        Ok(())
    })
}

/// A user's HTTP client: goose's default stores cookies and negotiates gzip, work on every request that a
/// measurement of the service should not carry.
fn lean_client(timeout: Duration) -> ClientBuilder {
    Client::builder().user_agent(concat!("assay-load-harness/", env!("CARGO_PKG_VERSION"))).timeout(timeout).no_gzip()
}

/// A short, stable name for a failed request.
fn failure_kind(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timeout".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else if err.is_body() || err.is_decode() {
        "response body incomplete".to_owned()
    } else if err.is_request() {
        "connection lost".to_owned()
    } else {
        "request error".to_owned()
    }
}

//! Prometheus metrics of a worker, built with the Prometheus project's Rust client (`prometheus-client`) and
//! served at `/metrics` on `--metrics ADDR` by the bounded server of `crate::http` (OpenMetrics text).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use assay_report::{AcceptanceReport, Verdict};
use axum::Router;
use axum::http::header;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::http::{self, Limits};

/// Upper bounds (seconds) of the stage-duration histogram buckets.
const BUCKETS: [f64; 11] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0];

/// The content type of the OpenMetrics text the client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: String,
}

fn stage_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Counters, gauges and histograms of one worker process.
pub struct Metrics {
    registry: Registry,
    scans: Family<VerdictLabel, Counter>,
    in_flight: Gauge,
    redeliveries: Counter,
    dead_lettered: Counter,
    reconnects: Counter,
    republished: Counter,
    retried: Counter,
    rejudged: Counter,
    stages: Family<StageLabel, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let scans = Family::<VerdictLabel, Counter>::default();
        // Counters are registered without `_total`: the client adds it, so the names stay `assay_*_total`.
        registry.register("assay_scans", "Scans finished, by verdict", scans.clone());
        for verdict in [Verdict::Accepted, Verdict::Rejected, Verdict::NeedsReview] {
            // Every verdict is exposed from the start, at 0.
            let _ = scans.get_or_create(&VerdictLabel { verdict: verdict.as_str() });
        }
        let in_flight = Gauge::default();
        registry.register("assay_scans_in_flight", "Scans running now", in_flight.clone());
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let redeliveries = counter("assay_redeliveries", "Submissions received again (redelivered by the broker)");
        let dead_lettered = counter("assay_dead_lettered", "Submissions sent to the dead-letter queue");
        let reconnects = counter("assay_reconnects", "Connections to the broker re-established");
        let republished = counter("assay_republished", "Stored reports published again instead of rescanning");
        let retried = counter("assay_retried", "Submissions returned to the queue after a retryable failure");
        let rejudged = counter("assay_rejudged", "Stored verdicts changed by a re-judgement");
        let stages = Family::<StageLabel, Histogram, fn() -> Histogram>::new_with_constructor(stage_histogram);
        registry.register("assay_stage_duration_seconds", "Time spent per pipeline stage", stages.clone());
        Self {
            registry,
            scans,
            in_flight,
            redeliveries,
            dead_lettered,
            reconnects,
            republished,
            retried,
            rejudged,
            stages,
        }
    }
}

macro_rules! counter {
    ($($name:ident),*) => {$(
        #[doc = concat!("Adds one to `", stringify!($name), "`.")]
        pub fn $name(&self) {
            self.$name.inc();
        }
    )*};
}

impl Metrics {
    counter!(redeliveries, dead_lettered, reconnects, republished, retried, rejudged);

    /// A scan started (+1) or ended (-1).
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.inc_by(delta);
    }

    /// Records a finished scan: its verdict and each stage's duration.
    pub fn scanned(&self, report: &AcceptanceReport) {
        self.scans.get_or_create(&VerdictLabel { verdict: report.verdict.as_str() }).inc();
        for stage in &report.stages {
            // Milliseconds of a stage fit an f64 exactly.
            #[allow(clippy::cast_precision_loss)]
            let seconds = stage.duration_ms as f64 / 1000.0;
            self.stages.get_or_create(&StageLabel { stage: stage.name.clone() }).observe(seconds);
        }
    }

    /// The exposition (OpenMetrics text).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Encoding into a String fails only if a metric's own encoder does; the client's do not.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The bounds of the metrics endpoint: a scraper needs little, and a flood must not pin a worker.
pub fn limits() -> Limits {
    Limits {
        max_connections: 16,
        header_timeout: std::time::Duration::from_secs(5),
        connection_timeout: std::time::Duration::from_secs(10),
        ..Limits::default()
    }
}

/// Serves `GET /metrics` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    let router = Router::new().route(
        "/metrics",
        get(move || {
            let body = metrics.render();
            async move { ([(header::CONTENT_TYPE, OPENMETRICS)], body) }
        }),
    );
    http::serve(listener, http::hardened(router), limits()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_report::{StageRecord, StageStatus};

    #[test]
    fn the_exposition_keeps_the_metric_names() {
        let metrics = Metrics::default();
        let mut report: AcceptanceReport = serde_json::from_value(serde_json::json!({
            "schema": assay_report::REPORT_SCHEMA, "report_id": "r", "tool": {"name": "assay", "version": "0"},
            "subject": {"name": "a.crate", "kind": "crate", "sha256": "00", "size": 1},
            "options": {"load": "skipped-by-request", "max_db_age_days": 90},
            "rules": {"uri": "urn:test", "sha256": "11"}, "stages": [], "findings": [], "verdict": "accepted",
            "started_at": "2026-12-05T00:00:00Z", "finished_at": "2026-12-05T00:00:01Z"
        }))
        .unwrap_or_else(|err| panic!("{err}"));
        report.stages.push(StageRecord { name: "intake".into(), status: StageStatus::Ok, duration_ms: 3, note: None });
        metrics.scanned(&report);
        metrics.in_flight(1);
        metrics.dead_lettered();
        let text = metrics.render();
        for line in [
            "assay_scans_total{verdict=\"accepted\"} 1",
            "assay_scans_total{verdict=\"rejected\"} 0",
            "assay_scans_in_flight 1",
            "assay_dead_lettered_total 1",
            "assay_rejudged_total 0",
            "assay_stage_duration_seconds_bucket{le=\"0.005\",stage=\"intake\"} 1",
            "assay_stage_duration_seconds_count{stage=\"intake\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
    }
}

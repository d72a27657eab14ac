//! Prometheus metrics of a worker, served as text on `--metrics ADDR` at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use assay_report::{AcceptanceReport, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Upper bounds (seconds) of the stage-duration histogram buckets.
const BUCKETS: [f64; 11] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and gauges of one worker process.
#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    rejected: AtomicU64,
    needs_review: AtomicU64,
    in_flight: AtomicI64,
    redeliveries: AtomicU64,
    dead_lettered: AtomicU64,
    reconnects: AtomicU64,
    republished: AtomicU64,
    retried: AtomicU64,
    stages: Mutex<BTreeMap<String, Histogram>>,
}

macro_rules! counter {
    ($($name:ident),*) => {$(
        #[doc = concat!("Adds one to `", stringify!($name), "`.")]
        pub fn $name(&self) {
            self.$name.fetch_add(1, Ordering::Relaxed);
        }
    )*};
}

impl Metrics {
    counter!(redeliveries, dead_lettered, reconnects, republished, retried);

    /// A scan started (+1) or ended (-1).
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// Records a finished scan: its verdict and each stage's duration.
    pub fn scanned(&self, report: &AcceptanceReport) {
        let counter = match report.verdict {
            Verdict::Accepted => &self.accepted,
            Verdict::Rejected => &self.rejected,
            Verdict::NeedsReview => &self.needs_review,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let Ok(mut stages) = self.stages.lock() else { return };
        for stage in &report.stages {
            let seconds = stage.duration_ms as f64 / 1000.0;
            let histogram = stages.entry(stage.name.clone()).or_default();
            for (bucket, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            histogram.count += 1;
            histogram.sum += seconds;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP assay_scans_total Scans finished, by verdict.\n# TYPE assay_scans_total counter");
        for (verdict, counter) in
            [("accepted", &self.accepted), ("rejected", &self.rejected), ("needs-review", &self.needs_review)]
        {
            let _ = writeln!(out, "assay_scans_total{{verdict=\"{verdict}\"}} {}", load(counter));
        }
        let _ = writeln!(out, "# HELP assay_scans_in_flight Scans running now.\n# TYPE assay_scans_in_flight gauge");
        let _ = writeln!(out, "assay_scans_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        for (name, help, counter) in [
            ("assay_redeliveries_total", "Submissions received again (redelivered by the broker).", &self.redeliveries),
            ("assay_dead_lettered_total", "Submissions sent to the dead-letter queue.", &self.dead_lettered),
            ("assay_reconnects_total", "Connections to the broker re-established.", &self.reconnects),
            ("assay_republished_total", "Stored reports published again instead of rescanning.", &self.republished),
            ("assay_retried_total", "Submissions returned to the queue after a retryable failure.", &self.retried),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", load(counter));
        }
        let _ = writeln!(
            out,
            "# HELP assay_stage_duration_seconds Time spent per pipeline stage.\n# TYPE assay_stage_duration_seconds histogram"
        );
        if let Ok(stages) = self.stages.lock() {
            for (stage, histogram) in stages.iter() {
                for (count, bound) in histogram.counts.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "assay_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "assay_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {}",
                    histogram.count
                );
                let _ = writeln!(out, "assay_stage_duration_seconds_sum{{stage=\"{stage}\"}} {}", histogram.sum);
                let _ = writeln!(out, "assay_stage_duration_seconds_count{{stage=\"{stage}\"}} {}", histogram.count);
            }
        }
        out
    }
}

/// Serves `GET /metrics` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let metrics = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            // A request line and headers fit in 4 KiB; nothing else is read.
            let mut request = vec![0u8; 4096];
            let Ok(n) = stream.read(&mut request).await else { return };
            let request = String::from_utf8_lossy(&request[..n]);
            let response = if request.starts_with("GET /metrics ") {
                let body = metrics.render();
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
            };
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

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
    rejudged: AtomicU64,
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
    counter!(redeliveries, dead_lettered, reconnects, republished, retried, rejudged);

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
            ("assay_rejudged_total", "Stored verdicts changed by a re-judgement.", &self.rejudged),
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

/// Bounds of the metrics endpoint: a client that connects and says nothing, or many of them, must not pin
/// a worker's memory or tasks.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    /// Connections served at once; more are closed on accept.
    pub connections: usize,
    /// Time to send the request and to take the answer.
    pub timeout: std::time::Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self { connections: 16, timeout: std::time::Duration::from_secs(5) }
    }
}

/// Serves `GET /metrics` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>, limits: ServeLimits) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.connections));
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        // Over the cap the connection is dropped at once: scrapers retry, floods do not accumulate.
        let Ok(slot) = std::sync::Arc::clone(&slots).try_acquire_owned() else { continue };
        let metrics = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            let _slot = slot;
            // A request line and headers fit in 4 KiB; nothing else is read.
            let mut request = vec![0u8; 4096];
            let Ok(Ok(n)) = tokio::time::timeout(limits.timeout, stream.read(&mut request)).await else { return };
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
            let _ = tokio::time::timeout(limits.timeout, stream.write_all(response.as_bytes())).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Reads until the server closes the connection (0 bytes), failing after `within`.
    async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
        let mut buffer = [0u8; 64];
        matches!(tokio::time::timeout(within, stream.read(&mut buffer)).await, Ok(Ok(0) | Err(_)))
    }

    #[test]
    fn silent_clients_are_dropped_and_connections_are_capped() {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
            let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
            let limits = ServeLimits { connections: 2, timeout: Duration::from_millis(200) };
            tokio::spawn(serve(listener, std::sync::Arc::new(Metrics::default()), limits));
            let connect = || tokio::net::TcpStream::connect(address);
            let (mut first, mut second) =
                (connect().await.unwrap_or_else(|e| panic!("{e}")), connect().await.unwrap_or_else(|e| panic!("{e}")));
            // Both slots are held by silent clients: a third is closed without being served.
            let mut third = connect().await.unwrap_or_else(|e| panic!("{e}"));
            assert!(closed_within(&mut third, Duration::from_secs(5)).await, "over the cap, closed at once");
            // The silent ones are dropped at the read timeout, and their slots serve again.
            assert!(closed_within(&mut first, Duration::from_secs(5)).await);
            assert!(closed_within(&mut second, Duration::from_secs(5)).await);
            let mut client = connect().await.unwrap_or_else(|e| panic!("{e}"));
            client.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").await.unwrap_or_else(|e| panic!("{e}"));
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            assert!(String::from_utf8_lossy(&answer).contains("assay_scans_total"));
        });
    }
}

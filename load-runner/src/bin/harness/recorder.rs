//! Every measured request's latency, in HdrHistograms per scenario: raw, and corrected for coordinated omission.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use assay_report::load::{DISTRIBUTION_PERCENTILES, FailureCount, LatencyPoint, Measurement, Percentiles};
use hdrhistogram::Histogram;

use crate::users_clock::UsersClock;

/// Microseconds; anything slower than an hour is recorded as an hour.
const HIGHEST_US: u64 = 3_600_000_000;

/// Counts of one scenario.
struct Tally {
    raw: Histogram<u64>,
    corrected: Histogram<u64>,
    requests: u64,
    errors: u64,
    failures: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Self {
        let histogram =
            || Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("1 µs to 1 h at 3 significant figures is valid");
        Self { raw: histogram(), corrected: histogram(), requests: 0, errors: 0, failures: BTreeMap::new() }
    }
}

/// Shared by every goose user. The window opens when the last user starts (ramp-up is warm-up, not
/// measured) and lasts the contract's duration; only requests that start inside it count.
pub struct Recorder {
    names: Vec<String>,
    tallies: Vec<Mutex<Tally>>,
    users: usize,
    started_users: AtomicUsize,
    window_start: OnceLock<Instant>,
    duration: Duration,
    issued: AtomicU64,
    users_clock: UsersClock,
}

/// How one request ended.
pub enum Outcome {
    /// 2xx and the whole body read.
    Success,
    /// Anything else, by kind (`HTTP 500`, `connection refused`, `timeout`).
    Failure(String),
}

impl Recorder {
    /// A recorder for these scenario names.
    pub fn new(names: Vec<String>, users: usize, duration: Duration) -> Self {
        let tallies = names.iter().map(|_| Mutex::new(Tally::new())).collect();
        Self {
            names,
            tallies,
            users,
            started_users: AtomicUsize::new(0),
            window_start: OnceLock::new(),
            duration,
            issued: AtomicU64::new(0),
            users_clock: UsersClock::default(),
        }
    }

    /// A user made its first request; the last one to do so opens the window.
    pub fn user_started(&self) {
        if self.started_users.fetch_add(1, Ordering::SeqCst) + 1 >= self.users
            && self.window_start.set(Instant::now()).is_ok()
        {
            self.users_clock.open();
        }
    }

    /// Requests issued so far, measured or not.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Records one request that started at `began` and took `elapsed`; `cadence` is its user's mean latency so
    /// far, the interval at which that user meant to send (goose's `Average` coordinated-omission mitigation).
    pub fn record(&self, scenario: usize, began: Instant, elapsed: Duration, outcome: Outcome, cadence: Duration) {
        self.issued.fetch_add(1, Ordering::Relaxed);
        let Some(start) = self.window_start.get() else { return };
        if began >= *start + self.duration {
            self.users_clock.close();
            return;
        }
        if began < *start {
            return;
        }
        let Some(tally) = self.tallies.get(scenario) else { return };
        let Ok(mut tally) = tally.lock() else { return };
        tally.requests += 1;
        match outcome {
            Outcome::Success => {
                let micros = u64::try_from(elapsed.as_micros()).unwrap_or(HIGHEST_US).clamp(1, HIGHEST_US);
                tally.raw.saturating_record(micros);
                let interval = u64::try_from(cadence.as_micros()).unwrap_or(0).clamp(1, HIGHEST_US);
                if tally.corrected.record_correct(micros, interval).is_err() {
                    tally.corrected.saturating_record(micros);
                }
            }
            Outcome::Failure(kind) => {
                tally.errors += 1;
                *tally.failures.entry(kind).or_default() += 1;
            }
        }
    }

    /// How busy the users' thread was over the window, in percent of one core (see [`UsersClock`]).
    pub fn users_busy_percent(&self) -> Option<f64> {
        self.users_clock.busy_percent()
    }

    /// Per-scenario measurements and all of them together, and the window's length.
    pub fn measurements(&self) -> (Measurement, Vec<Measurement>, Duration) {
        let window = match self.window_start.get() {
            Some(start) => start.elapsed().min(self.duration),
            None => Duration::ZERO,
        };
        let mut overall = Tally::new();
        let mut scenarios = Vec::new();
        for (name, tally) in self.names.iter().zip(&self.tallies) {
            let Ok(tally) = tally.lock() else { continue };
            let _ = overall.raw.add(&tally.raw);
            let _ = overall.corrected.add(&tally.corrected);
            overall.requests += tally.requests;
            overall.errors += tally.errors;
            for (kind, count) in &tally.failures {
                *overall.failures.entry(kind.clone()).or_default() += count;
            }
            scenarios.push(measurement(name, &tally, window));
        }
        (measurement("overall", &overall, window), scenarios, window)
    }
}

fn measurement(name: &str, tally: &Tally, window: Duration) -> Measurement {
    let seconds = window.as_secs_f64();
    Measurement {
        name: name.to_owned(),
        requests: tally.requests,
        errors: tally.errors,
        error_rate_percent: if tally.requests == 0 { 0.0 } else { tally.errors as f64 * 100.0 / tally.requests as f64 },
        throughput_rps: if seconds > 0.0 { tally.requests as f64 / seconds } else { 0.0 },
        latency: percentiles(&tally.raw),
        corrected: percentiles(&tally.corrected),
        distribution: distribution(&tally.raw),
        failures: tally
            .failures
            .iter()
            .map(|(kind, count)| FailureCount { kind: kind.clone(), count: *count })
            .collect(),
    }
}

/// Milliseconds, rounded to the microsecond the histograms record.
fn ms(micros: u64) -> f64 {
    (micros as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn distribution(histogram: &Histogram<u64>) -> Vec<LatencyPoint> {
    if histogram.is_empty() {
        return Vec::new();
    }
    DISTRIBUTION_PERCENTILES
        .iter()
        .map(|&percentile| LatencyPoint { percentile, ms: ms(histogram.value_at_quantile(percentile / 100.0)) })
        .collect()
}

fn percentiles(histogram: &Histogram<u64>) -> Percentiles {
    if histogram.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p95_ms: ms(histogram.value_at_quantile(0.95)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_inside_the_window_count_and_errors_stay_out_of_latency() {
        let recorder = Recorder::new(vec!["a".to_owned()], 1, Duration::from_secs(60));
        let before = Instant::now();
        recorder.record(0, before, Duration::from_millis(5), Outcome::Success, Duration::from_millis(5));
        recorder.user_started();
        let now = Instant::now();
        recorder.record(0, now, Duration::from_millis(2), Outcome::Success, Duration::from_millis(2));
        recorder.record(
            0,
            now,
            Duration::from_millis(1),
            Outcome::Failure("HTTP 500".to_owned()),
            Duration::from_millis(2),
        );
        let (overall, scenarios, _) = recorder.measurements();
        assert_eq!((overall.requests, overall.errors), (2, 1));
        assert_eq!(scenarios[0].failures, [FailureCount { kind: "HTTP 500".to_owned(), count: 1 }]);
        assert!((overall.latency.p50_ms - 2.0).abs() < 0.01, "{:?}", overall.latency);
        assert_eq!(recorder.issued(), 3);
    }

    #[test]
    fn a_stall_is_backfilled_in_the_corrected_histogram_only() {
        let recorder = Recorder::new(vec!["a".to_owned()], 1, Duration::from_secs(60));
        recorder.user_started();
        let now = Instant::now();
        for _ in 0..98 {
            recorder.record(0, now, Duration::from_millis(1), Outcome::Success, Duration::from_millis(1));
        }
        recorder.record(0, now, Duration::from_millis(100), Outcome::Success, Duration::from_millis(1));
        let (overall, _, _) = recorder.measurements();
        assert!(overall.latency.p95_ms < 2.0, "raw p95 {:?}", overall.latency);
        assert!(overall.corrected.p95_ms > 10.0, "corrected p95 {:?}", overall.corrected);
    }
}

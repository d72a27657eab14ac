//! Whether the harness itself limited the load: when the users' thread was on the CPU nearly all the
//! window, responses waited for the harness as well as for the service, and the figures say so.

use assay_report::load::{HARNESS_SATURATED_BUSY_PERCENT, Measurement};
use assay_report::{Finding, codes};

/// The rate the finding suggests pacing to, as a share of the rate the saturated run reached. The thread's
/// busy share falls about in step with the rate, so this leaves it near two thirds busy, under the threshold.
const SUGGESTED_SHARE_OF_REACHED_RATE: f64 = 0.7;

/// The `load-harness-saturated` finding, when the users' thread was busy enough to shape the measurement.
pub fn saturation_finding(users_busy_percent: Option<f64>, overall: &Measurement) -> Option<Finding> {
    let busy = users_busy_percent.filter(|busy| *busy >= HARNESS_SATURATED_BUSY_PERCENT)?;
    let rps = overall.throughput_rps;
    Some(
        Finding::new(
            &codes::LOAD_HARNESS_SATURATED,
            format!(
                "the load harness kept its users' thread {busy:.0}% busy over the window: at {rps:.0} requests/s \
                 the harness, not only the service, set the pace, so the latencies include time responses \
                 waited for the harness (they are upper bounds) and the throughput is the harness's limit, not \
                 necessarily the service's"
            ),
        )
        .help(format!(
            "pace the load with the contract's `rate` well under {:.0}/s (or use fewer `users`) to measure \
             the service rather than the harness",
            (rps * SUGGESTED_SHARE_OF_REACHED_RATE).max(1.0)
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overall(rps: f64) -> Measurement {
        Measurement { name: "overall".to_owned(), requests: 1, throughput_rps: rps, ..Measurement::default() }
    }

    #[test]
    fn a_busy_users_thread_is_reported_with_a_rate_to_pace_to() {
        let finding = saturation_finding(Some(93.4), &overall(14_460.0)).expect("93% is saturated");
        assert_eq!(finding.code, "load-harness-saturated");
        assert!(finding.message.contains("93% busy") && finding.message.contains("14460 requests/s"), "{finding:?}");
        assert!(finding.help.as_deref().is_some_and(|help| help.contains("`rate` well under 10122/s")), "{finding:?}");
    }

    #[test]
    fn a_thread_with_room_to_spare_or_an_unknown_one_is_not() {
        assert!(saturation_finding(Some(57.0), &overall(7_800.0)).is_none());
        assert!(saturation_finding(Some(HARNESS_SATURATED_BUSY_PERCENT - 0.1), &overall(7_800.0)).is_none());
        assert!(saturation_finding(None, &overall(7_800.0)).is_none());
    }
}

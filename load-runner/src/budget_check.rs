//! Judging a load run against its effective budgets: the stricter of the contract's and the rule set's ceilings.

use assay_report::load::{BudgetCheck, Measurement};
use assay_report::{Finding, codes};

use assay_report::contract::{Budget, LoadSpec};
use assay_report::quantity::{ByteSize, Percent, TimeSpan};

/// One limit in force, and where it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Limit<T> {
    value: T,
    source: &'static str,
}

/// The stricter of two optional limits; `tighter(a, b)` says whether `a` is stricter than `b`.
fn stricter<T: Copy>(contract: Option<T>, ceiling: Option<T>, tighter: impl Fn(T, T) -> bool) -> Option<Limit<T>> {
    match (contract, ceiling) {
        (Some(c), Some(l)) if tighter(l, c) => Some(Limit { value: l, source: "ceiling" }),
        (Some(c), _) => Some(Limit { value: c, source: "contract" }),
        (None, Some(l)) => Some(Limit { value: l, source: "ceiling" }),
        (None, None) => None,
    }
}

/// The effective startup bound: the stricter of the contract's and the ceiling's `startup`.
pub fn startup_budget(spec: &LoadSpec, ceilings: &Budget) -> Option<TimeSpan> {
    stricter(spec.budget.startup, ceilings.startup, |a, b| a < b).map(|limit| limit.value)
}

/// Checks every budget key that applies, overall and per scenario. Returns every check (for the report) and
/// a finding per failed one, naming the measured value beside the limit.
pub fn judge(
    spec: &LoadSpec,
    ceilings: &Budget,
    overall: &Measurement,
    scenarios: &[Measurement],
    startup_ms: Option<f64>,
    peak_rss: Option<u64>,
    capacity_rps: Option<f64>,
) -> (Vec<BudgetCheck>, Vec<Finding>) {
    let mut checks = Vec::new();
    latency_and_errors(&mut checks, "overall", &spec.budget, ceilings, overall);
    if let Some(limit) = stricter(spec.budget.max_rss, ceilings.max_rss, |a, b| a < b)
        && let Some(rss) = peak_rss
    {
        checks.push(check(
            "overall",
            "max-rss",
            ByteSize(rss).human(),
            limit.value.to_string(),
            limit,
            rss <= limit.value.0,
        ));
    }
    if let Some(limit) = stricter(spec.budget.startup, ceilings.startup, |a, b| a < b)
        && let Some(ms) = startup_ms
    {
        let passed = ms <= limit.value.0.as_secs_f64() * 1000.0;
        checks.push(check("overall", "startup", format!("{ms:.1} ms"), limit.value.to_string(), limit, passed));
    }
    for (scenario, measured) in spec.scenarios.iter().zip(scenarios) {
        let own = scenario.budget.clone().unwrap_or_default();
        latency_and_errors(&mut checks, &scenario.name, &own, ceilings, measured);
    }
    let findings = checks
        .iter()
        .filter(|check| !check.passed)
        .map(|check| {
            if let Some(finding) = unmeasurable(check, capacity_rps) {
                return finding;
            }
            let relation = if check.metric == "min-rps" { "<" } else { ">" };
            let scope =
                if check.scope == "overall" { "overall".to_owned() } else { format!("scenario `{}`", check.scope) };
            let from = if check.source == "ceiling" { " (the rule set's ceiling)" } else { "" };
            Finding::new(
                &codes::BUDGET_EXCEEDED,
                format!("{scope}: {} {} {relation} budget {}{from}", check.metric, check.measured, check.limit),
            )
            .help("make the service meet its budget under the contract's load, or declare a budget it meets")
        })
        .collect();
    (checks, findings)
}

/// `budget-unmeasurable` for a failed `min-rps` check whose limit is above what the harness can drive here:
/// the run cannot tell whether the service meets it.
fn unmeasurable(check: &BudgetCheck, capacity_rps: Option<f64>) -> Option<Finding> {
    let capacity = capacity_rps?;
    let limit: f64 = check.limit.strip_suffix(" rps")?.parse().ok()?;
    (check.metric == "min-rps" && limit > capacity).then(|| {
        let scope = if check.scope == "overall" { "overall".to_owned() } else { format!("scenario `{}`", check.scope) };
        Finding::new(
            &codes::BUDGET_UNMEASURABLE,
            format!(
                "{scope}: min-rps budget {} is above what the load harness can drive on this machine ({capacity:.0} rps \
                 against a responder that answers at once); measured {}",
                check.limit, check.measured
            ),
        )
        .help("lower the min-rps budget to what this machine can measure, or have the verdict reviewed")
    })
}

fn latency_and_errors(
    checks: &mut Vec<BudgetCheck>,
    scope: &str,
    budget: &Budget,
    ceilings: &Budget,
    measured: &Measurement,
) {
    let latencies = [
        ("p50", budget.p50, ceilings.p50, measured.latency.p50_ms),
        ("p95", budget.p95, ceilings.p95, measured.latency.p95_ms),
        ("p99", budget.p99, ceilings.p99, measured.latency.p99_ms),
    ];
    // Percentiles of a scenario nobody completed say nothing; its error rate says why.
    let has_latencies = measured.requests > measured.errors;
    for (metric, declared, ceiling, ms) in latencies {
        if let Some(limit) = stricter(declared, ceiling, |a, b| a < b)
            && has_latencies
        {
            let passed = ms <= limit.value.0.as_secs_f64() * 1000.0;
            checks.push(check(scope, metric, format!("{ms:.1} ms"), limit.value.to_string(), limit, passed));
        }
    }
    if let Some(limit) = stricter(budget.error_rate, ceilings.error_rate, |a: Percent, b| a.0 < b.0) {
        let rate = measured.error_rate_percent;
        let passed = measured.requests > 0 && rate <= limit.value.0;
        checks.push(check(scope, "error-rate", format!("{rate:.2}%"), limit.value.to_string(), limit, passed));
    }
    if let Some(limit) = stricter(budget.min_rps, ceilings.min_rps, |a, b| a > b) {
        let rps = measured.throughput_rps;
        checks.push(check(
            scope,
            "min-rps",
            format!("{rps:.1} rps"),
            format!("{} rps", limit.value),
            limit,
            rps >= limit.value,
        ));
    }
}

fn check<T>(
    scope: &str,
    metric: &str,
    measured: String,
    limit_text: String,
    limit: Limit<T>,
    passed: bool,
) -> BudgetCheck {
    BudgetCheck {
        scope: scope.to_owned(),
        metric: metric.to_owned(),
        measured,
        limit: limit_text,
        source: limit.source.to_owned(),
        passed,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use assay_report::load::Percentiles;

    use super::*;

    fn spec(budget: &str) -> LoadSpec {
        toml::from_str(&format!(
            "users = 1\nramp = \"1/s\"\nduration = \"1s\"\nbudget = {budget}\n[[scenario]]\nname = \"a\"\nrequest = {{ path = \"/\" }}\n"
        ))
        .unwrap()
    }

    fn measured(p95_ms: f64, requests: u64, errors: u64) -> Measurement {
        Measurement {
            name: "overall".to_owned(),
            requests,
            errors,
            error_rate_percent: errors as f64 * 100.0 / requests.max(1) as f64,
            throughput_rps: requests as f64,
            latency: Percentiles { p50_ms: 1.0, p95_ms, p99_ms: p95_ms, max_ms: p95_ms },
            corrected: Percentiles::default(),
            failures: Vec::new(),
            distribution: Vec::new(),
        }
    }

    #[test]
    fn a_breach_names_the_measured_value_and_the_budget() {
        let spec = spec("{ p95 = \"20ms\" }");
        let m = measured(61.2, 100, 0);
        let (checks, findings) = judge(&spec, &Budget::default(), &m, std::slice::from_ref(&m), None, None, None);
        assert_eq!(checks.len(), 1);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].message, "overall: p95 61.2 ms > budget 20ms");
    }

    #[test]
    fn the_stricter_of_contract_and_ceiling_applies() {
        let spec = spec("{ error-rate = \"5%\" }");
        let ceilings = Budget { error_rate: Some(Percent(1.0)), ..Budget::default() };
        let m = measured(1.0, 100, 3);
        let (checks, findings) = judge(&spec, &ceilings, &m, &[], None, None, None);
        assert_eq!(checks[0].source, "ceiling");
        assert!(findings[0].message.contains("error-rate 3.00% > budget 1%"), "{}", findings[0].message);
        assert!(findings[0].message.contains("ceiling"));
    }

    #[test]
    fn memory_throughput_and_startup_are_checked_overall() {
        let spec = spec("{ max-rss = \"32MiB\", min-rps = 200, startup = \"1s\" }");
        let m = measured(1.0, 100, 0);
        let (checks, findings) = judge(&spec, &Budget::default(), &m, &[], Some(1500.0), Some(64 << 20), None);
        let failed: Vec<_> = checks.iter().filter(|c| !c.passed).map(|c| c.metric.as_str()).collect();
        assert_eq!(failed, ["min-rps", "max-rss", "startup"]);
        assert_eq!(findings.len(), 3);
        assert_eq!(startup_budget(&spec, &Budget::default()), Some(TimeSpan(Duration::from_secs(1))));
    }

    #[test]
    fn no_requests_at_all_fails_the_error_budget() {
        let spec = spec("{ error-rate = \"1%\", p95 = \"10ms\" }");
        let m = measured(0.0, 0, 0);
        let (checks, _) = judge(&spec, &Budget::default(), &m, &[], None, None, None);
        assert_eq!(checks.len(), 1, "no latency check without completed requests");
        assert!(!checks[0].passed);
    }

    #[test]
    fn a_min_rps_budget_above_the_harness_capacity_is_unmeasurable_not_exceeded() {
        let spec = spec("{ min-rps = 5000 }");
        let m = measured(1.0, 1800, 0);
        let (_, findings) = judge(&spec, &Budget::default(), &m, &[], None, None, Some(2500.0));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, "budget-unmeasurable");
        assert!(findings[0].message.contains("5000 rps") && findings[0].message.contains("2500 rps"));
        let (_, findings) = judge(&spec, &Budget::default(), &m, &[], None, None, Some(9000.0));
        assert_eq!(findings[0].code, "budget-exceeded", "within the harness's reach the service is judged");
    }
}

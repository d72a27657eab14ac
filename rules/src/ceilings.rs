//! `[ceilings]`: upper bounds (and a floor for throughput) every contract budget must respect.

use assay_report::contract::{Budget, CONTRACT_TABLE};
use assay_report::facts::Facts;
use assay_report::quantity::{ByteSize, Percent, TimeSpan};
use assay_report::{Finding, Location, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problems;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct CeilingsDoc {
    p50: Option<Spanned<String>>,
    p95: Option<Spanned<String>>,
    p99: Option<Spanned<String>>,
    error_rate: Option<Spanned<String>>,
    min_rps: Option<f64>,
    max_rss: Option<Spanned<String>>,
    startup: Option<Spanned<String>>,
}

pub(crate) fn validate(doc: &CeilingsDoc, problems: &mut Problems<'_>) -> Budget {
    Budget {
        p50: problems.quantity::<TimeSpan>(doc.p50.as_ref(), "ceilings.p50"),
        p95: problems.quantity::<TimeSpan>(doc.p95.as_ref(), "ceilings.p95"),
        p99: problems.quantity::<TimeSpan>(doc.p99.as_ref(), "ceilings.p99"),
        error_rate: problems.quantity::<Percent>(doc.error_rate.as_ref(), "ceilings.error-rate"),
        min_rps: doc.min_rps,
        max_rss: problems.quantity::<ByteSize>(doc.max_rss.as_ref(), "ceilings.max-rss"),
        startup: problems.quantity::<TimeSpan>(doc.startup.as_ref(), "ceilings.startup"),
    }
}

/// Its line of the rule set's canonical form.
pub(crate) fn canonical(ceilings: &Budget, out: &mut String) {
    out.push_str(&format!("ceilings={}\n", serde_json::to_string(ceilings).unwrap_or_default()));
}

/// One budget key against its ceiling: the declared value, the ceiling, and whether the former is looser.
struct Comparison {
    name: &'static str,
    declared: Option<String>,
    ceiling: Option<String>,
    looser: bool,
}

fn compare<T: PartialOrd + ToString + Copy>(
    name: &'static str,
    declared: Option<T>,
    ceiling: Option<T>,
    looser: fn(T, T) -> bool,
) -> Comparison {
    Comparison {
        name,
        declared: declared.map(|d| d.to_string()),
        ceiling: ceiling.map(|c| c.to_string()),
        looser: matches!((declared, ceiling), (Some(d), Some(c)) if looser(d, c)),
    }
}

/// `budget-over-ceiling` for each contract budget (overall and per scenario) looser than a ceiling.
pub(crate) fn check(ceilings: &Budget, facts: &Facts, findings: &mut Vec<Finding>) {
    let Some(contract) = &facts.contract else { return };
    let above = |d: TimeSpan, c: TimeSpan| d > c;
    for (key, budget) in contract.budgets() {
        let comparisons = [
            compare("p50", budget.p50, ceilings.p50, above),
            compare("p95", budget.p95, ceilings.p95, above),
            compare("p99", budget.p99, ceilings.p99, above),
            compare("startup", budget.startup, ceilings.startup, above),
            compare("error-rate", budget.error_rate, ceilings.error_rate, |d: Percent, c| d > c),
            compare("max-rss", budget.max_rss, ceilings.max_rss, |d: ByteSize, c| d > c),
            compare("min-rps", budget.min_rps, ceilings.min_rps, |d: f64, c| d < c),
        ];
        for Comparison { name, declared, ceiling, looser } in comparisons {
            if let (Some(declared), Some(ceiling), true) = (declared, ceiling, looser) {
                findings.push(
                    Finding::new(
                        &codes::BUDGET_OVER_CEILING,
                        format!("{key}.{name} is {declared}, looser than the marketplace ceiling {ceiling}"),
                    )
                    .at(Location::file("Cargo.toml").with_key(format!("{}.{key}.{name}", CONTRACT_TABLE.join("."))))
                    .help("tighten the budget; the load test applies the ceiling either way"),
                );
            }
        }
    }
}

//! `[lineage]`: a release judged against its baseline (the last accepted release of the asset) and its name
//! against other publishers' listed assets — the checks over `facts.lineage`.

use assay_report::contract::CONTRACT_TABLE;
use assay_report::facts::Facts;
use assay_report::lineage::{Lineage, PerformanceChange, ReleaseDiff};
use assay_report::quantity::{ByteSize, Percent, TimeSpan};
use assay_report::{Finding, Location, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problems;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LineageDoc {
    performance_regression: Option<Spanned<String>>,
    latency_noise: Option<Spanned<String>>,
    memory_noise: Option<Spanned<String>>,
}

/// When a release's performance counts as a regression against its baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineagePolicy {
    /// A latency or peak memory that grows, or a throughput that falls, by more than this share.
    pub performance_regression: Percent,
    /// Latency changes smaller than this are noise, whatever their share.
    pub latency_noise: TimeSpan,
    /// Peak-memory changes smaller than this are noise, whatever their share.
    pub memory_noise: ByteSize,
}

impl Default for LineagePolicy {
    fn default() -> Self {
        Self {
            performance_regression: Percent(20.0),
            latency_noise: TimeSpan(std::time::Duration::from_millis(1)),
            memory_noise: ByteSize(4 * 1024 * 1024),
        }
    }
}

pub(crate) fn validate(doc: &LineageDoc, problems: &mut Problems<'_>) -> LineagePolicy {
    let defaults = LineagePolicy::default();
    LineagePolicy {
        performance_regression: problems
            .quantity(doc.performance_regression.as_ref(), "lineage.performance-regression")
            .unwrap_or(defaults.performance_regression),
        latency_noise: problems
            .quantity(doc.latency_noise.as_ref(), "lineage.latency-noise")
            .unwrap_or(defaults.latency_noise),
        memory_noise: problems
            .quantity(doc.memory_noise.as_ref(), "lineage.memory-noise")
            .unwrap_or(defaults.memory_noise),
    }
}

impl LineagePolicy {
    /// Its line of the rule set's canonical form.
    pub(crate) fn canonical(&self, out: &mut String) {
        out.push_str(&format!(
            "lineage.performance-regression={} latency-noise={} memory-noise={}\n",
            self.performance_regression, self.latency_noise, self.memory_noise
        ));
    }

    /// Whether `change` is worse than the policy tolerates.
    pub fn is_regression(&self, change: &PerformanceChange) -> bool {
        let Some(percent) = change.change_percent else { return false };
        let worse = if change.higher_is_worse() { percent } else { -percent };
        let noise = match change.metric.as_str() {
            "throughput" => 0.0,
            // Bytes fit an f64 exactly far beyond any sandbox's memory.
            #[allow(clippy::cast_precision_loss)]
            "peak-rss" => self.memory_noise.0 as f64,
            _ => self.latency_noise.0.as_secs_f64() * 1000.0,
        };
        worse > self.performance_regression.0 && (change.current - change.previous).abs() >= noise
    }
}

/// The lineage findings for `facts`; none when the scan had no lineage (no store, no baseline).
pub(crate) fn check(policy: &LineagePolicy, facts: &Facts, findings: &mut Vec<Finding>) {
    let Some(lineage) = &facts.lineage else { return };
    names(lineage, facts, findings);
    let (Some(previous), Some(diff)) = (&lineage.previous, &lineage.diff) else { return };
    if lineage.resubmission {
        return;
    }
    let baseline = match &previous.submission_id {
        Some(id) => format!("{} {} (submission {id}, {})", previous.name, previous.version, previous.verdict),
        None => format!("{} {} ({})", previous.name, previous.version, previous.verdict),
    };
    version(&facts.asset.version, &previous.version, &baseline, findings);
    escalation(diff, &baseline, findings);
    dependencies(diff, &baseline, findings);
    metadata(diff, &baseline, findings);
    for change in diff.performance.iter().filter(|change| policy.is_regression(change)) {
        let percent = change.change_percent.unwrap_or_default();
        findings.push(
            Finding::new(
                &codes::PERFORMANCE_REGRESSION,
                format!(
                    "{} of `{}` went from {} to {} ({percent:+.0}%) since {baseline}; the rule set tolerates {}",
                    change.metric,
                    change.scenario,
                    change.show(change.previous),
                    change.show(change.current),
                    policy.performance_regression,
                ),
            )
            .at(Location::file("load.json").with_key(format!("{}.{}", change.scenario, change.metric)))
            .help("find what slowed it down, or accept the change explicitly with a waiver"),
        );
    }
}

fn manifest(key: &str) -> Location {
    Location::file("Cargo.toml").with_key(key.to_owned())
}

fn names(lineage: &Lineage, facts: &Facts, findings: &mut Vec<Finding>) {
    let name = &facts.asset.name;
    if !lineage.name_owners.is_empty() {
        findings.push(
            Finding::new(
                &codes::NAME_OWNED_BY_ANOTHER_PUBLISHER,
                format!(
                    "`{name}` is listed by another publisher ({}); this release is published by {}",
                    lineage.name_owners.join(", "),
                    facts.asset.publisher.as_deref().unwrap_or("nobody (no contract)"),
                ),
            )
            .at(manifest("package.name"))
            .help("choose a name of your own; names compare as cargo compares them (case, `-` and `_`)"),
        );
    }
    for similar in &lineage.similar_names {
        let how = if similar.confusable { "looks like" } else { "is within a few letters of" };
        findings.push(
            Finding::new(
                &codes::NAME_SIMILAR_TO_LISTED,
                format!(
                    "`{name}` {how} `{}`, listed by {} ({} edit{})",
                    similar.name,
                    similar.publisher,
                    similar.distance,
                    if similar.distance == 1 { "" } else { "s" }
                ),
            )
            .at(manifest("package.name"))
            .help("a reviewer checks the name is not impersonating the listed asset"),
        );
    }
}

fn version(current: &str, previous: &str, baseline: &str, findings: &mut Vec<Finding>) {
    let increasing = match (semver::Version::parse(current), semver::Version::parse(previous)) {
        (Ok(current), Ok(previous)) => current > previous,
        _ => false,
    };
    if !increasing {
        findings.push(
            Finding::new(
                &codes::VERSION_NOT_INCREASING,
                format!("version {current} is not greater than {previous}, the baseline {baseline}"),
            )
            .at(manifest("package.version"))
            .help(format!("publish a version above {previous}")),
        );
    }
}

fn escalation(diff: &ReleaseDiff, baseline: &str, findings: &mut Vec<Finding>) {
    if diff.contract.gained.is_empty() {
        return;
    }
    let gained: Vec<String> = diff.contract.gained.iter().map(ToString::to_string).collect();
    findings.push(
        Finding::new(
            &codes::CAPABILITY_ESCALATION,
            format!("the release gains {} since {baseline}", gained.join(", ")),
        )
        .at(manifest(&format!("{}.capabilities", CONTRACT_TABLE.join("."))))
        .help("a reviewer confirms the new capabilities are needed before the update reaches users"),
    );
}

fn dependencies(diff: &ReleaseDiff, baseline: &str, findings: &mut Vec<Finding>) {
    for change in &diff.dependencies.downgraded {
        findings.push(
            Finding::new(
                &codes::DEPENDENCY_DOWNGRADE,
                format!("{} is locked at {}, down from {} in {baseline}", change.name, change.current, change.previous),
            )
            .at(Location::package(&change.name, &change.current))
            .help("a downgrade can bring back fixed bugs and vulnerabilities; say why in the release notes"),
        );
    }
    for code in &diff.dependencies.new_build_time_code {
        let what = if code.what == "proc-macro" { "a proc macro" } else { "a build script" };
        let how = if code.how == "added" { "a new dependency" } else { "an upgraded dependency" };
        findings.push(
            Finding::new(
                &codes::NEW_BUILD_TIME_CODE,
                format!("{} {} ({how}) runs {what} at build time, new since {baseline}", code.name, code.version),
            )
            .at(Location::package(&code.name, &code.version))
            .help("build-time code runs on every builder; a reviewer reads it before the update is listed"),
        );
    }
}

fn metadata(diff: &ReleaseDiff, baseline: &str, findings: &mut Vec<Finding>) {
    for change in &diff.metadata {
        let code = match change.field.as_str() {
            "license" => &codes::LICENCE_CHANGED,
            "repository" => &codes::REPOSITORY_CHANGED,
            _ => continue,
        };
        let value = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
        findings.push(
            Finding::new(
                code,
                format!(
                    "{} changed from `{}` to `{}` since {baseline}",
                    change.field,
                    value(&change.previous),
                    value(&change.current)
                ),
            )
            .at(manifest(&format!("package.{}", change.field)))
            .help("a reviewer confirms the change is the publisher's own"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(metric: &str, previous: f64, current: f64) -> PerformanceChange {
        PerformanceChange {
            scenario: "overall".into(),
            metric: metric.into(),
            previous,
            current,
            change_percent: Some((current - previous) / previous * 100.0),
        }
    }

    #[test]
    fn a_regression_is_beyond_the_share_and_beyond_the_noise() {
        let policy = LineagePolicy::default();
        assert!(policy.is_regression(&change("p95", 10.0, 12.5)));
        assert!(!policy.is_regression(&change("p95", 10.0, 11.9)));
        // +50%, but a quarter of a millisecond: noise.
        assert!(!policy.is_regression(&change("p50", 0.5, 0.75)));
        assert!(policy.is_regression(&change("throughput", 100.0, 70.0)));
        assert!(!policy.is_regression(&change("throughput", 100.0, 300.0)));
        assert!(!policy.is_regression(&change("peak-rss", 2e6, 3e6)));
        assert!(policy.is_regression(&change("peak-rss", 20e6, 30e6)));
    }
}

//! What `report.html` shows, worked out from the report and the facts: plain values the template prints
//! (and escapes), so the template holds no logic beyond loops.

use askama::Template;

use super::plot::{BudgetLine, percentile_plot};
use crate::contract::Capability;
use crate::facts::Facts;
use crate::quantity::TimeSpan;
use crate::{AcceptanceReport, Severity, SignatureStatus, StageStatus};

/// The page.
#[derive(Template)]
#[template(path = "report.html")]
pub struct Page {
    title: String,
    verdict_class: &'static str,
    verdict: &'static str,
    counts: Vec<(&'static str, usize)>,
    asset: Vec<(&'static str, String)>,
    repository_link: Option<String>,
    subject: Vec<(&'static str, String)>,
    groups: Vec<FindingGroup>,
    capabilities: Vec<CapabilityRow>,
    dependencies: Option<DependencySummary>,
    vulnerabilities: Vec<VulnerabilityRow>,
    load: Option<LoadView>,
    lineage: Option<LineageView>,
    stages: Vec<StageRow>,
    signed: Option<(String, String)>,
    verify_command: String,
    judged_by: Vec<(&'static str, String)>,
    history: Vec<super::console::HistoryRow>,
}

struct FindingGroup {
    level: &'static str,
    heading: &'static str,
    findings: Vec<FindingRow>,
}

struct FindingRow {
    code: String,
    location: String,
    message: String,
    help: String,
    waived: String,
}

struct CapabilityRow {
    capability: &'static str,
    declared: String,
    observed: Vec<String>,
    more: usize,
    undeclared: bool,
}

struct DependencySummary {
    count: usize,
    licences: Vec<(String, usize)>,
    unknown_licences: usize,
    build_time: usize,
}

struct VulnerabilityRow {
    id: String,
    url: Option<String>,
    kind: String,
    package: String,
    title: String,
    severity: String,
    patched: String,
}

struct LoadView {
    summary: String,
    scenarios: Vec<ScenarioView>,
    usage: String,
    memory_note: String,
    budgets: Vec<BudgetRow>,
    observed: Vec<ObservedView>,
}

/// One traced run's acts, beside whether the contract declares each.
struct ObservedView {
    heading: &'static str,
    phase: String,
    acts: Vec<ActRow>,
    omitted: u64,
    not_observable: String,
}

struct ActRow {
    kind: &'static str,
    target: String,
    result: String,
    times: u64,
    declared: bool,
}

struct ScenarioView {
    name: String,
    figures: Vec<(&'static str, String)>,
    plot: Option<String>,
}

struct BudgetRow {
    scope: String,
    metric: String,
    measured: String,
    limit: String,
    source: String,
    passed: bool,
}

struct LineageView {
    previous: String,
    sections: Vec<(&'static str, Vec<String>)>,
    resubmission: bool,
}

struct StageRow {
    name: String,
    status: &'static str,
    duration: String,
    note: String,
}

/// How many observed uses of one capability are listed before "and N more".
const OBSERVED_SHOWN: usize = 8;

impl Page {
    /// The page of `report` (and its facts, when the asset was readable).
    pub fn new(report: &AcceptanceReport, facts: Option<&Facts>) -> Self {
        let (name, version) = report.asset.as_ref().map_or_else(
            || (report.subject.name.clone(), String::new()),
            |asset| (asset.name.clone(), asset.version.clone()),
        );
        Self {
            title: format!("Assay report: {name} {version}").trim_end().to_owned(),
            verdict_class: report.verdict.as_str(),
            verdict: report.verdict.headline(),
            counts: [Severity::Deny, Severity::Review, Severity::Warn, Severity::Note]
                .into_iter()
                .map(|severity| (severity.as_str(), report.count(severity)))
                .collect(),
            asset: asset_rows(report, facts),
            repository_link: report.asset.as_ref().and_then(|a| a.repository.as_deref()).and_then(web_link),
            subject: vec![
                ("archive", report.subject.name.clone()),
                ("sha256", report.subject.sha256.clone()),
                ("size", format!("{} bytes", report.subject.size)),
            ],
            groups: finding_groups(report),
            capabilities: facts.map(capability_rows).unwrap_or_default(),
            dependencies: facts.map(dependency_summary),
            vulnerabilities: vulnerability_rows(report),
            load: report.load.as_ref().map(load_view),
            lineage: report.lineage.as_ref().and_then(lineage_view),
            stages: report
                .stages
                .iter()
                .map(|stage| StageRow {
                    name: stage.name.clone(),
                    status: match stage.status {
                        StageStatus::Ok => "ok",
                        StageStatus::Failed => "failed",
                        StageStatus::Skipped => "skipped",
                    },
                    duration: format!("{} ms", stage.duration_ms),
                    note: stage.note.clone().unwrap_or_default(),
                })
                .collect(),
            signed: match &report.signature {
                SignatureStatus::Signed { key_id, verifier_id } => Some((key_id.clone(), verifier_id.clone())),
                SignatureStatus::Unsigned => None,
            },
            verify_command: format!(
                "assay verify report.dsse.json --trust TRUSTED-KEYS --subject-sha256 {}",
                report.subject.sha256
            ),
            judged_by: judged_by(report),
            history: Vec::new(),
        }
    }

    /// The same page with the submission's verdict history (`assay serve`).
    pub fn with_history(mut self, history: Vec<super::console::HistoryRow>) -> Self {
        self.history = history;
        self
    }
}

fn asset_rows(report: &AcceptanceReport, facts: Option<&Facts>) -> Vec<(&'static str, String)> {
    let Some(asset) = &report.asset else { return Vec::new() };
    let facts = facts.map(|facts| &facts.asset);
    let mut rows = vec![("name", asset.name.clone()), ("version", asset.version.clone())];
    let optional = [
        ("kind", asset.kind.map(|kind| kind.as_str().to_owned())),
        ("publisher", asset.publisher.clone()),
        ("summary", asset.summary.clone()),
        ("description", facts.and_then(|facts| facts.description.clone())),
        (
            "data classes",
            facts.filter(|facts| !facts.data_classes.is_empty()).map(|facts| facts.data_classes.join(", ")),
        ),
        ("licence", asset.license.clone()),
        ("repository", asset.repository.clone()),
    ];
    rows.extend(optional.into_iter().filter_map(|(key, value)| Some((key, value?))));
    rows
}

/// A link target only for plain http(s) URLs: anything else (`javascript:`, `data:`) stays text.
fn web_link(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let plain = url.chars().all(|c| c.is_ascii_graphic());
    ((lower.starts_with("https://") || lower.starts_with("http://")) && plain).then(|| url.trim().to_owned())
}

fn finding_groups(report: &AcceptanceReport) -> Vec<FindingGroup> {
    let levels = [
        (Severity::Deny, "deny", "Deny — these reject the asset"),
        (Severity::Review, "review", "Review — a person decides"),
        (Severity::Warn, "warn", "Warn — reported, not blocking"),
        (Severity::Note, "note", "Note"),
    ];
    levels
        .into_iter()
        .map(|(severity, level, heading)| FindingGroup {
            level,
            heading,
            findings: report
                .findings
                .iter()
                .filter(|finding| finding.severity == severity)
                .map(|finding| FindingRow {
                    code: finding.code.clone(),
                    location: finding.location.as_ref().map(ToString::to_string).unwrap_or_default(),
                    message: finding.message.clone(),
                    help: finding.help.clone().unwrap_or_default(),
                    waived: finding.waived.as_ref().map_or_else(String::new, |waived| {
                        format!("waived by {} until {}: {}", waived.approver, waived.expires, waived.reason)
                    }),
                })
                .collect(),
        })
        .filter(|group| !group.findings.is_empty())
        .collect()
}

fn capability_rows(facts: &Facts) -> Vec<CapabilityRow> {
    let declared = facts.contract.as_ref().map(|contract| &contract.capabilities);
    Capability::ALL
        .into_iter()
        .filter_map(|capability| {
            let declared_text = match (capability, declared) {
                (_, None) => "no contract".to_owned(),
                (Capability::Network, Some(c)) if !c.network.is_empty() => c.network.join(", "),
                (Capability::Env, Some(c)) if !c.env.is_empty() => c.env.join(", "),
                (Capability::FilesystemRead | Capability::FilesystemWrite, Some(c)) => {
                    let granted = c.granted().iter().any(|(granted, _)| *granted == capability);
                    if granted { "yes".to_owned() } else { "no".to_owned() }
                }
                (Capability::Process, Some(c)) if c.process => "yes".to_owned(),
                (Capability::Unsafe | Capability::Ffi, Some(c)) if c.unsafe_code => "yes".to_owned(),
                (Capability::Listen, Some(_)) => "(listening is not egress)".to_owned(),
                (Capability::IncludeOutsideSrc, Some(_)) => "(never granted)".to_owned(),
                (_, Some(_)) => "no".to_owned(),
            };
            let uses: Vec<String> = facts
                .source
                .iter()
                .filter(|fact| fact.capability == capability)
                .map(|fact| format!("{}:{} {}", fact.file, fact.line, fact.detail))
                .collect();
            let is_declared = capability != Capability::Listen
                && !matches!(declared_text.as_str(), "no" | "no contract" | "(never granted)");
            if uses.is_empty() && !is_declared {
                return None;
            }
            Some(CapabilityRow {
                capability: capability.as_str(),
                undeclared: !uses.is_empty() && !is_declared && capability != Capability::Listen,
                declared: declared_text,
                more: uses.len().saturating_sub(OBSERVED_SHOWN),
                observed: uses.into_iter().take(OBSERVED_SHOWN).collect(),
            })
        })
        .collect()
}

fn dependency_summary(facts: &Facts) -> DependencySummary {
    let mut licences = std::collections::BTreeMap::<String, usize>::new();
    let mut unknown_licences = 0;
    for dependency in &facts.dependencies {
        match &dependency.license {
            Some(licence) => *licences.entry(licence.clone()).or_default() += 1,
            None => unknown_licences += 1,
        }
    }
    let mut licences: Vec<(String, usize)> = licences.into_iter().collect();
    licences.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    DependencySummary {
        count: facts.dependencies.len(),
        licences,
        unknown_licences,
        build_time: facts.dependencies.iter().filter(|d| d.build_script || d.proc_macro).count(),
    }
}

fn vulnerability_rows(report: &AcceptanceReport) -> Vec<VulnerabilityRow> {
    let Some(audit) = &report.audit else { return Vec::new() };
    audit
        .vulnerabilities
        .iter()
        .chain(&audit.warnings)
        .map(|advisory| {
            // Advisory ids come from the operator's database; a link is made only of one that looks like one.
            let linkable = !advisory.id.is_empty()
                && advisory.id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
            VulnerabilityRow {
                id: advisory.id.clone(),
                url: linkable.then(|| format!("https://rustsec.org/advisories/{}.html", advisory.id)),
                kind: advisory.kind.clone(),
                package: format!("{} {}", advisory.package, advisory.version),
                title: advisory.title.clone(),
                severity: advisory.cvss_severity.map_or_else(String::new, |severity| {
                    format!(
                        "{} {}",
                        advisory.cvss_score.map_or(String::new(), |s| format!("{s:.1}")),
                        severity.as_str()
                    )
                }),
                patched: advisory.patched.join(", "),
            }
        })
        .collect()
}

fn load_view(load: &crate::load::LoadReport) -> LoadView {
    let rate = load.rate_rps.map_or_else(|| "at full speed".to_owned(), |rps| format!("paced to {rps:.0} requests/s"));
    let startup = load.startup_ms.map_or_else(|| "never ready".to_owned(), |ms| format!("ready in {ms:.0} ms"));
    let summary = format!(
        "{} users {rate}, {:.1} s measured, {startup}; sandbox: {}. {}",
        load.users,
        load.measured_ms as f64 / 1000.0,
        load.sandbox,
        load.model
    );
    let budget_lines = |scope: &str| -> Vec<BudgetLine> {
        load.budgets
            .iter()
            .filter(|check| check.scope == scope && matches!(check.metric.as_str(), "p50" | "p95" | "p99"))
            .filter_map(|check| {
                let limit: TimeSpan = check.limit.parse().ok()?;
                Some(BudgetLine { metric: check.metric.clone(), ms: limit.0.as_secs_f64() * 1000.0 })
            })
            .collect()
    };
    let scenarios = std::iter::once(&load.overall)
        .chain(&load.scenarios)
        .map(|measurement| ScenarioView {
            name: measurement.name.clone(),
            figures: vec![
                ("requests", measurement.requests.to_string()),
                ("errors", format!("{} ({:.2}%)", measurement.errors, measurement.error_rate_percent)),
                ("throughput", format!("{:.1} requests/s", measurement.throughput_rps)),
                ("p50", format!("{:.2} ms", measurement.latency.p50_ms)),
                ("p95", format!("{:.2} ms", measurement.latency.p95_ms)),
                ("p99", format!("{:.2} ms", measurement.latency.p99_ms)),
                ("max", format!("{:.2} ms", measurement.latency.max_ms)),
                ("p99 corrected", format!("{:.2} ms", measurement.corrected.p99_ms)),
            ],
            plot: percentile_plot(measurement, &budget_lines(&measurement.name)),
        })
        .collect();
    let service = &load.service;
    let processes = service.memory.as_ref().map_or_else(String::new, |memory| {
        format!(" over {} processes at most at once ({} seen)", memory.peak_processes, memory.processes_seen)
    });
    let usage = format!(
        "peak memory {}{processes}, CPU {}, at most {} tasks{}",
        service.peak_rss_bytes.map_or_else(|| "unknown".to_owned(), |b| crate::quantity::ByteSize(b).human()),
        service.cpu_ms.map_or_else(|| "unknown".to_owned(), |ms| format!("{ms} ms")),
        service.peak_tasks,
        service.exited.as_ref().map_or_else(String::new, |how| format!("; it exited: {how}")),
    );
    LoadView {
        summary,
        scenarios,
        usage,
        memory_note: service.memory.as_ref().map(|memory| memory.note.clone()).unwrap_or_default(),
        budgets: load
            .budgets
            .iter()
            .map(|check| BudgetRow {
                scope: check.scope.clone(),
                metric: check.metric.clone(),
                measured: check.measured.clone(),
                limit: check.limit.clone(),
                source: check.source.clone(),
                passed: check.passed,
            })
            .collect(),
        observed: [("Observed at run time", &load.observed), ("Observed during the build", &load.build_observed)]
            .into_iter()
            .filter_map(|(heading, observed)| Some(observed_view(heading, observed.as_ref()?)))
            .collect(),
    }
}

fn observed_view(heading: &'static str, observed: &crate::observed::ObservedBehaviour) -> ObservedView {
    ObservedView {
        heading,
        phase: format!("{} ({})", observed.phase, observed.mechanism),
        acts: observed
            .acts
            .iter()
            .map(|act| ActRow {
                kind: act.kind.as_str(),
                target: std::iter::once(act.target.as_str())
                    .chain(act.args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                result: act.result.clone(),
                times: act.times,
                declared: act.declared,
            })
            .collect(),
        omitted: observed.omitted,
        not_observable: observed.not_observable.join("; "),
    }
}

fn lineage_view(lineage: &crate::lineage::Lineage) -> Option<LineageView> {
    let previous = lineage.previous.as_ref()?;
    let id = previous.submission_id.as_ref().map_or(String::new(), |id| format!(", submission {id}"));
    Some(LineageView {
        previous: format!("{} {} ({}{id})", previous.name, previous.version, previous.verdict),
        sections: lineage.diff.as_ref().map(crate::lineage::render::sections).unwrap_or_default(),
        resubmission: lineage.resubmission,
    })
}

fn judged_by(report: &AcceptanceReport) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("rule set", format!("{} (sha256 {})", report.rules.uri, report.rules.sha256)),
        ("tool", format!("{} {}", report.tool.name, report.tool.version)),
        ("started", report.started_at.clone()),
        ("finished", report.finished_at.clone()),
        ("report id", report.report_id.clone()),
    ];
    if let Some(db) = &report.advisory_db {
        rows.insert(1, ("advisory database", format!("{}, {} advisories", db.label(), db.advisory_count)));
    }
    if let Some(rejudged) = &report.rejudged {
        rows.push((
            "re-judged",
            format!(
                "revision {} of the scan of {}: {}",
                rejudged.revision,
                rejudged.scanned_at,
                rejudged.reasons.join("; ")
            ),
        ));
    }
    rows
}

//! `summary.md`: the acceptance report rendered for the publisher who has to act on it.

use std::fmt::Write;

use crate::untrusted::escape;
use crate::{AcceptanceReport, Severity, StageStatus};

/// Renders the report as Markdown: verdict first, then what blocks it, then the details.
pub fn render_summary(report: &AcceptanceReport) -> String {
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let title = match &report.asset {
        Some(asset) => format!("{} {}", escape(&asset.name), escape(&asset.version)),
        None => escape(&report.subject.name).into_owned(),
    };
    let _ = writeln!(out, "# Assay report: {title}\n");
    let verdict = format!("**{}**", report.verdict.headline());
    let _ = writeln!(
        out,
        "Verdict: {verdict} — {} deny, {} review, {} warn, {} note.\n",
        report.count(Severity::Deny),
        report.count(Severity::Review),
        report.count(Severity::Warn),
        report.count(Severity::Note),
    );
    let _ = writeln!(
        out,
        "- Subject: `{}` ({}), sha256 `{}`, {} bytes",
        escape(&report.subject.name),
        serde_json::to_value(report.subject.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        report.subject.sha256,
        report.subject.size
    );
    if let Some(asset) = &report.asset {
        let kind = asset.kind.map_or("unknown kind", |kind| kind.as_str());
        let publisher = escape(asset.publisher.as_deref().unwrap_or("unknown publisher"));
        let _ = writeln!(out, "- Asset: {} {} — {kind} by {publisher}", escape(&asset.name), escape(&asset.version));
    }
    if let Some(db) = &report.advisory_db {
        let at = db.commit.as_deref().or(db.content_sha256.as_deref()).unwrap_or("unknown");
        let date = db.date.as_deref().unwrap_or("unknown date");
        let _ = writeln!(out, "- Advisory DB: {} advisories, {} `{at}` ({date})", db.advisory_count, db.kind);
    }
    let _ = writeln!(out, "- Tool: {} {}\n", report.tool.name, report.tool.version);

    if report.findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    } else {
        let _ = writeln!(out, "## Findings\n");
        let _ = writeln!(out, "| severity | code | where | message |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        for finding in &report.findings {
            let location = finding.location.as_ref().map(ToString::to_string).unwrap_or_default();
            let mut message = finding.message.clone();
            if let Some(waived) = &finding.waived {
                let _ = write!(message, " — WAIVED by {} until {}: {}", waived.approver, waived.expires, waived.reason);
            }
            if let Some(help) = &finding.help {
                let _ = write!(message, " — {help}");
            }
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                finding.severity,
                finding.code,
                escape_cell(&location),
                escape_cell(&message)
            );
        }
        let _ = writeln!(out);
    }

    if let Some(lineage) = &report.lineage {
        render_lineage(&mut out, lineage);
    }

    if let Some(load) = &report.load {
        render_load(&mut out, load);
    }

    let _ = writeln!(out, "## Stages\n");
    let _ = writeln!(out, "| stage | status | time | note |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for stage in &report.stages {
        let status = match stage.status {
            StageStatus::Ok => "ok",
            StageStatus::Failed => "failed",
            StageStatus::Skipped => "skipped",
        };
        let note = stage.note.as_deref().unwrap_or("");
        let _ = writeln!(out, "| {} | {status} | {} ms | {} |", stage.name, stage.duration_ms, escape_cell(note));
    }
    out
}

/// The release the report was judged against and what changed since, by section.
fn render_lineage(out: &mut String, lineage: &crate::lineage::Lineage) {
    let Some(previous) = &lineage.previous else { return };
    let _ = writeln!(out, "## Lineage\n");
    let id = previous.submission_id.as_ref().map_or(String::new(), |id| format!(", submission `{}`", escape(id)));
    let _ = writeln!(
        out,
        "Judged against {} {} ({}{id}).\n",
        escape(&previous.name),
        escape(&previous.version),
        previous.verdict
    );
    let sections = lineage.diff.as_ref().map(crate::lineage::render::sections).unwrap_or_default();
    if sections.is_empty() {
        let _ = writeln!(out, "No changes.\n");
    }
    for (heading, lines) in sections {
        let _ = writeln!(out, "{heading}:\n\n```text");
        for line in lines {
            let _ = writeln!(out, "{}", line.replace("```", "` ` `"));
        }
        let _ = writeln!(out, "```\n");
    }
}

/// The load test as a small latency table: raw percentiles, the coordinated-omission-corrected p99 beside them.
fn render_load(out: &mut String, load: &crate::load::LoadReport) {
    let _ = writeln!(out, "## Load test\n");
    let startup = load.startup_ms.map_or_else(|| "never ready".to_owned(), |ms| format!("ready in {ms:.0} ms"));
    let _ = writeln!(
        out,
        "{} ({} s measured, sandbox: {}); {startup}.\n",
        escape(&load.model),
        load.measured_ms as f64 / 1000.0,
        load.sandbox
    );
    let _ = writeln!(out, "| scenario | requests | errors | rps | p50 | p95 | p99 | p99 corrected |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for measurement in load.scenarios.iter().chain(std::iter::once(&load.overall)) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.2}% | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            escape_cell(&measurement.name),
            measurement.requests,
            measurement.error_rate_percent,
            measurement.throughput_rps,
            measurement.latency.p50_ms,
            measurement.latency.p95_ms,
            measurement.latency.p99_ms,
            measurement.corrected.p99_ms,
        );
    }
    let rss = load
        .service
        .peak_rss_bytes
        .map_or_else(|| "unknown".to_owned(), |b| format!("{:.1} MiB", b as f64 / 1048576.0));
    let cpu = load.service.cpu_ms.map_or_else(|| "unknown".to_owned(), |ms| format!("{ms} ms"));
    let _ = writeln!(out, "\nService: peak RSS {rss}, CPU {cpu}, at most {} tasks.", load.service.peak_tasks);
    if let Some(memory) = &load.service.memory {
        let _ = writeln!(out, "Memory: {}.", memory.note);
    }
    if let Some(busy) = load.harness_busy_percent {
        let saturated = crate::load::HARNESS_SATURATED_BUSY_PERCENT;
        let _ = writeln!(
            out,
            "Harness: its users' thread {busy:.0}% busy (from {saturated:.0}% the harness limits the load)."
        );
    }
    let failed: Vec<_> = load.budgets.iter().filter(|check| !check.passed).collect();
    if failed.is_empty() {
        let _ = writeln!(out, "All {} budget checks passed.\n", load.budgets.len());
    } else {
        let _ = writeln!(out, "{} of {} budget checks failed (see findings).\n", failed.len(), load.budgets.len());
    }
    for (heading, observed) in
        [("Observed at run time", &load.observed), ("Observed during the build", &load.build_observed)]
    {
        if let Some(observed) = observed {
            render_observed(out, heading, observed);
        }
    }
}

/// What a traced run did, beside whether the contract declares it.
fn render_observed(out: &mut String, heading: &str, observed: &crate::observed::ObservedBehaviour) {
    let _ = writeln!(out, "### {heading}\n\n{} ({}).\n", escape(&observed.phase), escape(&observed.mechanism));
    if observed.acts.is_empty() {
        let _ = writeln!(out, "Nothing beyond the system files every program reads.\n");
        return;
    }
    let _ = writeln!(out, "| act | target | result | times | declared |");
    let _ = writeln!(out, "| --- | --- | --- | ---: | --- |");
    for act in &observed.acts {
        let target = std::iter::once(act.target.as_str()).chain(act.args.iter().map(String::as_str));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            act.kind,
            escape_cell(&target.collect::<Vec<_>>().join(" ")),
            escape_cell(&act.result),
            act.times,
            if act.declared { "yes" } else { "**no**" }
        );
    }
    if observed.omitted > 0 {
        let _ = writeln!(out, "\n{} more distinct acts not listed.", observed.omitted);
    }
    let _ = writeln!(out);
}

/// Keeps asset-controlled text from breaking the table (or injecting Markdown structure), and shows the
/// control characters left once line breaks are spaces (see [`escape`]).
fn escape_cell(text: &str) -> String {
    let flat = text.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ");
    escape(&flat).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(escape_cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn cells_show_escape_sequences_escaped() {
        assert_eq!(escape_cell("x\u{1b}[2Jy"), "x\\u{1b}[2Jy");
    }
}

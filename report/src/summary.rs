//! `summary.md`: the acceptance report rendered for the publisher who has to act on it.

use std::fmt::Write;

use crate::{AcceptanceReport, Severity, StageStatus};

/// Renders the report as Markdown: verdict first, then what blocks it, then the details.
pub fn render_summary(report: &AcceptanceReport) -> String {
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let title = match &report.asset {
        Some(asset) => format!("{} {}", asset.name, asset.version),
        None => report.subject.name.clone(),
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
        report.subject.name,
        serde_json::to_value(report.subject.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        report.subject.sha256,
        report.subject.size
    );
    if let Some(asset) = &report.asset {
        let kind = asset.kind.as_deref().unwrap_or("unknown kind");
        let publisher = asset.publisher.as_deref().unwrap_or("unknown publisher");
        let _ = writeln!(out, "- Asset: {} {} — {kind} by {publisher}", asset.name, asset.version);
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

/// Keeps asset-controlled text from breaking the table (or injecting Markdown structure).
fn escape_cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(escape_cell("a|b\nc"), "a\\|b c");
    }
}

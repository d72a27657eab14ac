//! Human-readable terminal output for `scan` and `audit`. Text a submission controls is shown escaped
//! ([`escape`]): a name or message must not be able to steer the terminal or hide the lines after it.

use std::fmt::Write;
use std::path::Path;

use assay_report::audit::{AuditResult, DatabaseIdentity};
use assay_report::untrusted::escape;
use assay_report::{AcceptanceReport, Finding, Severity};

/// The scan result as a publisher wants it: verdict, what blocks it, where the report is.
pub(super) fn scan_summary(report: &AcceptanceReport, out: &Path) -> String {
    let mut text = String::new();
    let what = match &report.asset {
        Some(asset) => format!("{} {}", escape(&asset.name), escape(&asset.version)),
        None => escape(&report.subject.name).into_owned(),
    };
    let verdict = report.verdict.headline();
    let _ = writeln!(text, "{verdict}: {what} (sha256 {})", short(&report.subject.sha256));
    findings(&mut text, &report.findings);
    let _ = writeln!(
        text,
        "{} deny, {} review, {} warn, {} note — report in {}",
        report.count(Severity::Deny),
        report.count(Severity::Review),
        report.count(Severity::Warn),
        report.count(Severity::Note),
        escape(&out.display().to_string())
    );
    text
}

/// The audit result: one line per advisory and unaudited package.
pub(super) fn audit_summary(result: &AuditResult, findings_list: &[Finding], db: &DatabaseIdentity) -> String {
    let mut text = String::new();
    let at = db.commit.as_deref().or(db.content_sha256.as_deref()).map(short).unwrap_or("unknown");
    let _ = writeln!(
        text,
        "Audited {} packages against {} advisories ({} {at}, {})",
        result.packages,
        db.advisory_count,
        db.kind,
        db.date.as_deref().unwrap_or("date unknown")
    );
    findings(&mut text, findings_list);
    let _ = writeln!(
        text,
        "{} vulnerabilities, {} warnings, {} unaudited packages",
        result.vulnerabilities.len(),
        result.warnings.len(),
        result.unaudited.len()
    );
    text
}

fn findings(text: &mut String, findings: &[Finding]) {
    for finding in findings {
        let location = finding.location.as_ref().map(|l| format!(" [{}]", escape(&l.to_string()))).unwrap_or_default();
        let (code, message) = (escape(&finding.code), escape(&finding.message));
        let _ = writeln!(text, "  {:<6} {code}{location}: {message}", finding.severity);
        if let Some(help) = &finding.help {
            let _ = writeln!(text, "         help: {}", escape(help));
        }
    }
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

//! Why a re-judged verdict changed, in words for the verdict event and the report (the advisories that
//! now apply or no longer do, the rule set whose digest changed), and which findings make the difference.

use std::collections::BTreeSet;

use assay_report::audit::{AuditResult, DatabaseIdentity};
use assay_report::{AcceptanceReport, Finding, RulesIdentity, Severity};
use serde::Serialize;

/// The reasons for a changed verdict, sorted; never empty.
pub(super) fn why(
    old: &AcceptanceReport,
    audit: Option<&AuditResult>,
    db: Option<&DatabaseIdentity>,
    rules: &RulesIdentity,
) -> Vec<String> {
    let matches = |audit: Option<&AuditResult>| -> BTreeSet<String> {
        audit
            .iter()
            .flat_map(|audit| audit.vulnerabilities.iter().chain(&audit.warnings))
            .map(|m| format!("{} ({} {})", m.id, m.package, m.version))
            .collect()
    };
    let (before, after) = (matches(old.audit.as_ref()), matches(audit));
    let mut reasons: Vec<String> = after.difference(&before).map(|m| format!("advisory {m} now applies")).collect();
    reasons.extend(before.difference(&after).map(|m| format!("advisory {m} no longer applies")));
    if old.rules.sha256 != rules.sha256 {
        reasons.push(format!(
            "rule set {} (sha256 {}) replaced {}",
            rules.uri,
            short(&rules.sha256),
            short(&old.rules.sha256)
        ));
    }
    let label = |db: Option<&DatabaseIdentity>| db.map(DatabaseIdentity::label);
    if reasons.is_empty() && label(db) != label(old.advisory_db.as_ref()) {
        let db = label(db).unwrap_or_else(|| "none".to_owned());
        reasons.push(format!("advisory database {db} (its age, or advisory details)"));
    }
    if reasons.is_empty() {
        // Same advisories, rules and database: the day moved (a waiver expired, the database aged).
        reasons.push("judged again on a later day: a waiver expired or the database aged".to_owned());
    }
    reasons.sort();
    reasons
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// One finding as the difference lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingLine {
    /// Its level.
    pub severity: Severity,
    /// Its code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// The unwaived findings one judgement has and the other has not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// In the new judgement only (or at another level).
    pub added: Vec<FindingLine>,
    /// In the old judgement only (or at another level).
    pub removed: Vec<FindingLine>,
}

impl Difference {
    /// What changed from `old` to `new`, sorted.
    pub fn between(old: &[Finding], new: &[Finding]) -> Self {
        let lines = |findings: &[Finding]| -> BTreeSet<FindingLine> {
            findings
                .iter()
                .filter(|finding| finding.waived.is_none())
                .map(|finding| FindingLine {
                    severity: finding.severity,
                    code: finding.code.clone(),
                    message: finding.message.clone(),
                })
                .collect()
        };
        let (old, new) = (lines(old), lines(new));
        Self { added: new.difference(&old).cloned().collect(), removed: old.difference(&new).cloned().collect() }
    }
}

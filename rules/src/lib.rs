//! Rule sets: the marketplace's policy over findings — the level each code is judged at, and the verdict.
//!
//! Today a rule set is the built-in one: every code at its catalogue severity. Rule-set files, Rego
//! rules and waivers (issue "Rule sets") extend [`RuleSet`] without changing how the pipeline calls it.

use std::collections::BTreeMap;

use assay_report::{Finding, Severity, Verdict, codes};

/// A policy: which severity each finding code is judged at.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Per-code severity overrides; codes not listed keep their catalogue default.
    levels: BTreeMap<String, Severity>,
}

impl RuleSet {
    /// The built-in marketplace policy: every code at its catalogue severity.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// The same rule set with `code` judged at `severity`.
    pub fn with_level(mut self, code: &str, severity: Severity) -> Self {
        self.levels.insert(code.to_owned(), severity);
        self
    }

    /// The severity this rule set gives a code, if it knows the code.
    pub fn level(&self, code: &str) -> Option<Severity> {
        self.levels.get(code).copied().or_else(|| codes::lookup(code).map(|c| c.default_severity))
    }

    /// Applies the rule set to the findings (sets each one's severity, sorts them) and returns the verdict.
    pub fn judge(&self, findings: &mut [Finding]) -> Verdict {
        for finding in findings.iter_mut() {
            if let Some(level) = self.level(&finding.code) {
                finding.severity = level;
            }
        }
        Finding::sort(findings);
        Verdict::from_findings(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rejects_vulnerabilities_and_accepts_stale_db_warnings() {
        let rules = RuleSet::builtin();
        let mut findings = vec![Finding::new(&codes::DB_STALE, "old")];
        assert_eq!(rules.judge(&mut findings), Verdict::Accepted);
        findings.push(Finding::new(&codes::VULNERABILITY, "bad"));
        assert_eq!(rules.judge(&mut findings), Verdict::Rejected);
        assert_eq!(findings[0].code, "vulnerability", "deny findings sort first");
    }

    #[test]
    fn an_override_changes_the_verdict() {
        let rules = RuleSet::builtin().with_level("db-stale", Severity::Review);
        let mut findings = vec![Finding::new(&codes::DB_STALE, "old")];
        assert_eq!(rules.judge(&mut findings), Verdict::NeedsReview);
        assert_eq!(findings[0].severity, Severity::Review);
    }
}

//! Rule sets: the marketplace's policy over findings — the level each code is judged at, and the verdict.
//!
//! Today a rule set is the built-in one: every code at its catalogue severity. Rule-set files, Rego
//! rules and waivers (issue "Rule sets") extend [`RuleSet`] without changing how the pipeline calls it.

use std::collections::BTreeMap;

use assay_report::{Finding, RulesIdentity, Severity, Verdict, codes};
use sha2::{Digest, Sha256};

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

    /// Where the rule set came from and its digest: sha256 over the canonical form, one `code=severity`
    /// line per catalogued or overridden code in byte order. Two rule sets that judge alike share it.
    pub fn identity(&self) -> RulesIdentity {
        let mut codes: Vec<&str> =
            codes::ALL.iter().map(|c| c.id).chain(self.levels.keys().map(String::as_str)).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut hasher = Sha256::new();
        for code in codes {
            let level = self.level(code).map_or("unknown", Severity::as_str);
            hasher.update(format!("{code}={level}\n").as_bytes());
        }
        let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        RulesIdentity { uri: "urn:assay:rules:builtin".to_owned(), sha256 }
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
    fn the_digest_changes_with_any_level() {
        let builtin = RuleSet::builtin().identity();
        assert_eq!(builtin.sha256.len(), 64);
        assert_eq!(builtin, RuleSet::builtin().identity());
        assert_ne!(builtin.sha256, RuleSet::builtin().with_level("db-stale", Severity::Deny).identity().sha256);
    }

    #[test]
    fn an_override_changes_the_verdict() {
        let rules = RuleSet::builtin().with_level("db-stale", Severity::Review);
        let mut findings = vec![Finding::new(&codes::DB_STALE, "old")];
        assert_eq!(rules.judge(&mut findings), Verdict::NeedsReview);
        assert_eq!(findings[0].severity, Severity::Review);
    }
}

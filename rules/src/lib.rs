//! Rule sets: the marketplace's policy — the level each finding code is judged at, the built-in policy
//! checks and the verdict.
//!
//! Security teams tune a rule-set file (`rules/policies/default.toml` is the bundled one) without touching
//! Rust. The crate is cut by check family, as cargo-deny is: each module owns its section of the file (a
//! spanned document type and `validate` into typed configuration) and its check over the facts —
//! [`levels`], [`licenses`], [`bans`], [`sources`], [`advisories`], [`capabilities`], [`ceilings`],
//! [`metadata`], [`build`], [`lineage`], [`waivers`] and custom Rego rules (`rego`). `file` reads a whole
//! file; `digest` names a rule set by its canonical form.

pub mod advisories;
pub mod bans;
pub mod build;
pub mod capabilities;
pub mod ceilings;
mod diagnostic;
mod digest;
mod file;
pub mod levels;
pub mod licenses;
pub mod lineage;
pub mod metadata;
mod rego;
pub mod sources;
pub mod waivers;

use std::path::Path;

use assay_report::contract::Budget;
use assay_report::facts::Facts;
use assay_report::{Finding, RulesIdentity, Severity, Verdict};

pub use diagnostic::Diagnostic;
pub use levels::Level;

/// The bundled marketplace rule set.
pub const DEFAULT_RULES: &str = include_str!("../policies/default.toml");

/// A policy over findings and facts.
#[derive(Clone, Debug)]
pub struct RuleSet {
    uri: String,
    levels: levels::Levels,
    licenses: Option<licenses::LicensePolicy>,
    bans: Vec<bans::Ban>,
    sources: sources::SourcePolicy,
    metadata: Vec<metadata::MetadataField>,
    build: build::BuildAllowList,
    rego: Option<rego::RegoRules>,
    waivers: Vec<waivers::Waiver>,
    forbidden: Vec<capabilities::Forbidden>,
    ceilings: Budget,
    advisories: advisories::AdvisoryPolicy,
    lineage: lineage::LineagePolicy,
}

/// The asset a verdict is for, as waivers match it.
#[derive(Clone, Debug)]
pub struct JudgedAsset {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// The archive's sha256.
    pub sha256: String,
    /// Today, for waiver expiry.
    pub today: jiff::civil::Date,
}

impl RuleSet {
    /// The bundled marketplace rule set (`rules/policies/default.toml`).
    pub fn builtin() -> Self {
        // The bundled file is a constant checked by `the_bundled_rule_set_is_valid`.
        file::parse(DEFAULT_RULES, Path::new("rules/policies/default.toml"), "urn:assay:rules:builtin".to_owned())
            .expect("the bundled rule set is valid")
    }

    /// Parses a rule-set file; every mistake is a diagnostic.
    pub fn parse(text: &str, path: &Path) -> Result<Self, Vec<Diagnostic>> {
        let uri = format!("file:{}", path.display());
        file::parse(text, path, uri)
    }

    /// Reads and parses a rule-set file.
    pub fn load(path: &Path) -> Result<Self, Vec<Diagnostic>> {
        let text =
            std::fs::read_to_string(path).map_err(|err| vec![Diagnostic::file(path, format!("cannot read: {err}"))])?;
        Self::parse(&text, path)
    }

    /// The same rule set with `code` judged at `severity`.
    pub fn with_level(mut self, code: &str, severity: Severity) -> Self {
        self.levels.set(code, Level::At(severity));
        self
    }

    /// Upper bounds every contract budget must respect (the load stage applies the stricter of the two).
    pub fn ceilings(&self) -> &Budget {
        &self.ceilings
    }

    /// The level this rule set gives a code, if it knows the code.
    pub fn level(&self, code: &str) -> Option<Level> {
        self.levels.of(code)
    }

    /// Where the rule set came from and its digest (see `digest`).
    pub fn identity(&self) -> RulesIdentity {
        digest::identity(self)
    }

    /// The findings the built-in policy checks and the custom Rego rules call for, given the facts.
    pub fn evaluate(&self, facts: &Facts) -> Vec<Finding> {
        let mut findings = Vec::new();
        if let Some(policy) = &self.licenses {
            licenses::check(policy, facts, &mut findings);
        }
        bans::check(&self.bans, facts, &mut findings);
        sources::check(&self.sources, facts, &mut findings);
        capabilities::check(&self.forbidden, facts, &mut findings);
        ceilings::check(&self.ceilings, facts, &mut findings);
        metadata::check(&self.metadata, facts, &mut findings);
        lineage::check(&self.lineage, facts, &mut findings);
        if let Some(rego) = &self.rego {
            findings.extend(rego.evaluate(facts));
        }
        findings
    }

    /// Applies levels to the findings (drops `allow`ed ones and the build-script / proc-macro findings of
    /// allow-listed assets), the advisory threshold and the waivers, sorts them, and returns the verdict.
    pub fn judge(&self, findings: &mut Vec<Finding>, asset: Option<&JudgedAsset>) -> Verdict {
        let allow_listed = |code: &str| asset.is_some_and(|asset| self.build.covers(code, &asset.name));
        findings.retain(|finding| self.level(&finding.code) != Some(Level::Allow) && !allow_listed(&finding.code));
        for finding in findings.iter_mut() {
            if let Some(Level::At(severity)) = self.level(&finding.code) {
                finding.severity = severity;
            }
            self.advisories.apply(finding);
        }
        if let Some(asset) = asset {
            waivers::apply(&self.waivers, &self.levels, findings, asset);
        }
        Finding::sort(findings);
        Verdict::from_findings(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_report::audit::CvssSeverity;
    use assay_report::codes;
    use assay_report::facts::{AssetFacts, DependencyFact};

    #[test]
    fn builtin_rejects_vulnerabilities_and_accepts_stale_db_warnings() {
        let rules = RuleSet::builtin();
        let mut findings = vec![Finding::new(&codes::DB_STALE, "old")];
        assert_eq!(rules.judge(&mut findings, None), Verdict::Accepted);
        findings.push(Finding::new(&codes::VULNERABILITY, "bad"));
        assert_eq!(rules.judge(&mut findings, None), Verdict::Rejected);
        assert_eq!(findings[0].code, "vulnerability", "deny findings sort first");
    }

    #[test]
    fn an_override_changes_the_verdict_and_allow_drops_findings() {
        let rules = RuleSet::builtin().with_level("db-stale", Severity::Review);
        let mut findings = vec![Finding::new(&codes::DB_STALE, "old")];
        assert_eq!(rules.judge(&mut findings, None), Verdict::NeedsReview);
        let rules = RuleSet::parse("version = 1\n[levels]\nvulnerability = \"allow\"\n", Path::new("r.toml")).unwrap();
        let mut findings = vec![Finding::new(&codes::VULNERABILITY, "bad")];
        assert_eq!(rules.judge(&mut findings, None), Verdict::Accepted);
        assert!(findings.is_empty());
    }

    #[test]
    fn vulnerabilities_below_the_cvss_threshold_only_warn() {
        let rules =
            RuleSet::parse("version = 1\n[advisories]\nseverity-threshold = \"high\"\n", Path::new("r.toml")).unwrap();
        let vulnerability = |cvss: Option<&str>| {
            let finding = Finding::new(&codes::VULNERABILITY, "v");
            match cvss {
                Some(severity) => finding.about_advisory("RUSTSEC-0000-0000", CvssSeverity::parse(severity)),
                None => finding.about_advisory("RUSTSEC-0000-0000", None),
            }
        };
        let mut findings = vec![vulnerability(Some("medium"))];
        assert_eq!(rules.judge(&mut findings, None), Verdict::Accepted);
        assert_eq!(findings[0].severity, Severity::Warn);
        for cvss in [Some("high"), Some("critical"), None] {
            let mut findings = vec![vulnerability(cvss)];
            assert_eq!(rules.judge(&mut findings, None), Verdict::Rejected, "{cvss:?}");
        }
    }

    #[test]
    fn each_policy_check_fires_on_its_case_and_stays_silent_otherwise() {
        let rules = RuleSet::parse(
            "version = 1\n[licenses]\nallow = [\"MIT\"]\n[[bans.deny]]\ncrate = \"openssl\"\nversion = \"<0.10\"\nwrappers = [\"native-tls\"]\n[sources]\nallow-git = false\n[metadata]\nrequire = [\"repository\"]\n",
            Path::new("r.toml"),
        )
        .unwrap();
        let dependency =
            |name: &str, version: &str, license: &str, source_kind: &str, dependents: &[&str]| DependencyFact {
                name: name.into(),
                version: version.into(),
                source_kind: source_kind.into(),
                source: if source_kind == "git" { "git+https://example/x".into() } else { String::new() },
                license: Some(license.into()),
                kind: "normal".into(),
                dependents: dependents.iter().map(|d| (*d).to_owned()).collect(),
                ..DependencyFact::default()
            };
        let facts = Facts {
            asset: AssetFacts {
                name: "demo".into(),
                version: "1.0.0".into(),
                license: Some("MIT".into()),
                ..AssetFacts::default()
            },
            dependencies: vec![
                dependency("gpl-thing", "1.0.0", "GPL-3.0-only", "crates-io", &["demo"]),
                dependency("openssl", "0.9.0", "MIT", "crates-io", &["demo"]),
                dependency("openssl", "0.9.1", "MIT", "crates-io", &["native-tls"]),
                dependency("forked", "0.1.0", "MIT", "git", &["demo"]),
                dependency("fine", "1.0.0", "MIT OR Apache-2.0", "crates-io", &["demo"]),
            ],
            ..Facts::default()
        };
        let found: Vec<(String, String)> = rules
            .evaluate(&facts)
            .into_iter()
            .map(|f| (f.code, f.location.map(|l| l.to_string()).unwrap_or_default()))
            .collect();
        assert_eq!(
            found,
            [
                ("license-not-allowed".to_owned(), "gpl-thing 1.0.0".to_owned()),
                ("banned-crate".to_owned(), "openssl 0.9.0".to_owned()),
                ("source-not-allowed".to_owned(), "forked 0.1.0".to_owned()),
                ("metadata-missing".to_owned(), "Cargo.toml (package)".to_owned()),
            ]
        );
    }
}

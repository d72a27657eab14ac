//! Rule sets: the marketplace's policy — the level each finding code is judged at, the built-in policy
//! checks (licences, bans, sources, metadata, build-script and proc-macro allow lists) and the verdict.
//!
//! Security teams tune a rule-set file (`rules/policies/default.toml` is the bundled one) without touching
//! Rust. Custom Rego rules and waivers (issue "Rule sets") extend this crate.

mod checks;
pub mod diagnostic;
mod file;
mod rego;

use std::collections::BTreeMap;
use std::path::Path;

use assay_report::facts::Facts;
use assay_report::{Finding, RulesIdentity, Severity, Verdict, codes};
use sha2::{Digest, Sha256};

pub use diagnostic::Diagnostic;

/// The bundled marketplace rule set.
pub const DEFAULT_RULES: &str = include_str!("../policies/default.toml");

/// How much a code weighs: `allow` drops its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Drop the finding.
    Allow,
    /// Judge it at this severity.
    At(Severity),
}

impl Level {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "allow" => Self::Allow,
            "warn" => Self::At(Severity::Warn),
            "review" => Self::At(Severity::Review),
            "deny" => Self::At(Severity::Deny),
            "note" => Self::At(Severity::Note),
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::At(severity) => severity.as_str(),
        }
    }
}

/// Licences allowed for every crate, and extra ones per crate.
#[derive(Clone, Debug, Default)]
pub struct LicensePolicy {
    /// SPDX ids.
    pub allow: Vec<String>,
    /// Extra SPDX ids by crate name.
    pub exceptions: Vec<(String, Vec<String>)>,
}

impl LicensePolicy {
    /// Whether `expression` (parsed laxly, as crates write them) is satisfiable with the allowed ids.
    pub fn allows(&self, crate_name: &str, expression: &str) -> bool {
        let Ok(parsed) = spdx::Expression::parse_mode(expression, spdx::ParseMode::LAX) else { return false };
        let extra: Vec<&String> =
            self.exceptions.iter().filter(|(name, _)| name == crate_name).flat_map(|(_, ids)| ids).collect();
        parsed.evaluate(|requirement| match &requirement.license {
            spdx::LicenseItem::Spdx { id, .. } => {
                self.allow.iter().chain(extra.iter().copied()).any(|allowed| allowed == id.name)
            }
            spdx::LicenseItem::Other { .. } => false,
        })
    }
}

/// A banned crate.
#[derive(Clone, Debug)]
pub struct Ban {
    /// Crate name.
    pub name: String,
    /// Versions banned (all when `None`).
    pub version: Option<semver::VersionReq>,
    /// The only crates allowed to depend on it.
    pub wrappers: Vec<String>,
    /// Why.
    pub reason: Option<String>,
}

/// A policy over findings and facts.
#[derive(Clone, Debug)]
pub struct RuleSet {
    uri: String,
    levels: BTreeMap<String, Level>,
    licenses: Option<LicensePolicy>,
    bans: Vec<Ban>,
    allow_git: bool,
    allow_registries: Vec<String>,
    metadata_required: Vec<String>,
    allow_build_scripts: Vec<String>,
    allow_proc_macros: Vec<String>,
    rego: Option<rego::RegoRules>,
    waivers: Vec<Waiver>,
    forbidden: Vec<Forbidden>,
    ceilings: assay_load_runner::Budget,
    severity_threshold: Option<String>,
}

/// Capabilities an asset of a kind, or handling a data class, may not have.
#[derive(Clone, Debug)]
pub struct Forbidden {
    /// Applies to assets of this kind (`connector`, `component`), when set.
    pub kind: Option<String>,
    /// Applies to assets handling this data class, when set.
    pub data_class: Option<String>,
    /// Forbidden capabilities (`network`, `filesystem-read`, `filesystem-write`, `process`, `env`, `unsafe`).
    pub capabilities: Vec<String>,
}

/// An accepted risk: findings of `code` for `asset` are kept, marked waived, and left out of the verdict
/// until `expires`.
#[derive(Clone, Debug)]
pub struct Waiver {
    /// Finding code.
    pub code: String,
    /// Asset (package) name.
    pub asset: String,
    /// Asset versions covered (all when `None`).
    pub version: Option<semver::VersionReq>,
    /// Pinned to this archive, when set.
    pub sha256: Option<String>,
    /// Only findings about this dependency, when set.
    pub package: Option<String>,
    /// Why.
    pub reason: String,
    /// Who accepted it.
    pub approver: String,
    /// Last day it holds.
    pub expires: jiff::civil::Date,
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
        let text = std::fs::read_to_string(path).map_err(|err| {
            vec![Diagnostic {
                path: path.to_owned(),
                line: 0,
                key: None,
                message: format!("cannot read: {err}"),
                help: None,
            }]
        })?;
        Self::parse(&text, path)
    }

    /// The same rule set with `code` judged at `severity`.
    pub fn with_level(mut self, code: &str, severity: Severity) -> Self {
        self.levels.insert(code.to_owned(), Level::At(severity));
        self
    }

    /// Upper bounds every contract budget must respect (the load stage applies the stricter of the two).
    pub fn ceilings(&self) -> &assay_load_runner::Budget {
        &self.ceilings
    }

    /// The level this rule set gives a code, if it knows the code.
    pub fn level(&self, code: &str) -> Option<Level> {
        self.levels.get(code).copied().or_else(|| codes::lookup(code).map(|c| Level::At(c.default_severity)))
    }

    /// Where the rule set came from and its digest: sha256 over its canonical form (one line per code with
    /// its level, then every policy in a fixed order), so two rule sets that judge alike share it.
    pub fn identity(&self) -> RulesIdentity {
        let mut codes: Vec<&str> =
            codes::ALL.iter().map(|c| c.id).chain(self.levels.keys().map(String::as_str)).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut canonical = String::new();
        for code in codes {
            let level = self.level(code).map_or("unknown", Level::as_str);
            canonical.push_str(&format!("level {code}={level}\n"));
        }
        if let Some(licenses) = &self.licenses {
            let mut allow = licenses.allow.clone();
            allow.sort();
            canonical.push_str(&format!("licenses.allow={}\n", allow.join(",")));
            let mut exceptions = licenses.exceptions.clone();
            exceptions.sort();
            for (name, ids) in exceptions {
                canonical.push_str(&format!("licenses.exception {name}={}\n", ids.join(",")));
            }
        }
        for ban in &self.bans {
            let version = ban.version.as_ref().map(ToString::to_string).unwrap_or_else(|| "*".to_owned());
            canonical.push_str(&format!("ban {}@{version} wrappers={}\n", ban.name, ban.wrappers.join(",")));
        }
        canonical.push_str(&format!(
            "sources.allow-git={}\nsources.allow-registries={}\n",
            self.allow_git,
            self.allow_registries.join(",")
        ));
        canonical.push_str(&format!("metadata.require={}\n", self.metadata_required.join(",")));
        canonical.push_str(&format!(
            "build.scripts={}\nbuild.proc-macros={}\n",
            self.allow_build_scripts.join(","),
            self.allow_proc_macros.join(",")
        ));
        for rule in &self.forbidden {
            canonical.push_str(&format!(
                "forbid kind={} data-class={} {}\n",
                rule.kind.as_deref().unwrap_or("*"),
                rule.data_class.as_deref().unwrap_or("*"),
                rule.capabilities.join(",")
            ));
        }
        canonical.push_str(&format!("ceilings={}\n", serde_json::to_string(&self.ceilings).unwrap_or_default()));
        for waiver in &self.waivers {
            let version = waiver.version.as_ref().map(ToString::to_string).unwrap_or_else(|| "*".to_owned());
            canonical.push_str(&format!(
                "waiver {}:{}@{version} sha256={} package={} approver={} expires={}\n",
                waiver.code,
                waiver.asset,
                waiver.sha256.as_deref().unwrap_or("*"),
                waiver.package.as_deref().unwrap_or("*"),
                waiver.approver,
                waiver.expires
            ));
        }
        if let Some(rego) = &self.rego {
            for (file, sha256) in rego.digests() {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                canonical.push_str(&format!("rego {name}={sha256}\n"));
            }
        }
        canonical.push_str(&format!(
            "advisories.severity-threshold={}\n",
            self.severity_threshold.as_deref().unwrap_or("none")
        ));
        let sha256 = Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        RulesIdentity { uri: self.uri.clone(), sha256 }
    }

    /// The findings the built-in policy checks and the custom Rego rules call for, given the facts.
    pub fn evaluate(&self, facts: &Facts) -> Vec<Finding> {
        let mut findings = checks::evaluate(self, facts);
        if let Some(rego) = &self.rego {
            findings.extend(rego.evaluate(facts));
        }
        findings
    }

    /// Applies levels to the findings (drops `allow`ed ones and the build-script / proc-macro findings of
    /// allow-listed assets), sorts them, and returns the verdict.
    pub fn judge(&self, findings: &mut Vec<Finding>, asset: Option<&JudgedAsset>) -> Verdict {
        let asset_name = asset.map(|a| a.name.as_str());
        let allow_listed = |code: &str| match (code, asset_name) {
            ("build-script", Some(name)) => self.allow_build_scripts.iter().any(|a| a == name),
            ("proc-macro", Some(name)) => self.allow_proc_macros.iter().any(|a| a == name),
            _ => false,
        };
        findings.retain(|finding| self.level(&finding.code) != Some(Level::Allow) && !allow_listed(&finding.code));
        let rank = |severity: &str| file::CVSS_SEVERITIES.iter().position(|s| *s == severity);
        let threshold = self.severity_threshold.as_deref().and_then(rank);
        for finding in findings.iter_mut() {
            if let Some(Level::At(severity)) = self.level(&finding.code) {
                finding.severity = severity;
            }
            // Below the CVSS threshold a vulnerability is reported, not blocking; one without a CVSS
            // vector always counts in full, as in cargo-audit.
            let cvss = finding.advisory.as_ref().and_then(|a| a.cvss_severity.as_deref()).and_then(rank);
            let below = finding.code == codes::VULNERABILITY.id && cvss.is_some() && cvss < threshold;
            if below && finding.severity > Severity::Warn {
                finding.severity = Severity::Warn;
            }
        }
        if let Some(asset) = asset {
            self.apply_waivers(findings, asset);
        }
        Finding::sort(findings);
        Verdict::from_findings(findings)
    }

    /// Marks the findings this asset's active waivers cover; reports expired and unused waivers.
    fn apply_waivers(&self, findings: &mut Vec<Finding>, asset: &JudgedAsset) {
        let mut extra = Vec::new();
        for waiver in &self.waivers {
            let applies = waiver.asset == asset.name
                && waiver
                    .version
                    .as_ref()
                    .is_none_or(|req| semver::Version::parse(&asset.version).is_ok_and(|v| req.matches(&v)))
                && waiver.sha256.as_ref().is_none_or(|sha| *sha == asset.sha256);
            if !applies {
                continue;
            }
            let covers = |finding: &Finding| {
                finding.code == waiver.code
                    && waiver.package.as_ref().is_none_or(|package| {
                        matches!(&finding.location, Some(assay_report::Location::Package { name, .. }) if name == package)
                    })
            };
            if asset.today > waiver.expires {
                extra.push(
                    Finding::new(
                        &codes::WAIVER_EXPIRED,
                        format!(
                            "the waiver of `{}` approved by {} expired on {}; the findings it covered count again",
                            waiver.code, waiver.approver, waiver.expires
                        ),
                    )
                    .help("renew it with a new expiry date, or fix the finding"),
                );
                continue;
            }
            let mut used = false;
            for finding in findings.iter_mut().filter(|f| covers(f) && f.waived.is_none()) {
                finding.waived = Some(assay_report::Waived {
                    reason: waiver.reason.clone(),
                    approver: waiver.approver.clone(),
                    expires: waiver.expires.to_string(),
                });
                used = true;
            }
            if !used {
                extra.push(
                    Finding::new(
                        &codes::WAIVER_UNUSED,
                        format!(
                            "the waiver of `{}` approved by {} matches no finding of this asset",
                            waiver.code, waiver.approver
                        ),
                    )
                    .help("remove it, or correct its code, package or version"),
                );
            }
        }
        for mut finding in extra {
            if let Some(Level::At(severity)) = self.level(&finding.code) {
                finding.severity = severity;
            }
            findings.push(finding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn the_digest_changes_with_any_level() {
        let builtin = RuleSet::builtin().identity();
        assert_eq!(builtin.sha256.len(), 64);
        assert_eq!(builtin, RuleSet::builtin().identity());
        assert_ne!(builtin.sha256, RuleSet::builtin().with_level("db-stale", Severity::Deny).identity().sha256);
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
                Some(severity) => finding.about_advisory("RUSTSEC-0000-0000", Some(severity)),
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
    fn licences_are_judged_as_expressions() {
        let policy =
            LicensePolicy { allow: vec!["MIT".into()], exceptions: vec![("ring".into(), vec!["OpenSSL".into()])] };
        assert!(policy.allows("x", "MIT OR Apache-2.0"));
        assert!(policy.allows("x", "MIT/Apache-2.0"), "lax parsing, as crates write them");
        assert!(!policy.allows("x", "MIT AND GPL-3.0-only"));
        assert!(policy.allows("ring", "MIT AND OpenSSL"));
        assert!(!policy.allows("other", "MIT AND OpenSSL"));
        assert!(!policy.allows("x", "not a licence at all"));
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

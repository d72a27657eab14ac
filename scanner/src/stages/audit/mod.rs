//! The dependency audit: every locked package against the RustSec advisory database.

mod cache;
mod database;
mod sources;

use assay_report::audit::{AdvisoryMatch, AuditResult, CvssSeverity, UnauditedPackage};
use assay_report::facts::DependencyFact;
use assay_report::{Finding, Location, codes};
use rustsec::advisory::{Advisory, Category, Informational};
use rustsec::database::Query;
use rustsec::package::{Name, Package};
use rustsec::{Lockfile, SourceId, Version};

pub use database::{AdvisoryDatabase, DatabaseError, OFFICIAL_URL, default_location, fetch};
pub use sources::Origin;

/// The advisory kind of a crate removed for malicious code.
pub const MALICIOUS: &str = "malicious";

/// The malicious packages an audit found (`name version (advisory id)`), sorted; such an asset is never built.
pub fn malicious(result: &AuditResult) -> Vec<String> {
    result
        .vulnerabilities
        .iter()
        .filter(|matched| matched.kind == MALICIOUS)
        .map(|matched| format!("{} {} ({})", matched.package, matched.version, matched.id))
        .collect()
}

/// A locked package as the audit sees it: what it is and where it comes from.
#[derive(Clone, Debug)]
pub struct Locked {
    /// Package name.
    pub name: Name,
    /// Locked version.
    pub version: Version,
    /// Where it comes from.
    pub origin: Origin,
}

impl Locked {
    /// A package of a parsed lockfile.
    pub fn of(package: &Package) -> Self {
        Self { name: package.name.clone(), version: package.version.clone(), origin: Origin::of(package) }
    }

    /// A dependency as a report's facts describe it (what a re-judgement re-audits without the archive);
    /// `None` when its name or version does not parse.
    pub fn from_fact(fact: &DependencyFact) -> Option<Self> {
        let origin = match fact.source_kind.as_str() {
            "crates-io" => Origin::CratesIo,
            "path" => Origin::Path,
            "git" => Origin::Git(fact.source.clone()),
            _ => Origin::OtherRegistry(fact.source.clone()),
        };
        Some(Self { name: fact.name.parse().ok()?, version: fact.version.parse().ok()?, origin })
    }
}

/// Audits a lockfile. The asset's own package (`root`, by name and version) is neither audited nor listed
/// as unaudited: it is the subject, not a dependency.
pub fn audit(db: &AdvisoryDatabase, lockfile: &Lockfile, root: Option<(&str, &str)>) -> AuditResult {
    audit_locked(db, lockfile.packages.iter().map(Locked::of), root)
}

/// Audits locked packages, as [`audit`] does a lockfile's.
pub fn audit_locked(
    db: &AdvisoryDatabase,
    packages: impl IntoIterator<Item = Locked>,
    root: Option<(&str, &str)>,
) -> AuditResult {
    let mut result = AuditResult::default();
    for package in packages {
        result.packages += 1;
        let is_root = root.is_some_and(|(name, version)| {
            package.name.as_str() == name && package.version.to_string() == version && package.origin == Origin::Path
        });
        if is_root {
            continue;
        }
        if let Some(kind) = package.origin.unaudited_kind() {
            result.unaudited.push(UnauditedPackage {
                name: package.name.to_string(),
                version: package.version.to_string(),
                source_kind: kind.to_owned(),
                source: package.origin.source_text().to_owned(),
            });
            continue;
        }
        // Normalised to the git-index source id so sparse-index packages match (see `Origin::of`).
        let query = Query::crate_scope()
            .package_name(package.name.clone())
            .package_version(package.version.clone())
            .package_source(SourceId::default());
        let informational = query.clone().informational(true);
        let advisories = db.advisories_of(package.name.as_str());
        for advisory in advisories.iter().filter(|advisory| query.matches(advisory)) {
            // RustSec files a `malicious` advisory for every crate version removed from crates.io for malware.
            let kind =
                if advisory.metadata.categories.contains(&Category::Malicious) { MALICIOUS } else { "vulnerability" };
            result.vulnerabilities.push(advisory_match(advisory, &package, kind));
        }
        for advisory in advisories.iter().filter(|advisory| informational.matches(advisory)) {
            // The kinds cargo-audit warns about by default; `Other` informational kinds are not actionable.
            let kind = match advisory.metadata.informational {
                Some(Informational::Unmaintained) => "unmaintained",
                Some(Informational::Unsound) => "unsound",
                Some(Informational::Notice) => "notice",
                _ => continue,
            };
            result.warnings.push(advisory_match(advisory, &package, kind));
        }
    }
    let order = |a: &AdvisoryMatch, b: &AdvisoryMatch| {
        (a.package.as_str(), &a.version, a.id.as_str()).cmp(&(b.package.as_str(), &b.version, b.id.as_str()))
    };
    result.vulnerabilities.sort_by(order);
    result.warnings.sort_by(order);
    result.unaudited.sort();
    result
}

fn advisory_match(advisory: &Advisory, package: &Locked, kind: &str) -> AdvisoryMatch {
    let meta = &advisory.metadata;
    AdvisoryMatch {
        id: meta.id.to_string(),
        kind: kind.to_owned(),
        package: package.name.to_string(),
        version: package.version.to_string(),
        title: meta.title.clone(),
        description: meta.description.trim().to_owned(),
        date: meta.date.as_str().to_owned(),
        categories: meta.categories.iter().map(|c| c.name().to_owned()).collect(),
        cvss: meta.cvss.as_ref().map(ToString::to_string),
        cvss_score: meta.cvss.as_ref().map(|c| c.score()),
        cvss_severity: meta.cvss.as_ref().and_then(|c| CvssSeverity::parse(c.severity().as_str())),
        patched: advisory.versions.patched().iter().map(ToString::to_string).collect(),
        aliases: meta.aliases.iter().map(ToString::to_string).collect(),
        url: meta.id.url().or_else(|| meta.url.as_ref().map(ToString::to_string)),
    }
}

/// The findings an audit result calls for: one per advisory match and per unaudited package.
pub fn findings(result: &AuditResult) -> Vec<Finding> {
    let mut findings = Vec::new();
    for matched in result.vulnerabilities.iter().chain(&result.warnings) {
        if matched.kind == MALICIOUS {
            findings.push(
                Finding::new(
                    &codes::MALICIOUS_DEPENDENCY,
                    format!(
                        "{} {} was removed from crates.io for malicious code ({}: {}); the asset was not built",
                        matched.package, matched.version, matched.id, matched.title
                    ),
                )
                .at(Location::package(&matched.package, &matched.version))
                .help("remove the dependency and regenerate Cargo.lock; treat any machine that built it as compromised")
                .about_advisory(&matched.id, None),
            );
            continue;
        }
        let code = match matched.kind.as_str() {
            "vulnerability" => &codes::VULNERABILITY,
            "unmaintained" => &codes::UNMAINTAINED,
            "unsound" => &codes::UNSOUND,
            _ => &codes::NOTICE,
        };
        let severity = matched
            .cvss_severity
            .map(|s| format!(" (CVSS {} {s})", matched.cvss_score.map(|v| format!("{v:.1}")).unwrap_or_default()))
            .unwrap_or_default();
        let help = if matched.patched.is_empty() {
            "no fixed release exists: remove or replace the dependency".to_owned()
        } else {
            format!("upgrade to a version matching {}", matched.patched.join(" or "))
        };
        findings.push(
            Finding::new(code, format!("{}: {}{severity}", matched.id, matched.title))
                .at(Location::package(&matched.package, &matched.version))
                .help(help)
                .about_advisory(&matched.id, matched.cvss_severity),
        );
    }
    for package in &result.unaudited {
        let source = if package.source.is_empty() { String::new() } else { format!(" ({})", package.source) };
        findings.push(
            Finding::new(
                &codes::UNAUDITED_SOURCE,
                format!(
                    "{} {} comes from a {} source{source} that RustSec does not cover",
                    package.name, package.version, package.source_kind
                ),
            )
            .at(Location::package(&package.name, &package.version)),
        );
    }
    findings
}

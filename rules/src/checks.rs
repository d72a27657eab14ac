//! Built-in policy checks over the facts: licences, bans, sources and required metadata.

use assay_report::facts::{DependencyFact, Facts};
use assay_report::{Finding, Location, codes};

use crate::RuleSet;

/// Findings the rule set's policies call for.
pub fn evaluate(rules: &RuleSet, facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(policy) = &rules.licenses {
        if let Some(license) = &facts.asset.license
            && !policy.allows(&facts.asset.name, license)
        {
            findings.push(
                Finding::new(&codes::LICENSE_NOT_ALLOWED, format!("the asset's licence `{license}` is not allowed"))
                    .at(Location::file("Cargo.toml").with_key("package.license"))
                    .help("license the asset under an allowed licence (see the rule set's [licenses] allow)"),
            );
        }
        for dependency in &facts.dependencies {
            if let Some(license) = &dependency.license
                && !policy.allows(&dependency.name, license)
            {
                findings.push(
                    Finding::new(
                        &codes::LICENSE_NOT_ALLOWED,
                        format!("{} is licensed `{license}`, which is not allowed", dependency.name),
                    )
                    .at(package(dependency))
                    .help("replace the dependency, or ask for an exception in the rule set"),
                );
            }
        }
    }
    for dependency in &facts.dependencies {
        for ban in &rules.bans {
            let version_matches = ban
                .version
                .as_ref()
                .is_none_or(|req| semver::Version::parse(&dependency.version).is_ok_and(|v| req.matches(&v)));
            let wrapped = !ban.wrappers.is_empty() && dependency.dependents.iter().all(|d| ban.wrappers.contains(d));
            if dependency.name == ban.name && version_matches && !wrapped {
                let reason = ban.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                findings.push(
                    Finding::new(
                        &codes::BANNED_CRATE,
                        format!("{} {} is banned{reason}", dependency.name, dependency.version),
                    )
                    .at(package(dependency)),
                );
            }
        }
        let refused = match dependency.source_kind.as_str() {
            "git" if !rules.allow_git => Some("git dependencies are not allowed"),
            "registry" if !rules.allow_registries.iter().any(|r| dependency.source.contains(r.as_str())) => {
                Some("this registry is not allowed")
            }
            _ => None,
        };
        if let Some(why) = refused {
            findings.push(
                Finding::new(
                    &codes::SOURCE_NOT_ALLOWED,
                    format!("{} {} comes from {}: {why}", dependency.name, dependency.version, dependency.source),
                )
                .at(package(dependency))
                .help("depend on the crates.io release instead"),
            );
        }
    }
    let asset = &facts.asset;
    let missing: Vec<&str> = rules
        .metadata_required
        .iter()
        .map(String::as_str)
        .filter(|field| match *field {
            "license" => asset.license.is_none(),
            "description" => asset.description.is_none(),
            "repository" => asset.repository.is_none(),
            _ => false,
        })
        .collect();
    if !missing.is_empty() {
        findings.push(
            Finding::new(&codes::METADATA_MISSING, format!("Cargo.toml lacks {}", missing.join(", ")))
                .at(Location::file("Cargo.toml").with_key("package"))
                .help("fill in [package] license, description and repository"),
        );
    }
    findings
}

fn package(dependency: &DependencyFact) -> Location {
    Location::package(&dependency.name, &dependency.version)
}

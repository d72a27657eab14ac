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
    findings.extend(forbidden_capabilities(rules, facts));
    findings.extend(ceilings(rules, facts));
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

/// Capabilities the contract declares or the code uses, by the names `[capabilities] forbid` takes.
fn capabilities_of(facts: &Facts) -> Vec<(String, Location)> {
    let mut found = Vec::new();
    let declared = facts.contract.as_ref().map(|c| &c["capabilities"]);
    let at =
        |key: &str| Location::file("Cargo.toml").with_key(format!("package.metadata.marketplace.capabilities.{key}"));
    if let Some(declared) = declared {
        if declared["network"].as_array().is_some_and(|n| !n.is_empty()) {
            found.push(("network".to_owned(), at("network")));
        }
        match declared["filesystem"].as_str() {
            Some("read") => found.push(("filesystem-read".to_owned(), at("filesystem"))),
            Some("write") => found.push(("filesystem-write".to_owned(), at("filesystem"))),
            _ => {}
        }
        if declared["env"].as_array().is_some_and(|e| !e.is_empty()) {
            found.push(("env".to_owned(), at("env")));
        }
        if declared["process"].as_bool() == Some(true) {
            found.push(("process".to_owned(), at("process")));
        }
        if declared["unsafe"].as_bool() == Some(true) {
            found.push(("unsafe".to_owned(), at("unsafe")));
        }
    }
    for used in &facts.source {
        let name = match used.capability.as_str() {
            "ffi" => "unsafe",
            "listen" | "include-outside-src" => continue,
            other => other,
        };
        found.push((name.to_owned(), Location::file_line(&used.file, used.line)));
    }
    found
}

fn forbidden_capabilities(rules: &RuleSet, facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let asset = &facts.asset;
    for rule in &rules.forbidden {
        let kind_matches = rule.kind.as_ref().is_none_or(|kind| asset.kind.as_ref() == Some(kind));
        let class_matches = rule.data_class.as_ref().is_none_or(|class| asset.data_classes.contains(class));
        if !(kind_matches && class_matches) {
            continue;
        }
        let whom = match (&rule.kind, &rule.data_class) {
            (Some(kind), Some(class)) => format!("{kind}s handling {class}"),
            (Some(kind), None) => format!("{kind}s"),
            (None, Some(class)) => format!("assets handling {class}"),
            (None, None) => "assets".to_owned(),
        };
        let mut seen = std::collections::BTreeSet::new();
        for (capability, location) in capabilities_of(facts) {
            if rule.capabilities.contains(&capability) && seen.insert((capability.clone(), location.clone())) {
                findings.push(
                    Finding::new(
                        &codes::CAPABILITY_FORBIDDEN,
                        format!("{whom} may not have the `{capability}` capability"),
                    )
                    .at(location),
                );
            }
        }
    }
    findings
}

/// Contract budgets (overall and per scenario) looser than the rule set's ceilings.
fn ceilings(rules: &RuleSet, facts: &Facts) -> Vec<Finding> {
    let ceiling = rules.ceilings();
    let Some(load) = facts.contract.as_ref().map(|c| &c["load"]).filter(|l| l.is_object()) else { return Vec::new() };
    let mut budgets: Vec<(String, &serde_json::Value)> = vec![("load.budget".to_owned(), &load["budget"])];
    for (index, scenario) in load["scenario"].as_array().into_iter().flatten().enumerate() {
        budgets.push((format!("load.scenario[{index}].budget"), &scenario["budget"]));
    }
    let mut findings = Vec::new();
    for (key, value) in budgets {
        let Ok(budget) = serde_json::from_value::<assay_load_runner::Budget>(value.clone()) else { continue };
        let mut over = |name: &str, declared: Option<String>, limit: Option<String>, looser: bool| {
            if let (Some(declared), Some(limit), true) = (declared, limit, looser) {
                findings.push(
                    Finding::new(
                        &codes::BUDGET_OVER_CEILING,
                        format!("{key}.{name} is {declared}, looser than the marketplace ceiling {limit}"),
                    )
                    .at(Location::file("Cargo.toml").with_key(format!("package.metadata.marketplace.{key}.{name}")))
                    .help("tighten the budget; the load test applies the ceiling either way"),
                );
            }
        };
        let text = |v: Option<String>| v;
        for (name, declared, limit) in [
            ("p50", budget.p50, ceiling.p50),
            ("p95", budget.p95, ceiling.p95),
            ("p99", budget.p99, ceiling.p99),
            ("startup", budget.startup, ceiling.startup),
        ] {
            over(
                name,
                text(declared.map(|d| d.to_string())),
                limit.map(|l| l.to_string()),
                matches!((declared, limit), (Some(d), Some(l)) if d > l),
            );
        }
        over(
            "error-rate",
            budget.error_rate.map(|d| d.to_string()),
            ceiling.error_rate.map(|l| l.to_string()),
            matches!((budget.error_rate, ceiling.error_rate), (Some(d), Some(l)) if d > l),
        );
        over(
            "max-rss",
            budget.max_rss.map(|d| d.to_string()),
            ceiling.max_rss.map(|l| l.to_string()),
            matches!((budget.max_rss, ceiling.max_rss), (Some(d), Some(l)) if d > l),
        );
        over(
            "min-rps",
            budget.min_rps.map(|d| d.to_string()),
            ceiling.min_rps.map(|l| l.to_string()),
            matches!((budget.min_rps, ceiling.min_rps), (Some(d), Some(l)) if d < l),
        );
    }
    findings
}

fn package(dependency: &DependencyFact) -> Location {
    Location::package(&dependency.name, &dependency.version)
}

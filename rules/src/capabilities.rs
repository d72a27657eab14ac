//! `[capabilities]`: capabilities an asset of a kind, or handling a data class, may not have — declared in
//! its contract or used in its code.

use std::collections::BTreeSet;

use assay_report::contract::{AssetKind, CONTRACT_TABLE, Capability};
use assay_report::facts::Facts;
use assay_report::{Finding, Location, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problems;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapabilitiesDoc {
    #[serde(default)]
    forbid: Vec<ForbidDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ForbidDoc {
    kind: Option<Spanned<String>>,
    data_class: Option<String>,
    capabilities: Vec<Spanned<String>>,
}

/// Capabilities an asset of a kind, or handling a data class, may not have.
#[derive(Clone, Debug)]
pub struct Forbidden {
    /// Applies to assets of this kind, when set.
    pub kind: Option<AssetKind>,
    /// Applies to assets handling this data class, when set.
    pub data_class: Option<String>,
    /// Forbidden capabilities (of [`Capability::GRANTS`]).
    pub capabilities: Vec<Capability>,
}

pub(crate) fn validate(doc: &CapabilitiesDoc, problems: &mut Problems<'_>) -> Vec<Forbidden> {
    let mut forbidden = Vec::new();
    for rule in &doc.forbid {
        let kind = rule.kind.as_ref().and_then(|kind| {
            problems.one_of(
                kind,
                "capabilities.forbid.kind",
                AssetKind::parse,
                "an asset kind",
                "use connector or component",
            )
        });
        let grant = |name: &str| Capability::parse(name).filter(|c| Capability::GRANTS.contains(c));
        let help = format!("use {}", Capability::grant_names());
        let capabilities = rule
            .capabilities
            .iter()
            .filter_map(|name| problems.one_of(name, "capabilities.forbid.capabilities", grant, "a capability", &help))
            .collect();
        forbidden.push(Forbidden { kind, data_class: rule.data_class.clone(), capabilities });
    }
    forbidden
}

/// Its lines of the rule set's canonical form.
pub(crate) fn canonical(forbidden: &[Forbidden], out: &mut String) {
    for rule in forbidden {
        let capabilities: Vec<&str> = rule.capabilities.iter().map(|c| c.as_str()).collect();
        out.push_str(&format!(
            "forbid kind={} data-class={} {}\n",
            rule.kind.map_or("*", AssetKind::as_str),
            rule.data_class.as_deref().unwrap_or("*"),
            capabilities.join(",")
        ));
    }
}

/// Capabilities the contract grants or the code uses, each where it is declared or used.
fn capabilities_of(facts: &Facts) -> Vec<(Capability, Location)> {
    let mut found = Vec::new();
    if let Some(contract) = &facts.contract {
        for (capability, key) in contract.capabilities.granted() {
            let key = format!("{}.capabilities.{key}", CONTRACT_TABLE.join("."));
            found.push((capability, Location::file("Cargo.toml").with_key(key)));
        }
    }
    for used in &facts.source {
        if let Some(grant) = used.capability.grant() {
            found.push((grant, Location::file_line(&used.file, used.line)));
        }
    }
    found
}

/// `capability-forbidden` for each forbidden capability the asset declares or uses, at each place.
pub(crate) fn check(forbidden: &[Forbidden], facts: &Facts, findings: &mut Vec<Finding>) {
    let asset = &facts.asset;
    for rule in forbidden {
        let kind_matches = rule.kind.is_none_or(|kind| asset.kind == Some(kind));
        let class_matches = rule.data_class.as_ref().is_none_or(|class| asset.data_classes.contains(class));
        if !(kind_matches && class_matches) {
            continue;
        }
        let whom = match (rule.kind, &rule.data_class) {
            (Some(kind), Some(class)) => format!("{kind}s handling {class}"),
            (Some(kind), None) => format!("{kind}s"),
            (None, Some(class)) => format!("assets handling {class}"),
            (None, None) => "assets".to_owned(),
        };
        let mut seen = BTreeSet::new();
        for (capability, location) in capabilities_of(facts) {
            if rule.capabilities.contains(&capability) && seen.insert((capability, location.clone())) {
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
}

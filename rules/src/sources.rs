//! `[sources]`: where dependencies may come from besides crates.io.

use assay_report::facts::Facts;
use assay_report::{Finding, Location, codes};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SourcesDoc {
    #[serde(default = "yes")]
    allow_git: bool,
    #[serde(default)]
    allow_registries: Vec<String>,
}

impl Default for SourcesDoc {
    fn default() -> Self {
        Self { allow_git: true, allow_registries: Vec::new() }
    }
}

fn yes() -> bool {
    true
}

/// Which sources besides crates.io are allowed.
#[derive(Clone, Debug)]
pub struct SourcePolicy {
    /// Git dependencies.
    pub allow_git: bool,
    /// Registry index URLs (matched as substrings of the lockfile source).
    pub allow_registries: Vec<String>,
}

pub(crate) fn validate(doc: SourcesDoc) -> SourcePolicy {
    SourcePolicy { allow_git: doc.allow_git, allow_registries: doc.allow_registries }
}

impl SourcePolicy {
    /// Its lines of the rule set's canonical form.
    pub(crate) fn canonical(&self, out: &mut String) {
        out.push_str(&format!(
            "sources.allow-git={}\nsources.allow-registries={}\n",
            self.allow_git,
            self.allow_registries.join(",")
        ));
    }
}

/// `source-not-allowed` for each dependency from a git repository or registry the policy does not allow.
pub(crate) fn check(policy: &SourcePolicy, facts: &Facts, findings: &mut Vec<Finding>) {
    for dependency in &facts.dependencies {
        let refused = match dependency.source_kind.as_str() {
            "git" if !policy.allow_git => Some("git dependencies are not allowed"),
            "registry" if !policy.allow_registries.iter().any(|r| dependency.source.contains(r.as_str())) => {
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
                .at(Location::package(&dependency.name, &dependency.version))
                .help("depend on the crates.io release instead"),
            );
        }
    }
}

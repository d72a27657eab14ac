//! `[bans]`: crates no asset may depend on, except through the wrappers allowed to.

use assay_report::facts::Facts;
use assay_report::{Finding, Location, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problems;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BansDoc {
    #[serde(default)]
    deny: Vec<BanDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BanDoc {
    #[serde(rename = "crate")]
    name: String,
    version: Option<Spanned<String>>,
    #[serde(default)]
    wrappers: Vec<String>,
    reason: Option<String>,
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

pub(crate) fn validate(doc: &BansDoc, problems: &mut Problems<'_>) -> Vec<Ban> {
    doc.deny
        .iter()
        .map(|ban| Ban {
            name: ban.name.clone(),
            version: ban.version.as_ref().and_then(|text| version_req(text, "bans.deny.version", problems)),
            wrappers: ban.wrappers.clone(),
            reason: ban.reason.clone(),
        })
        .collect()
}

/// A semver requirement, or a diagnostic at `text`.
pub(crate) fn version_req(
    text: &Spanned<String>,
    key: &str,
    problems: &mut Problems<'_>,
) -> Option<semver::VersionReq> {
    match semver::VersionReq::parse(text.get_ref()) {
        Ok(req) => Some(req),
        Err(err) => {
            problems.at(
                text.span(),
                key,
                format!("`{}` is not a version requirement: {err}", text.get_ref()),
                Some("write e.g. \"<0.9.80\" or \">=1, <1.4\""),
            );
            None
        }
    }
}

/// Its lines of the rule set's canonical form.
pub(crate) fn canonical(bans: &[Ban], out: &mut String) {
    for ban in bans {
        let version = ban.version.as_ref().map(ToString::to_string).unwrap_or_else(|| "*".to_owned());
        out.push_str(&format!("ban {}@{version} wrappers={}\n", ban.name, ban.wrappers.join(",")));
    }
}

/// `banned-crate` for each locked dependency a ban matches, unless only its wrappers depend on it.
pub(crate) fn check(bans: &[Ban], facts: &Facts, findings: &mut Vec<Finding>) {
    for dependency in &facts.dependencies {
        for ban in bans {
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
                    .at(Location::package(&dependency.name, &dependency.version)),
                );
            }
        }
    }
}

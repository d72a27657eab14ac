//! `[licenses]`: the SPDX licences the asset and every dependency must be satisfiable with.

use assay_report::facts::Facts;
use assay_report::{Finding, Location, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problems;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LicensesDoc {
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    exceptions: Vec<ExceptionDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionDoc {
    #[serde(rename = "crate")]
    name: String,
    allow: Vec<Spanned<String>>,
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

    /// Its lines of the rule set's canonical form.
    pub(crate) fn canonical(&self, out: &mut String) {
        let mut allow = self.allow.clone();
        allow.sort();
        out.push_str(&format!("licenses.allow={}\n", allow.join(",")));
        let mut exceptions = self.exceptions.clone();
        exceptions.sort();
        for (name, ids) in exceptions {
            out.push_str(&format!("licenses.exception {name}={}\n", ids.join(",")));
        }
    }
}

pub(crate) fn validate(doc: &LicensesDoc, problems: &mut Problems<'_>) -> LicensePolicy {
    LicensePolicy {
        allow: spdx_ids(&doc.allow, "licenses.allow", problems),
        exceptions: doc
            .exceptions
            .iter()
            .map(|exception| {
                (exception.name.clone(), spdx_ids(&exception.allow, "licenses.exceptions.allow", problems))
            })
            .collect(),
    }
}

fn spdx_ids(ids: &[Spanned<String>], key: &str, problems: &mut Problems<'_>) -> Vec<String> {
    for id in ids {
        if spdx::license_id(id.get_ref()).is_none() {
            let near =
                spdx::imprecise_license_id(id.get_ref()).map(|(near, _)| format!("did you mean `{}`?", near.name));
            problems.at(
                id.span(),
                key,
                format!("`{}` is not an SPDX licence id", id.get_ref()),
                Some(near.as_deref().unwrap_or("see https://spdx.org/licenses/")),
            );
        }
    }
    ids.iter().map(|id| id.get_ref().clone()).collect()
}

/// `license-not-allowed` for the asset and each dependency whose licence the policy does not satisfy.
pub(crate) fn check(policy: &LicensePolicy, facts: &Facts, findings: &mut Vec<Finding>) {
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
                .at(Location::package(&dependency.name, &dependency.version))
                .help("replace the dependency, or ask for an exception in the rule set"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! `[[waivers]]`: accepted risks. A waiver keeps the findings it covers in the report, marked waived, and
//! out of the verdict until it expires; expired and unused waivers are findings themselves.

use assay_report::{Finding, Location, Waived, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::JudgedAsset;
use crate::diagnostic::Problems;
use crate::levels::{Level, Levels};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaiverDoc {
    code: Spanned<String>,
    asset: String,
    version: Option<Spanned<String>>,
    sha256: Option<String>,
    package: Option<String>,
    reason: Spanned<String>,
    approver: String,
    expires: Spanned<String>,
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

pub(crate) fn validate(docs: &[WaiverDoc], problems: &mut Problems<'_>) -> Vec<Waiver> {
    let mut waivers = Vec::new();
    for waiver in docs {
        let code = waiver.code.get_ref();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            problems.at(waiver.code.span(), "waivers.code", format!("`{code}` is not a finding code"), None);
        }
        let version =
            waiver.version.as_ref().and_then(|text| crate::bans::version_req(text, "waivers.version", problems));
        let expires = waiver.expires.get_ref().parse::<jiff::civil::Date>().ok();
        if expires.is_none() {
            problems.at(
                waiver.expires.span(),
                "waivers.expires",
                format!("`{}` is not a date", waiver.expires.get_ref()),
                Some("write YYYY-MM-DD; every waiver expires"),
            );
        }
        if waiver.reason.get_ref().trim().is_empty() {
            problems.at(waiver.reason.span(), "waivers.reason", "a waiver needs a reason".to_owned(), None);
        }
        if let Some(expires) = expires {
            waivers.push(Waiver {
                code: code.clone(),
                asset: waiver.asset.clone(),
                version,
                sha256: waiver.sha256.as_ref().map(|s| s.to_ascii_lowercase()),
                package: waiver.package.clone(),
                reason: waiver.reason.get_ref().clone(),
                approver: waiver.approver.clone(),
                expires,
            });
        }
    }
    waivers
}

/// Its lines of the rule set's canonical form.
pub(crate) fn canonical(waivers: &[Waiver], out: &mut String) {
    for waiver in waivers {
        let version = waiver.version.as_ref().map(ToString::to_string).unwrap_or_else(|| "*".to_owned());
        out.push_str(&format!(
            "waiver {}:{}@{version} sha256={} package={} approver={} expires={}\n",
            waiver.code,
            waiver.asset,
            waiver.sha256.as_deref().unwrap_or("*"),
            waiver.package.as_deref().unwrap_or("*"),
            waiver.approver,
            waiver.expires
        ));
    }
}

impl Waiver {
    fn applies_to(&self, asset: &JudgedAsset) -> bool {
        self.asset == asset.name
            && self
                .version
                .as_ref()
                .is_none_or(|req| semver::Version::parse(&asset.version).is_ok_and(|v| req.matches(&v)))
            && self.sha256.as_ref().is_none_or(|sha| *sha == asset.sha256)
    }

    fn covers(&self, finding: &Finding) -> bool {
        finding.code == self.code
            && self.package.as_ref().is_none_or(
                |package| matches!(&finding.location, Some(Location::Package { name, .. }) if name == package),
            )
    }
}

/// Marks the findings this asset's active waivers cover; adds `waiver-expired` and `waiver-unused` findings
/// (at their levels).
pub(crate) fn apply(waivers: &[Waiver], levels: &Levels, findings: &mut Vec<Finding>, asset: &JudgedAsset) {
    let mut extra = Vec::new();
    for waiver in waivers.iter().filter(|w| w.applies_to(asset)) {
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
        for finding in findings.iter_mut().filter(|f| waiver.covers(f) && f.waived.is_none()) {
            finding.waived = Some(Waived {
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
        if let Some(Level::At(severity)) = levels.of(&finding.code) {
            finding.severity = severity;
        }
        findings.push(finding);
    }
}

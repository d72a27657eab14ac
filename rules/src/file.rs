//! Rule-set files: parsed with spans first, validated in a second pass so every mistake is reported at
//! once, each at its line.

use std::collections::BTreeMap;
use std::path::Path;

use assay_report::codes;
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::{Ban, Level, LicensePolicy, RuleSet};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: Spanned<u32>,
    #[serde(default)]
    levels: BTreeMap<Spanned<String>, Spanned<String>>,
    licenses: Option<LicensesDoc>,
    #[serde(default)]
    bans: BansDoc,
    #[serde(default)]
    sources: SourcesDoc,
    #[serde(default)]
    metadata: MetadataDoc,
    #[serde(default)]
    build: BuildDoc,
    #[serde(default)]
    advisories: AdvisoriesDoc,
    #[serde(default)]
    capabilities: CapabilitiesDoc,
    #[serde(default)]
    ceilings: CeilingsDoc,
    #[serde(default)]
    rego: Vec<Spanned<String>>,
    #[serde(default)]
    waivers: Vec<WaiverDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverDoc {
    code: Spanned<String>,
    asset: String,
    version: Option<Spanned<String>>,
    sha256: Option<String>,
    package: Option<String>,
    reason: Spanned<String>,
    approver: String,
    expires: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LicensesDoc {
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

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BansDoc {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SourcesDoc {
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

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AdvisoriesDoc {
    severity_threshold: Option<Spanned<String>>,
}

/// CVSS qualitative severities, lowest first.
pub(crate) const CVSS_SEVERITIES: [&str; 5] = ["none", "low", "medium", "high", "critical"];

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesDoc {
    #[serde(default)]
    forbid: Vec<ForbidDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ForbidDoc {
    kind: Option<String>,
    data_class: Option<String>,
    capabilities: Vec<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CeilingsDoc {
    p50: Option<Spanned<String>>,
    p95: Option<Spanned<String>>,
    p99: Option<Spanned<String>>,
    error_rate: Option<Spanned<String>>,
    min_rps: Option<f64>,
    max_rss: Option<Spanned<String>>,
    startup: Option<Spanned<String>>,
}

/// Capabilities `[capabilities] forbid` may name.
pub(crate) const CAPABILITIES: [&str; 6] =
    ["network", "filesystem-read", "filesystem-write", "process", "env", "unsafe"];

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataDoc {
    #[serde(default)]
    require: Vec<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct BuildDoc {
    #[serde(default)]
    allow_build_scripts: Vec<String>,
    #[serde(default)]
    allow_proc_macros: Vec<String>,
}

/// Manifest fields `[metadata] require` may name.
const METADATA_FIELDS: [&str; 3] = ["license", "description", "repository"];

/// Parses and validates rule-set text; `path` names it in diagnostics and in the rule set's URI.
pub fn parse(text: &str, path: &Path, uri: String) -> Result<RuleSet, Vec<Diagnostic>> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let diagnostic = |offset: usize, key: Option<String>, message: String, help: Option<&str>| Diagnostic {
        path: path.to_owned(),
        line: line_of(offset),
        key,
        message,
        help: help.map(str::to_owned),
    };
    let file: RuleFile = toml::from_str(text).map_err(|err| {
        let offset = err.span().map_or(0, |s| s.start);
        vec![diagnostic(
            offset,
            None,
            err.message().trim().to_owned(),
            Some("see rules/policies/default.toml for every key"),
        )]
    })?;

    let mut problems = Vec::new();
    if *file.version.get_ref() != 1 {
        problems.push(diagnostic(
            file.version.span().start,
            Some("version".into()),
            format!("unsupported rule-set version {}", file.version.get_ref()),
            Some("this assay reads version = 1"),
        ));
    }
    let mut levels = BTreeMap::new();
    for (code, level) in &file.levels {
        let key = format!("levels.{}", code.get_ref());
        if codes::lookup(code.get_ref()).is_none() {
            problems.push(diagnostic(
                code.span().start,
                Some(key.clone()),
                format!("`{}` is not a finding code", code.get_ref()),
                Some("`assay rules explain` lists every code"),
            ));
        }
        match Level::parse(level.get_ref()) {
            Some(parsed) => {
                levels.insert(code.get_ref().clone(), parsed);
            }
            None => problems.push(diagnostic(
                level.span().start,
                Some(key),
                format!("`{}` is not a level", level.get_ref()),
                Some("use allow, warn, review or deny"),
            )),
        }
    }
    let spdx_ids = |ids: &[Spanned<String>], key: &str, problems: &mut Vec<Diagnostic>| -> Vec<String> {
        for id in ids {
            if spdx::license_id(id.get_ref()).is_none() {
                let help =
                    spdx::imprecise_license_id(id.get_ref()).map(|(near, _)| format!("did you mean `{}`?", near.name));
                problems.push(diagnostic(
                    id.span().start,
                    Some(key.to_owned()),
                    format!("`{}` is not an SPDX licence id", id.get_ref()),
                    help.as_deref().or(Some("see https://spdx.org/licenses/")),
                ));
            }
        }
        ids.iter().map(|id| id.get_ref().clone()).collect()
    };
    let licenses = file.licenses.as_ref().map(|doc| LicensePolicy {
        allow: spdx_ids(&doc.allow, "licenses.allow", &mut problems),
        exceptions: doc
            .exceptions
            .iter()
            .map(|exception| {
                (exception.name.clone(), spdx_ids(&exception.allow, "licenses.exceptions.allow", &mut problems))
            })
            .collect(),
    });
    let mut bans = Vec::new();
    for ban in &file.bans.deny {
        let version = match &ban.version {
            None => None,
            Some(text) => match semver::VersionReq::parse(text.get_ref()) {
                Ok(req) => Some(req),
                Err(err) => {
                    problems.push(diagnostic(
                        text.span().start,
                        Some("bans.deny.version".into()),
                        format!("`{}` is not a version requirement: {err}", text.get_ref()),
                        Some("write e.g. \"<0.9.80\" or \">=1, <1.4\""),
                    ));
                    None
                }
            },
        };
        bans.push(Ban { name: ban.name.clone(), version, wrappers: ban.wrappers.clone(), reason: ban.reason.clone() });
    }
    if let Some(threshold) = &file.advisories.severity_threshold
        && !CVSS_SEVERITIES.contains(&threshold.get_ref().as_str())
    {
        problems.push(diagnostic(
            threshold.span().start,
            Some("advisories.severity-threshold".into()),
            format!("`{}` is not a CVSS severity", threshold.get_ref()),
            Some("use none, low, medium, high or critical"),
        ));
    }
    let mut forbidden = Vec::new();
    for rule in &file.capabilities.forbid {
        for capability in &rule.capabilities {
            if !CAPABILITIES.contains(&capability.get_ref().as_str()) {
                problems.push(diagnostic(
                    capability.span().start,
                    Some("capabilities.forbid.capabilities".into()),
                    format!("`{}` is not a capability", capability.get_ref()),
                    Some("use network, filesystem-read, filesystem-write, process, env or unsafe"),
                ));
            }
        }
        forbidden.push(crate::Forbidden {
            kind: rule.kind.clone(),
            data_class: rule.data_class.clone(),
            capabilities: rule.capabilities.iter().map(|c| c.get_ref().clone()).collect(),
        });
    }
    let mut ceilings =
        assay_load_runner::Budget { min_rps: file.ceilings.min_rps, ..assay_load_runner::Budget::default() };
    {
        let doc = &file.ceilings;
        let mut quantity = |value: &Option<Spanned<String>>, key: &str| -> Option<String> {
            let value = value.as_ref()?;
            Some(value.get_ref().clone()).filter(|_| {
                let valid = match key {
                    "error-rate" => value.get_ref().parse::<assay_load_runner::Percent>().map(|_| ()),
                    "max-rss" => value.get_ref().parse::<assay_load_runner::ByteSize>().map(|_| ()),
                    _ => value.get_ref().parse::<assay_load_runner::TimeSpan>().map(|_| ()),
                };
                if let Err(message) = &valid {
                    problems.push(diagnostic(
                        value.span().start,
                        Some(format!("ceilings.{key}")),
                        message.clone(),
                        None,
                    ));
                }
                valid.is_ok()
            })
        };
        ceilings.p50 = quantity(&doc.p50, "p50").and_then(|v| v.parse().ok());
        ceilings.p95 = quantity(&doc.p95, "p95").and_then(|v| v.parse().ok());
        ceilings.p99 = quantity(&doc.p99, "p99").and_then(|v| v.parse().ok());
        ceilings.error_rate = quantity(&doc.error_rate, "error-rate").and_then(|v| v.parse().ok());
        ceilings.max_rss = quantity(&doc.max_rss, "max-rss").and_then(|v| v.parse().ok());
        ceilings.startup = quantity(&doc.startup, "startup").and_then(|v| v.parse().ok());
    }
    let mut waivers = Vec::new();
    for waiver in &file.waivers {
        let code = waiver.code.get_ref();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            problems.push(diagnostic(
                waiver.code.span().start,
                Some("waivers.code".into()),
                format!("`{code}` is not a finding code"),
                None,
            ));
        }
        let version = waiver.version.as_ref().and_then(|text| match semver::VersionReq::parse(text.get_ref()) {
            Ok(req) => Some(req),
            Err(err) => {
                problems.push(diagnostic(
                    text.span().start,
                    Some("waivers.version".into()),
                    format!("`{}` is not a version requirement: {err}", text.get_ref()),
                    None,
                ));
                None
            }
        });
        let expires = match waiver.expires.get_ref().parse::<jiff::civil::Date>() {
            Ok(date) => Some(date),
            Err(_) => {
                problems.push(diagnostic(
                    waiver.expires.span().start,
                    Some("waivers.expires".into()),
                    format!("`{}` is not a date", waiver.expires.get_ref()),
                    Some("write YYYY-MM-DD; every waiver expires"),
                ));
                None
            }
        };
        if waiver.reason.get_ref().trim().is_empty() {
            problems.push(diagnostic(
                waiver.reason.span().start,
                Some("waivers.reason".into()),
                "a waiver needs a reason".to_owned(),
                None,
            ));
        }
        if let Some(expires) = expires {
            waivers.push(crate::Waiver {
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
    let rego_patterns: Vec<(String, usize)> =
        file.rego.iter().map(|p| (p.get_ref().clone(), line_of(p.span().start))).collect();
    let rego = if rego_patterns.is_empty() || !problems.is_empty() {
        None
    } else {
        let base = path.parent().unwrap_or(Path::new("."));
        match crate::rego::RegoRules::load(base, &rego_patterns, path) {
            Ok(rules) => Some(rules),
            Err(diagnostics) => {
                problems.extend(diagnostics);
                None
            }
        }
    };
    for field in &file.metadata.require {
        if !METADATA_FIELDS.contains(&field.get_ref().as_str()) {
            problems.push(diagnostic(
                field.span().start,
                Some("metadata.require".into()),
                format!("`{}` is not a required-metadata field", field.get_ref()),
                Some("use license, description or repository"),
            ));
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|d| d.line);
        return Err(problems);
    }
    Ok(RuleSet {
        uri,
        levels,
        licenses,
        bans,
        allow_git: file.sources.allow_git,
        allow_registries: file.sources.allow_registries,
        metadata_required: file.metadata.require.iter().map(|f| f.get_ref().clone()).collect(),
        allow_build_scripts: file.build.allow_build_scripts,
        allow_proc_macros: file.build.allow_proc_macros,
        rego,
        waivers,
        forbidden,
        ceilings,
        severity_threshold: file.advisories.severity_threshold.map(|t| t.into_inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(usize, String)> {
        parse(text, Path::new("rules.toml"), "file:rules.toml".into())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.line, d.message))
            .collect()
    }

    #[test]
    fn the_bundled_rule_set_is_valid() {
        assert_eq!(problems(include_str!("../policies/default.toml")), Vec::new());
    }

    #[test]
    fn each_kind_of_mistake_points_at_its_line() {
        let cases = [
            ("version = 1\n[levels\n", 2, "unclosed table"),
            ("version = 1\n[licenses]\nallow = [\"MIT\"]\nforbid = []\n", 4, "unknown field `forbid`"),
            ("version = 1\n[sources]\nallow-git = \"no\"\n", 3, "invalid type"),
            (
                "version = 1\n[licenses]\nallow = [\n  \"MIT\",\n  \"Apache2\",\n]\n",
                5,
                "`Apache2` is not an SPDX licence id",
            ),
            ("version = 1\n[[bans.deny]]\ncrate = \"x\"\nversion = \"<<1\"\n", 4, "is not a version requirement"),
            (
                "version = 1\n[levels]\nvulnerability = \"deny\"\nno-such-code = \"warn\"\n",
                4,
                "`no-such-code` is not a finding code",
            ),
            ("version = 1\n[levels]\nvulnerability = \"fatal\"\n", 3, "`fatal` is not a level"),
            ("version = 1\n[ceilings]\np95 = \"fast\"\n", 3, "`fast` is not a time span"),
            (
                "version = 1\n[capabilities]\nforbid = [{ kind = \"connector\", capabilities = [\"teleport\"] }]\n",
                3,
                "`teleport` is not a capability",
            ),
        ];
        for (text, line, words) in cases {
            let found = problems(text);
            assert!(
                found.iter().any(|(l, message)| *l == line && message.contains(words)),
                "expected line {line} `{words}` in {found:?} for:\n{text}"
            );
        }
    }

    #[test]
    fn a_near_miss_licence_gets_a_suggestion() {
        let err =
            parse("version = 1\n[licenses]\nallow = [\"apache-2\"]\n", Path::new("r.toml"), String::new()).unwrap_err();
        assert!(err[0].help.as_deref().unwrap_or("").contains("Apache-2.0"), "{:?}", err[0]);
    }
}

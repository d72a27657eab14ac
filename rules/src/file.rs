//! Rule-set files: parsed with spans first, then each section validated by the check family that owns it,
//! so every mistake is reported at once, each at its place.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::advisories::AdvisoriesDoc;
use crate::bans::BansDoc;
use crate::build::BuildDoc;
use crate::capabilities::CapabilitiesDoc;
use crate::ceilings::CeilingsDoc;
use crate::diagnostic::{Diagnostic, Problems};
use crate::levels::LevelsDoc;
use crate::licenses::LicensesDoc;
use crate::lineage::LineageDoc;
use crate::metadata::MetadataDoc;
use crate::rego::RegoRules;
use crate::sources::SourcesDoc;
use crate::waivers::WaiverDoc;
use crate::{
    RuleSet, advisories, bans, build, capabilities, ceilings, levels, licenses, lineage, metadata, sources, waivers,
};

/// A rule-set file as written, one field per section.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: Spanned<u32>,
    #[serde(default)]
    levels: LevelsDoc,
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
    lineage: LineageDoc,
    #[serde(default)]
    rego: Vec<Spanned<String>>,
    #[serde(default)]
    waivers: Vec<WaiverDoc>,
}

/// Parses and validates rule-set text; `path` names it in diagnostics (Rego paths are relative to its
/// folder) and `uri` in the rule set's identity.
pub fn parse(text: &str, path: &Path, uri: String) -> Result<RuleSet, Vec<Diagnostic>> {
    let mut problems = Problems::new(path, text);
    let file: RuleFile = match toml::from_str(text) {
        Ok(file) => file,
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            problems.at(
                span,
                "",
                err.message().trim().to_owned(),
                Some("see rules/policies/default.toml for every key"),
            );
            return Err(problems.into_sorted());
        }
    };
    if *file.version.get_ref() != 1 {
        problems.at(
            file.version.span(),
            "version",
            format!("unsupported rule-set version {}", file.version.get_ref()),
            Some("this assay reads version = 1"),
        );
    }
    let levels = levels::validate(&file.levels, &mut problems);
    let licenses = file.licenses.as_ref().map(|doc| licenses::validate(doc, &mut problems));
    let bans = bans::validate(&file.bans, &mut problems);
    let advisories = advisories::validate(&file.advisories, &mut problems);
    let forbidden = capabilities::validate(&file.capabilities, &mut problems);
    let ceilings = ceilings::validate(&file.ceilings, &mut problems);
    let waivers = waivers::validate(&file.waivers, &mut problems);
    let metadata = metadata::validate(&file.metadata, &mut problems);
    let lineage = lineage::validate(&file.lineage, &mut problems);
    // Policies are loaded (and their files read) only for an otherwise valid rule set.
    let rego =
        if file.rego.is_empty() || !problems.is_empty() { None } else { RegoRules::load(&file.rego, &mut problems) };
    if !problems.is_empty() {
        return Err(problems.into_sorted());
    }
    Ok(RuleSet {
        uri,
        levels,
        licenses,
        bans,
        sources: sources::validate(file.sources),
        metadata,
        build: build::validate(file.build),
        rego,
        waivers,
        forbidden,
        ceilings,
        advisories,
        lineage,
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
            (
                "version = 1\n[capabilities]\nforbid = [{ kind = \"plugin\", capabilities = [\"network\"] }]\n",
                3,
                "`plugin` is not an asset kind",
            ),
            ("version = 1\n[advisories]\nseverity-threshold = \"severe\"\n", 3, "`severe` is not a CVSS severity"),
            ("version = 1\n[metadata]\nrequire = [\"homepage\"]\n", 3, "`homepage` is not a required-metadata field"),
            ("version = 1\n[lineage]\nperformance-regression = \"a lot\"\n", 3, "not a percentage"),
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
    fn every_diagnostic_spans_the_offending_text() {
        let text = "version = 1\n[levels]\nvulnerability = \"fatal\"\n[ceilings]\np95 = \"fast\"\n";
        let diagnostics = parse(text, Path::new("rules.toml"), String::new()).unwrap_err();
        let spanned: Vec<&str> = diagnostics.iter().map(|d| &text[d.span.clone().unwrap()]).collect();
        assert_eq!(spanned, ["\"fatal\"", "\"fast\""]);
    }

    #[test]
    fn a_near_miss_licence_gets_a_suggestion() {
        let err =
            parse("version = 1\n[licenses]\nallow = [\"apache-2\"]\n", Path::new("r.toml"), String::new()).unwrap_err();
        assert!(err[0].help.as_deref().unwrap_or("").contains("Apache-2.0"), "{:?}", err[0]);
    }
}

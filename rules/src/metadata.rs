//! `[metadata]`: manifest fields a listing needs.

use assay_report::facts::Facts;
use assay_report::{Finding, Location, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problems;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetadataDoc {
    #[serde(default)]
    require: Vec<Spanned<String>>,
}

/// A `[package]` field `[metadata] require` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataField {
    /// `license`.
    License,
    /// `description`.
    Description,
    /// `repository`.
    Repository,
}

impl MetadataField {
    const ALL: [MetadataField; 3] = [Self::License, Self::Description, Self::Repository];

    /// The manifest key.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::License => "license",
            Self::Description => "description",
            Self::Repository => "repository",
        }
    }

    fn missing(self, facts: &Facts) -> bool {
        let asset = &facts.asset;
        match self {
            Self::License => asset.license.is_none(),
            Self::Description => asset.description.is_none(),
            Self::Repository => asset.repository.is_none(),
        }
    }
}

pub(crate) fn validate(doc: &MetadataDoc, problems: &mut Problems<'_>) -> Vec<MetadataField> {
    let parse = |name: &str| MetadataField::ALL.into_iter().find(|f| f.as_str() == name);
    doc.require
        .iter()
        .filter_map(|field| {
            problems.one_of(
                field,
                "metadata.require",
                parse,
                "a required-metadata field",
                "use license, description or repository",
            )
        })
        .collect()
}

/// Its line of the rule set's canonical form.
pub(crate) fn canonical(required: &[MetadataField], out: &mut String) {
    let names: Vec<&str> = required.iter().map(|f| f.as_str()).collect();
    out.push_str(&format!("metadata.require={}\n", names.join(",")));
}

/// `metadata-missing` naming every required field the manifest lacks.
pub(crate) fn check(required: &[MetadataField], facts: &Facts, findings: &mut Vec<Finding>) {
    let missing: Vec<&str> = required.iter().filter(|f| f.missing(facts)).map(|f| f.as_str()).collect();
    if !missing.is_empty() {
        findings.push(
            Finding::new(&codes::METADATA_MISSING, format!("Cargo.toml lacks {}", missing.join(", ")))
                .at(Location::file("Cargo.toml").with_key("package"))
                .help("fill in [package] license, description and repository"),
        );
    }
}

//! The facts the rules judge (`facts.json`, the `input` of Rego rules), gathered from what the stages
//! learnt.

use assay_report::audit::AuditResult;
use assay_report::facts::{AdvisoryFact, FACTS_SCHEMA, Facts};
use assay_report::load::LoadReport;

use crate::asset::Asset;
use crate::stages::dependencies::DependencyGraph;
use crate::stages::source::{self, SourceFacts};

/// What the static stages learnt about a readable asset.
pub(super) struct Analysed {
    pub asset: Asset,
    pub audit: Option<AuditResult>,
    pub dependencies: Option<DependencyGraph>,
    pub source: Option<SourceFacts>,
}

/// The facts of an analysed asset whose archive has digest `sha256`; `None` without a readable manifest.
pub(super) fn gather(analysed: &Analysed, sha256: &str, load: Option<&LoadReport>) -> Option<Facts> {
    let asset = &analysed.asset;
    let dependencies = match (&analysed.dependencies, &asset.lockfile) {
        (Some(graph), Some(lockfile)) => graph.facts(lockfile),
        _ => Vec::new(),
    };
    Some(Facts {
        schema: FACTS_SCHEMA.to_owned(),
        asset: asset.facts(sha256)?,
        contract: asset.contract.clone(),
        dependencies,
        advisories: analysed
            .audit
            .iter()
            .flat_map(|audit| audit.vulnerabilities.iter().chain(&audit.warnings))
            .map(AdvisoryFact::from)
            .collect(),
        source: analysed.source.iter().flat_map(|facts| &facts.uses).map(source::fact).collect(),
        load: load.cloned(),
        // The pipeline adds it when the scan has a lineage basis.
        lineage: None,
    })
}

//! Whether the archive is the asset a submission claims it is: the listing would otherwise show one
//! asset's name over another's verdict.

use assay_report::{Finding, Location, codes};

use crate::asset::Asset;

/// The identity a submission claims for its archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedAsset {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// The contract's publisher.
    pub publisher: String,
}

/// A `claim-mismatch` finding naming each difference between the claim and the archive.
pub(super) fn mismatch(claimed: &ClaimedAsset, asset: &Asset) -> Option<Finding> {
    let manifest = asset.manifest.as_ref()?;
    let publisher = asset.contract.as_ref().map(|contract| contract.publisher.as_str());
    let mut differences = Vec::new();
    if claimed.name != manifest.name {
        differences.push(format!("name `{}` (Cargo.toml: `{}`)", claimed.name, manifest.name));
    }
    if claimed.version != manifest.version {
        differences.push(format!("version `{}` (Cargo.toml: `{}`)", claimed.version, manifest.version));
    }
    if publisher.is_some_and(|publisher| publisher != claimed.publisher) {
        differences.push(format!("publisher `{}` (contract: `{}`)", claimed.publisher, publisher.unwrap_or_default()));
    }
    (!differences.is_empty()).then(|| {
        Finding::new(
            &codes::CLAIM_MISMATCH,
            format!("the submission claims {}, which the archive does not say", differences.join(", ")),
        )
        .at(Location::file("Cargo.toml"))
        .help("submit the archive under the name, version and publisher its manifest and contract declare")
    })
}

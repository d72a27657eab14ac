//! How to scan: intake limits, the load setup, dependency sources, signing, and what a submission claims.

use std::path::PathBuf;

use assay_load_runner::cancel::Cancel;
use assay_report::keys::key_id;
use ed25519_dalek::SigningKey;
use jiff::Timestamp;

use crate::deps::DependencyOptions;
use crate::intake::IntakeLimits;
use crate::lineage::LineageBasis;
use crate::stages::load::LoadSetup;

use super::ClaimedAsset;

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Intake limits.
    pub limits: IntakeLimits,
    /// Whether and how services are load-tested.
    pub load: LoadSetup,
    /// Maximum advisory database age in days before `db-stale`.
    pub max_db_age_days: u32,
    /// Where scratch directories are made (default: the system temp dir).
    pub scratch_parent: Option<PathBuf>,
    /// Where dependency crates are downloaded from and cached (the SBOM and the build read them).
    pub dependencies: DependencyOptions,
    /// The SBOM's timestamp instead of the scan's start (`SOURCE_DATE_EPOCH`, for byte-identical SBOMs).
    pub sbom_timestamp: Option<Timestamp>,
    /// Signs the report when present.
    pub signer: Option<Signer>,
    /// The VSA's `resourceUri`: the listing URI, or the archive URI; the scanned path's `file://` URI otherwise.
    pub resource_uri: Option<String>,
    /// What the submission says the asset is (the worker's message); the archive must agree.
    pub claimed: Option<ClaimedAsset>,
    /// What the release is judged against (its baseline, the listed names); no lineage checks without it.
    pub lineage: Option<LineageBasis>,
    /// Raised by whoever owns the scan to stop it: checked between stages and by every sandboxed process.
    pub cancel: Cancel,
}

/// The key and identity reports are signed with.
#[derive(Clone)]
pub struct Signer {
    /// Ed25519 signing key.
    pub key: SigningKey,
    /// The VSA's `verifier.id`.
    pub verifier_id: String,
}

impl std::fmt::Debug for Signer {
    /// Shows the key id, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &key_id(&self.key.verifying_key()))
            .field("verifier_id", &self.verifier_id)
            .finish()
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            limits: IntakeLimits::default(),
            load: LoadSetup::Skipped,
            max_db_age_days: 90,
            scratch_parent: None,
            dependencies: DependencyOptions::new(crate::cache_dir::cache_root()),
            sbom_timestamp: None,
            signer: None,
            resource_uri: None,
            claimed: None,
            lineage: None,
            cancel: Cancel::default(),
        }
    }
}

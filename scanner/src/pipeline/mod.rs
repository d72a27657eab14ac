//! The pipeline: runs the stages on one submission, asks the rules for a verdict and writes the report.
//!
//! `config` says how to scan; `run` runs the stages in order, each started, timed and recorded by
//! `recorder`; `facts` gathers what the rules judge; `judgement` turns the stages' evidence, the audit and
//! the rules into the verdict; `assemble` builds and signs the report (for a scan and
//! for a refused submission alike); `output` writes the report directory; `claim` compares the archive with
//! what a submission claims.

mod assemble;
mod claim;
mod config;
mod facts;
mod judgement;
mod output;
mod recorder;
mod run;

use std::io;
use std::path::PathBuf;

use assay_report::AcceptanceReport;
use assay_report::dsse::Envelope;
use assay_report::facts::Facts;

pub use assemble::{report_id, signature_status};
pub use claim::ClaimedAsset;
pub use config::{ScanConfig, Signer};
pub use judgement::{EVIDENCE_SCHEMA, Evidence, Judgement, judge};
pub use output::{
    DSSE_FILE, EVIDENCE_FILE, FACTS_FILE, HTML_FILE, LOAD_FILE, REPORT_FILE, ReportFiles, SARIF_FILE, SBOM_FILE,
    SUMMARY_FILE, report_files, report_folder, write_files, write_report,
};
pub use run::{identify, refusal, scan};

use crate::asset::AssetError;
use crate::intake::IntakeError;
use crate::stages::sbom::SbomError;

/// What a scan produced: the judged report and the artefacts it describes.
#[derive(Debug)]
pub struct ScanOutput {
    /// The acceptance report.
    pub report: AcceptanceReport,
    /// The CycloneDX SBOM, when the asset could be read.
    pub sbom: Option<Vec<u8>>,
    /// The signed statements (`report.dsse.json`), when a signer was configured.
    pub envelopes: Option<Vec<Envelope>>,
    /// What the rules judged (`facts.json`), when the asset could be read.
    pub facts: Option<Facts>,
    /// What the stages found before the rules judged it (`evidence.json`): where a re-judgement starts.
    pub evidence: Evidence,
}

/// A scan could not run; no verdict exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading the input or writing the scratch copy failed.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// Reading the scratch copy failed.
    #[error(transparent)]
    Asset(#[from] AssetError),
    /// The scratch directory could not be created.
    #[error("cannot create a scratch directory in {}: {source}", path.display())]
    Scratch {
        /// Its parent.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The SBOM could not be produced.
    #[error(transparent)]
    Sbom(#[from] SbomError),
    /// The asset declares a service, and the load stage cannot run here.
    #[error("{0}")]
    LoadUnavailable(String),
    /// The load stage failed for reasons that are not the asset's.
    #[error(transparent)]
    Load(#[from] assay_load_runner::stage::LoadError),
    /// The scan was stopped by its owner ([`ScanConfig::cancel`]); its scratch directory is gone.
    #[error("the scan was cancelled")]
    Cancelled,
    /// The report could not be written.
    #[error("cannot write the report to {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Called as each stage starts, so a terminal can show progress.
pub trait Progress {
    /// `stage` is about to run.
    fn stage(&mut self, stage: &str);
}

impl Progress for () {
    fn stage(&mut self, _: &str) {}
}

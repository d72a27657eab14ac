//! The shared vocabulary of Assay: what a scan is about, what it found, and what it concluded.
//!
//! Every other crate speaks these types, the asset contract and its quantities among them; this crate
//! depends on no other workspace crate.

pub mod audit;
pub mod codes;
pub mod contract;
pub mod digest;
pub mod dsse;
pub mod facts;
mod finding;
pub mod html;
pub mod intoto;
pub mod keys;
pub mod lineage;
pub mod load;
pub mod observed;
pub mod quantity;
mod report;
pub mod sarif;
mod summary;
pub mod trust;
pub mod untrusted;
pub mod verify;

pub use finding::{AdvisoryRef, Finding, Location, Severity, Waived};
pub use html::render_html;
pub use report::{
    AcceptanceReport, AssetSummary, LoadMode, REPORT_SCHEMA, Rejudgement, RulesIdentity, SbomSummary, ScanOptions,
    SignatureStatus, StageRecord, StageStatus, Subject, SubjectKind, Tool, Verdict,
};
pub use summary::render_summary;

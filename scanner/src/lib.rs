//! The Assay acceptance gate as a library: intake, asset model, stages and the pipeline that ties them together.
//!
//! The `assay` binary (`src/main.rs`, `src/cli/`) is a thin layer over this crate.

pub mod asset;
pub mod cache_dir;
pub mod console;
pub mod deps;
pub mod http;
pub mod intake;
pub mod lineage;
pub mod pipeline;
pub mod rejudge;
pub mod scratch;
pub mod stages;
pub mod store;
pub mod worker;

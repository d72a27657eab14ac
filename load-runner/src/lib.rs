//! Load testing of asset services: the load spec and budgets a contract declares, the bubblewrap sandbox the
//! service is built and run in, the plan the goose harness (`assay-load-harness`, feature `harness`) follows
//! inside it, and budget evaluation over what it measured.
//!
//! The load model: goose users are a closed model. Each of `users` users sends a request, waits for the
//! response, and sends the next one; ramp-up (until every user runs) is excluded from the measurement.
//! Latencies are recorded per request into HdrHistograms, raw and corrected for coordinated omission.

pub mod binary;
mod budget_check;
pub mod build;
pub mod cancel;
pub mod capacity;
pub mod harness_job;
pub mod host_lock;
pub mod observe;
pub mod pinning;
pub mod plan;
pub mod proc_status;
pub mod reproducible;
pub mod sandbox;
mod saturation;
pub mod stage;

pub use budget_check::{judge, startup_budget};

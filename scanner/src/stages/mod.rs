//! Stages: each takes the asset and returns its facts; none writes the report or knows about the queue.

pub mod audit;
pub mod dependencies;
pub mod load;
pub mod sbom;
pub mod source;

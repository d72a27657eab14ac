//! Load testing of asset services: the load spec and performance budgets a contract declares.
//!
//! The sandbox, the goose harness and budget evaluation over HdrHistograms build on these types
//! (issue "Load runner"); the scanner already parses and validates them from every contract.

pub mod quantity;
pub mod spec;

pub use quantity::{ByteSize, Percent, Rate, TimeSpan};
pub use spec::{Budget, LoadSpec, Request, Scenario};

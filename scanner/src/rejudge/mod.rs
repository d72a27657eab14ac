//! Judging stored verdicts again: a stored submission's evidence, facts and locked dependencies against a
//! newer advisory database or rule set, without the archive (nothing is fetched or built; the load results
//! are the original run's and the report says so). `judge` does one submission; `sweep` a whole store, with
//! the new revisions recorded and published.

mod judge;
mod reasons;
mod sweep;

pub use judge::{Basis, Outcome, RejudgeError, Rejudged, Rejudger};
pub use reasons::{Difference, FindingLine};
pub use sweep::{Change, Publisher, Rejudgement, Sweep, SweepError, rejudge_one, sweep};

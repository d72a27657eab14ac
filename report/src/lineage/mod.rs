//! Lineage: a release judged against the last accepted release of the same asset (its baseline), and its name
//! against every listed asset of other publishers. A scan computes it (`facts.lineage`, the report's
//! `lineage`); the rule set's lineage checks and custom Rego rules judge it.
//!
//! `diff` compares two releases' facts; `names` says when two names are one, or look alike; `render` shows a
//! diff to people.

mod diff;
pub mod names;
pub mod render;

use serde::{Deserialize, Serialize};

pub use diff::{
    BuildTimeCode, ContractDiff, DependencyDiff, DependencyRef, FieldChange, Grant, PerformanceChange, ReleaseDiff,
    VersionChange,
};
pub use names::SimilarName;

use crate::facts::Facts;

/// How a release relates to what is already listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Lineage {
    /// The release this one is judged against (its baseline); absent for a first release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousRelease>,
    /// What changed since `previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<ReleaseDiff>,
    /// The archive is byte for byte the baseline's (same sha256): the same release submitted again, not an
    /// update, so nothing is judged against the baseline.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resubmission: bool,
    /// Other publishers with a listed (accepted or needs-review) release of this name (as cargo compares
    /// names), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_owners: Vec<String>,
    /// Listed assets of other publishers whose names look like this one, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub similar_names: Vec<SimilarName>,
}

/// The baseline: the release a new one is compared with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PreviousRelease {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Publisher, from its contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Its verdict (`accepted`, `needs-review`, `rejected`).
    pub verdict: String,
    /// Its submission id, when it comes from a report store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
}

/// A release the store lists (accepted or needing review), as name checks see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedRelease {
    /// Package name.
    pub name: String,
    /// Publisher.
    pub publisher: Option<String>,
}

impl Lineage {
    /// The lineage of the release `current`: compared with `baseline` (its description and facts) when there
    /// is one, its name with every release in `listed`.
    pub fn assess(current: &Facts, baseline: Option<(PreviousRelease, &Facts)>, listed: &[ListedRelease]) -> Self {
        let name = &current.asset.name;
        let publisher = current.asset.publisher.as_deref();
        // A release whose publisher the store does not know (a claim recorded before publishers were) cannot
        // be told apart from this publisher's own: it counts for neither check.
        let others = listed.iter().filter_map(|release| {
            let other = release.publisher.as_deref()?;
            (Some(other) != publisher).then_some((release, other))
        });
        let mut name_owners: Vec<String> = Vec::new();
        let mut similar_names: Vec<SimilarName> = Vec::new();
        for (release, other_publisher) in others {
            let other_publisher = other_publisher.to_owned();
            if names::normalise(&release.name) == names::normalise(name) {
                name_owners.push(other_publisher);
            } else if let Some((distance, confusable)) = names::resemblance(name, &release.name) {
                similar_names.push(SimilarName {
                    name: release.name.clone(),
                    publisher: other_publisher,
                    distance,
                    confusable,
                });
            }
        }
        name_owners.sort();
        name_owners.dedup();
        similar_names.sort();
        similar_names.dedup();
        let resubmission = baseline
            .as_ref()
            .is_some_and(|(_, facts)| !current.asset.sha256.is_empty() && facts.asset.sha256 == current.asset.sha256);
        let (previous, diff) = match baseline {
            Some((previous, facts)) => (Some(previous), Some(ReleaseDiff::between(facts, current))),
            None => (None, None),
        };
        Self { previous, diff, resubmission, name_owners, similar_names }
    }
}

#[cfg(test)]
mod tests;

//! Where a release's lineage comes from: its baseline (the newest accepted release of the same name in the
//! report store, the newest one needing review when none is accepted, or a release given by hand) and the
//! listed names of other publishers its own is checked against.

use assay_report::Verdict;
use assay_report::facts::Facts;
use assay_report::lineage::{Lineage, ListedRelease, PreviousRelease, names};

use crate::pipeline::{FACTS_FILE, ScanOutput};
use crate::store::{Listed, Store, StoreError, StoredReport};

/// What a release is judged against: its baseline, when there is one, and the listed releases.
#[derive(Clone, Debug, Default)]
pub struct LineageBasis {
    /// The baseline and its facts.
    pub baseline: Option<Baseline>,
    /// The store's listed (accepted or needing review) releases whose names match or resemble the asset's;
    /// none without a store.
    pub listed: Vec<ListedRelease>,
}

/// A release to compare with.
#[derive(Clone, Debug)]
pub struct Baseline {
    /// Who it is.
    pub release: PreviousRelease,
    /// What its scan learnt.
    pub facts: Facts,
}

impl LineageBasis {
    /// The lineage of a release with these facts.
    pub fn assess(&self, facts: &Facts) -> Lineage {
        let baseline = self.baseline.as_ref().map(|baseline| (baseline.release.clone(), &baseline.facts));
        Lineage::assess(facts, baseline, &self.listed)
    }

    /// The basis a store gives a release named `name`: its newest listed release of that name, and the listed
    /// releases whose names match or resemble `name` (the only ones the name checks can use). `submission_id`
    /// (the release being judged) is never its own baseline.
    pub async fn from_store(store: &Store, name: &str, submission_id: Option<&str>) -> Result<Self, StoreError> {
        let wanted = names::normalise(name);
        let related = |listed: &str| names::normalise(listed) == wanted || names::resemblance(name, listed).is_some();
        let listed: Vec<Listed> = store
            .list_named(&related)
            .await?
            .into_iter()
            .filter(|release| {
                release.verdict != Verdict::Rejected && Some(release.submission_id.as_str()) != submission_id
            })
            .collect();
        let baseline = match newest_of(&listed, name) {
            Some(release) => Some(Baseline::stored(store, &release.submission_id).await?),
            None => None,
        };
        let listed = listed
            .into_iter()
            .map(|release| ListedRelease { name: release.name, publisher: release.publisher })
            .collect();
        Ok(Self { baseline, listed })
    }
}

impl Baseline {
    /// The current report of a stored submission as a baseline.
    pub async fn stored(store: &Store, submission_id: &str) -> Result<Self, StoreError> {
        let stored = store
            .current(submission_id)
            .await?
            .ok_or_else(|| StoreError::Location(format!("the store has no report for submission {submission_id}")))?;
        Self::from_stored(&stored)
    }

    /// A stored report as a baseline; it must have facts (a refused submission has none).
    pub fn from_stored(stored: &StoredReport) -> Result<Self, StoreError> {
        let id = &stored.submission_id;
        let bytes = stored.files.get(FACTS_FILE).ok_or_else(|| {
            StoreError::Location(format!("submission {id} was refused before its scan: it has no {FACTS_FILE}"))
        })?;
        let facts: Facts = serde_json::from_slice(bytes)
            .map_err(|err| StoreError::Corrupt(format!("{FACTS_FILE} of submission {id}: {err}")))?;
        let release = PreviousRelease {
            name: facts.asset.name.clone(),
            version: facts.asset.version.clone(),
            publisher: facts.asset.publisher.clone(),
            verdict: stored.report.verdict.to_string(),
            submission_id: Some(id.clone()),
        };
        Ok(Self { release, facts })
    }

    /// A release just scanned (`assay scan --baseline PATH`, `assay diff`); `None` when it could not be read.
    pub fn scanned(output: &ScanOutput) -> Option<Self> {
        let facts = output.facts.clone()?;
        let release = PreviousRelease {
            name: facts.asset.name.clone(),
            version: facts.asset.version.clone(),
            publisher: facts.asset.publisher.clone(),
            verdict: output.report.verdict.to_string(),
            submission_id: None,
        };
        Some(Self { release, facts })
    }
}

/// The baseline among `listed` for `name`: of the releases of that name (as cargo compares names), the
/// accepted ones if any, else those needing review; of those the highest version, then the latest verdict.
pub fn newest_of<'a>(listed: &'a [Listed], name: &str) -> Option<&'a Listed> {
    let wanted = names::normalise(name);
    let same_name: Vec<&Listed> = listed.iter().filter(|release| names::normalise(&release.name) == wanted).collect();
    let accepted: Vec<&Listed> =
        same_name.iter().copied().filter(|release| release.verdict == Verdict::Accepted).collect();
    let candidates = if accepted.is_empty() { same_name } else { accepted };
    candidates.into_iter().max_by(|a, b| {
        let version = |release: &Listed| semver::Version::parse(&release.version).ok();
        version(a).cmp(&version(b)).then_with(|| a.at.cmp(&b.at))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, name: &str, version: &str, verdict: Verdict, at: &str) -> Listed {
        Listed {
            submission_id: id.into(),
            name: name.into(),
            version: version.into(),
            publisher: Some("acme".into()),
            verdict,
            revision: 0,
            at: at.into(),
        }
    }

    #[test]
    fn the_baseline_is_the_highest_accepted_version_else_the_highest_needing_review() {
        let releases = [
            listed("a", "echo", "1.0.0", Verdict::Accepted, "2026-01-01T00:00:00Z"),
            listed("b", "echo", "1.10.0", Verdict::NeedsReview, "2026-01-03T00:00:00Z"),
            listed("c", "echo", "1.2.0", Verdict::Accepted, "2026-01-02T00:00:00Z"),
            listed("d", "other", "9.0.0", Verdict::Accepted, "2026-01-02T00:00:00Z"),
        ];
        assert_eq!(newest_of(&releases, "echo").map(|r| r.submission_id.as_str()), Some("c"));
        assert_eq!(newest_of(&releases[1..2], "Echo").map(|r| r.submission_id.as_str()), Some("b"));
        assert!(newest_of(&releases, "nothing").is_none());
    }
}

//! A whole store judged again: every submission's current report, each changed verdict recorded as the
//! next revision with its event and, given a broker, published on `<prefix>.reports` like a first verdict.

use assay_report::Verdict;
use jiff::Timestamp;
use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection, ConnectionProperties};
use serde::Serialize;

use super::judge::{Outcome, RejudgeError, Rejudger};
use super::reasons::Difference;
use crate::pipeline;
use crate::store::{EventDraft, Revised, Store, StoreError, VerdictEvent};
use crate::worker::Topology;
use crate::worker::publish::{self, PublishError, ReportMessage};

/// A sweep stopped: the store or the broker failed. What it recorded before stays recorded.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The broker could not be reached or set up.
    #[error("cannot use the broker: {0}")]
    Broker(#[from] lapin::Error),
    /// A changed verdict could not be published (it is recorded; the next re-judgement of the submission with
    /// a broker publishes it).
    #[error("the new verdict of {submission_id} is stored but could not be published: {source}")]
    Publish {
        /// The submission.
        submission_id: String,
        /// The cause.
        source: PublishError,
    },
}

/// Where changed verdicts are published: the reports exchange of a prefix, on a channel with publisher
/// confirms.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
    topology: Topology,
}

impl Publisher {
    /// Publishes on `channel` (publisher confirms on) to the reports exchange of `topology`.
    pub fn new(channel: Channel, topology: Topology) -> Self {
        Self { channel, topology }
    }

    /// Connects to `amqp` and declares the reports exchange under `prefix`; keep the connection while
    /// publishing.
    pub async fn connect(amqp: &str, prefix: &str) -> Result<(Connection, Self), SweepError> {
        let connection = Connection::connect(amqp, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        // The delivery limit is the submissions queue's business; only the reports exchange is declared here.
        let topology = Topology::new(prefix, 0);
        topology.declare_reports(&channel).await?;
        Ok((connection, Self { channel, topology }))
    }

    /// Publishes revision `event` of a submission with its envelopes.
    async fn publish(&self, event: &VerdictEvent, envelopes: &[u8]) -> Result<(), SweepError> {
        let message = ReportMessage {
            submission_id: &event.submission_id,
            verdict: event.verdict,
            previous_verdict: event.previous_verdict,
            revision: event.revision,
        };
        publish::report(&self.channel, &self.topology, &message, envelopes)
            .await
            .map_err(|source| SweepError::Publish { submission_id: event.submission_id.clone(), source })
    }
}

/// The asset a change is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssetRef {
    /// Crate name.
    pub name: String,
    /// Version.
    pub version: String,
}

/// A verdict that changed (or, in a dry run, would).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The submission.
    pub submission_id: String,
    /// Its asset.
    pub asset: AssetRef,
    /// The verdict before.
    pub previous_verdict: Verdict,
    /// The verdict after.
    pub verdict: Verdict,
    /// Why, sorted.
    pub reasons: Vec<String>,
    /// The findings that make the difference.
    pub difference: Difference,
    /// The revision recorded (`None` in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
}

/// What a sweep did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// The changed verdicts, by submission id.
    pub changes: Vec<Change>,
    /// Submissions whose verdict stays.
    pub unchanged: usize,
    /// Submissions that could not be judged again, with why (they keep their verdict).
    pub skipped: Vec<(String, RejudgeError)>,
    /// Submissions another process revised during the sweep (its revision stands).
    pub superseded: usize,
}

/// Judges every stored submission again; records and publishes the changes unless `dry_run`.
pub async fn sweep(
    store: &Store,
    rejudger: &Rejudger<'_>,
    dry_run: bool,
    publisher: Option<&Publisher>,
) -> Result<Sweep, SweepError> {
    let at = Timestamp::now();
    let mut sweep = Sweep::default();
    for listed in store.list().await? {
        match rejudge_one(store, &listed.submission_id, rejudger, at, dry_run, publisher).await? {
            Rejudgement::Unchanged => sweep.unchanged += 1,
            Rejudgement::Changed(change) => sweep.changes.push(*change),
            Rejudgement::Skipped(why) => sweep.skipped.push((listed.submission_id, why)),
            Rejudgement::Superseded => sweep.superseded += 1,
            Rejudgement::NotStored => {}
        }
    }
    Ok(sweep)
}

/// What became of one submission.
#[derive(Debug)]
pub enum Rejudgement {
    /// Its verdict stays.
    Unchanged,
    /// Its verdict changed (or would, in a dry run).
    Changed(Box<Change>),
    /// It could not be judged again; it keeps its verdict.
    Skipped(RejudgeError),
    /// Another process revised it meanwhile; that revision stands.
    Superseded,
    /// The store has no report of it.
    NotStored,
}

/// Judges one stored submission again at `at`. With a publisher, its current revision is first published if
/// an earlier run recorded it without publishing it (a crash between the two), then a new revision is
/// recorded and published.
pub async fn rejudge_one(
    store: &Store,
    submission_id: &str,
    rejudger: &Rejudger<'_>,
    at: Timestamp,
    dry_run: bool,
    publisher: Option<&Publisher>,
) -> Result<Rejudgement, SweepError> {
    let Some(stored) = store.current(submission_id).await? else { return Ok(Rejudgement::NotStored) };
    if let Some(publisher) = publisher.filter(|_| !stored.published && !dry_run) {
        let history = store.history(submission_id).await?;
        if let Some(event) = history.iter().find(|event| event.revision == stored.revision) {
            publisher.publish(event, stored.envelopes()).await?;
            store.mark_published(submission_id, stored.revision).await?;
        }
    }
    let rejudged = match rejudger.judge(&stored, at) {
        Ok(Outcome::Unchanged) => return Ok(Rejudgement::Unchanged),
        Ok(Outcome::Changed(rejudged)) => rejudged,
        Err(err) => return Ok(Rejudgement::Skipped(err)),
    };
    let mut change = Change {
        submission_id: stored.submission_id.clone(),
        asset: AssetRef { name: stored.name.clone(), version: stored.version.clone() },
        previous_verdict: rejudged.previous_verdict,
        verdict: rejudged.output.report.verdict,
        reasons: rejudged.reasons.clone(),
        difference: rejudged.difference.clone(),
        revision: None,
    };
    if dry_run {
        return Ok(Rejudgement::Changed(Box::new(change)));
    }
    let files = pipeline::report_files(&rejudged.output).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let draft = EventDraft {
        verdict: change.verdict,
        reason: change.reasons.join("; "),
        ..crate::store::draft_for(&rejudged.output.report, String::new())
    };
    let event = match store.revise(&stored, &files, draft).await? {
        Revised::Recorded(event) => event,
        Revised::Superseded => return Ok(Rejudgement::Superseded),
    };
    change.revision = Some(event.revision);
    if let Some(publisher) = publisher {
        publisher.publish(&event, files.get(pipeline::DSSE_FILE).map_or(&[][..], Vec::as_slice)).await?;
        store.mark_published(&event.submission_id, event.revision).await?;
    }
    Ok(Rejudgement::Changed(Box::new(change)))
}

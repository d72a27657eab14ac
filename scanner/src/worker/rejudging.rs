//! Re-judgement on the broker: when a worker sees a new advisory database (or starts with a new rule set),
//! the first worker to claim that round in the store puts one `round` message on `<prefix>.rejudge`; whoever
//! consumes it fans out one `submission` message per stored submission, then acks the round, so a crash in
//! the middle of the fan-out redelivers the round and loses nothing (the second fan-out's duplicates judge to
//! "unchanged"). Every worker consumes the queue; each `submission` message judges one stored report again.

use std::sync::Arc;

use assay_report::untrusted::escape;
use jiff::Timestamp;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicPublishOptions};
use lapin::{BasicProperties, Channel};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::Shared;
use crate::rejudge::{Basis, Publisher, Rejudgement, Rejudger, rejudge_one};

/// Schema id of re-judgement messages.
pub const REJUDGE_SCHEMA: &str = "assay.rejudge/v1";

/// A message on `<prefix>.rejudge`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RejudgeMessage {
    /// Fan out: one `submission` message per stored submission.
    Round {
        /// [`REJUDGE_SCHEMA`].
        schema: String,
        /// The round: the advisory database and rule set it judges by.
        round: String,
        /// The commit date of the round's advisory database, when known.
        #[serde(default)]
        advisory_db_date: Option<String>,
    },
    /// Judge one stored submission again by the consuming worker's database and rule set.
    Submission {
        /// [`REJUDGE_SCHEMA`].
        schema: String,
        /// The round it belongs to.
        round: String,
        /// The commit date of the round's advisory database, when known.
        #[serde(default)]
        advisory_db_date: Option<String>,
        /// The submission.
        submission_id: String,
    },
}

/// The round a worker judges by: its advisory database and rule set.
pub(super) fn round_of(shared: &Shared) -> String {
    format!("{} rules:{}", shared.db().identity.label(), shared.rules.identity().sha256)
}

/// Claims this worker's current round in the store and, when it is new, puts its `round` message on the
/// queue. Safe to call again: the claim decides.
pub(super) async fn start_round(shared: &Shared, publisher: &Channel) -> Result<(), String> {
    let round = round_of(shared);
    let worker = format!("pid {} on {}", std::process::id(), hostname());
    if !shared.store.claim_round(&round, &worker).await.map_err(|err| err.to_string())? {
        return Ok(());
    }
    info!(round = %round, "new advisory database or rule set: starting a re-judgement round");
    let message = RejudgeMessage::Round {
        schema: REJUDGE_SCHEMA.to_owned(),
        round,
        advisory_db_date: shared.db().identity.date.clone(),
    };
    enqueue(publisher, &shared.config.topology.rejudge, &message).await
}

/// Handles one delivery from `<prefix>.rejudge`: ack when done, requeue on a failure that may pass, and a
/// message that is not one goes to the dead-letter queue.
pub(super) async fn handle(delivery: Delivery, shared: &Arc<Shared>, publisher: &Channel) {
    let message: RejudgeMessage = match serde_json::from_slice(&delivery.data) {
        Ok(message) => message,
        Err(err) => {
            warn!(error = %escape(&err.to_string()), "not a re-judgement message; dead-lettering it");
            let _ = delivery.nack(BasicNackOptions { requeue: false, multiple: false }).await;
            return;
        }
    };
    let done = match &message {
        RejudgeMessage::Round { round, advisory_db_date, .. } => {
            fan_out(round, advisory_db_date.as_deref(), shared, publisher).await
        }
        RejudgeMessage::Submission { submission_id, round, advisory_db_date, .. } => {
            match ready_for(round, advisory_db_date.as_deref(), shared).await {
                Ok(()) => judge_again(submission_id, shared, publisher).await,
                Err(reason) => {
                    // Another worker (or this one, after its next database check) has what the round needs; the
                    // delivery limit sends the message to the dead-letter queue if none ever does.
                    tokio::time::sleep(NOT_READY_BACKOFF).await;
                    Err(reason)
                }
            }
        }
    };
    match done {
        Ok(()) => {
            let _ = delivery.ack(BasicAckOptions::default()).await;
        }
        Err(reason) => {
            warn!(reason = %escape(&reason), "re-judgement failed; returning the message to the queue");
            let _ = delivery.nack(BasicNackOptions { requeue: true, multiple: false }).await;
        }
    }
}

/// How long a worker waits before returning a message of a round it cannot judge yet.
const NOT_READY_BACKOFF: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether this worker may judge a message of `round` (its database dated `round_date`): when it judges by
/// the same database and rules, or by a database at least as new (judging by newer advisories is what a later
/// round does anyway; a message of a superseded round must not wait). A worker whose database is older reads
/// it again first, and leaves the message to another worker if it is still older.
async fn ready_for(round: &str, round_date: Option<&str>, shared: &Arc<Shared>) -> Result<(), String> {
    if round_of(shared) == round || !newer_than_mine(round_date, shared) {
        return Ok(());
    }
    let reloading = Arc::clone(shared);
    let _ = tokio::task::spawn_blocking(move || reloading.reload_db()).await;
    if round_of(shared) == round || !newer_than_mine(round_date, shared) {
        return Ok(());
    }
    Err(format!(
        "this worker's advisory database ({}) is older than the round's ({round}): leaving it to a worker that has it",
        shared.db().identity.label()
    ))
}

/// Whether a database dated `date` is newer than this worker's (unknown dates are not newer).
fn newer_than_mine(date: Option<&str>, shared: &Shared) -> bool {
    let parse = |date: Option<&str>| date.and_then(|d| d.parse::<jiff::Timestamp>().ok());
    match (parse(date), parse(shared.db().identity.date.as_deref())) {
        (Some(round), Some(mine)) => round > mine,
        _ => false,
    }
}

/// One `submission` message per stored submission, each confirmed by the broker.
async fn fan_out(round: &str, date: Option<&str>, shared: &Shared, publisher: &Channel) -> Result<(), String> {
    let listed = shared.store.list().await.map_err(|err| err.to_string())?;
    info!(round = %round, submissions = listed.len(), "fanning out the re-judgement round");
    for entry in listed {
        let message = RejudgeMessage::Submission {
            schema: REJUDGE_SCHEMA.to_owned(),
            round: round.to_owned(),
            advisory_db_date: date.map(str::to_owned),
            submission_id: entry.submission_id,
        };
        enqueue(publisher, &shared.config.topology.rejudge, &message).await?;
    }
    Ok(())
}

/// Judges one stored submission again by this worker's database and rule set; records and publishes a change.
async fn judge_again(submission_id: &str, shared: &Shared, publisher: &Channel) -> Result<(), String> {
    let db = shared.db();
    let rejudger =
        Rejudger { rules: &shared.rules, basis: Basis::Database(&db), signer: shared.config.scan.signer.as_ref() };
    let reports = Publisher::new(publisher.clone(), shared.config.topology.clone());
    let outcome = rejudge_one(&shared.store, submission_id, &rejudger, Timestamp::now(), false, Some(&reports))
        .await
        .map_err(|err| err.to_string())?;
    match outcome {
        Rejudgement::Changed(change) => {
            shared.metrics.rejudged();
            info!(
                submission_id = %submission_id,
                previous_verdict = %change.previous_verdict,
                verdict = %change.verdict,
                reasons = %escape(&change.reasons.join("; ")),
                "verdict changed"
            );
        }
        Rejudgement::Skipped(why) => {
            warn!(submission_id = %submission_id, reason = %why, "cannot judge again; it keeps its verdict");
        }
        Rejudgement::Unchanged | Rejudgement::Superseded | Rejudgement::NotStored => {}
    }
    Ok(())
}

/// Publishes `message` on the queue `queue` (default exchange), persistent, and waits for the confirm.
async fn enqueue(channel: &Channel, queue: &str, message: &RejudgeMessage) -> Result<(), String> {
    let body = serde_json::to_vec(message).map_err(|err| err.to_string())?;
    let properties = BasicProperties::default().with_content_type("application/json".into()).with_delivery_mode(2);
    let confirm = channel
        .basic_publish("".into(), queue.into(), BasicPublishOptions::default(), &body, properties)
        .await
        .map_err(|err| format!("cannot publish to {queue}: {err}"))?
        .await
        .map_err(|err| format!("no confirm from {queue}: {err}"))?;
    if confirm.is_ack() { Ok(()) } else { Err(format!("the broker refused a message to {queue}")) }
}

/// This machine's name, for the round's claim (best effort).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "unknown".to_owned(), |name| name.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_kind() {
        let message = RejudgeMessage::Submission {
            schema: REJUDGE_SCHEMA.to_owned(),
            round: "git:abc rules:00".to_owned(),
            advisory_db_date: Some("2026-12-01T00:00:00Z".to_owned()),
            submission_id: "s-1".to_owned(),
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["kind"], "submission");
        assert_eq!(serde_json::from_value::<RejudgeMessage>(json).unwrap(), message);
        assert!(serde_json::from_slice::<RejudgeMessage>(br#"{"kind":"other"}"#).is_err());
    }
}

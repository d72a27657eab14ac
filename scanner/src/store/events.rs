//! Verdict events: the append-only history of one submission's verdicts, each event chained to the one
//! before it by a hash, so a history edited after the fact no longer checks.

use assay_report::Verdict;
use assay_report::digest::sha256_hex;
use serde::{Deserialize, Serialize};

/// One verdict of a submission: the first (revision 0) or a re-judgement that changed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictEvent {
    /// The submission.
    pub submission_id: String,
    /// 0 for the first verdict, then one more per change.
    pub revision: u32,
    /// The verdict before this one (`None` for revision 0).
    pub previous_verdict: Option<Verdict>,
    /// The verdict from this event on.
    pub verdict: Verdict,
    /// Why: `scanned`, or what changed it (the advisories, the rule-set digest).
    pub reason: String,
    /// The advisory database it was judged by ([`assay_report::audit::DatabaseIdentity::label`]).
    pub advisory_db: String,
    /// The rule set's digest.
    pub rules_sha256: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The hash of the event before (`None` for revision 0).
    pub previous_hash: Option<String>,
    /// sha256 over this event's other fields (see [`VerdictEvent::digest`]).
    pub hash: String,
}

/// What an event says, before it is chained.
#[derive(Clone, Debug)]
pub struct EventDraft {
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reason: String,
    /// The advisory database's label.
    pub advisory_db: String,
    /// The rule set's digest.
    pub rules_sha256: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// Where a history stops checking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revision {revision}: {problem}")]
pub struct ChainBreak {
    /// The first event that does not check.
    pub revision: u32,
    /// What is wrong with it.
    pub problem: String,
}

impl VerdictEvent {
    /// The event after `previous` (or the first one) of `submission_id`.
    pub fn chain(submission_id: &str, previous: Option<&VerdictEvent>, draft: EventDraft) -> Self {
        let mut event = Self {
            submission_id: submission_id.to_owned(),
            revision: previous.map_or(0, |p| p.revision + 1),
            previous_verdict: previous.map(|p| p.verdict),
            verdict: draft.verdict,
            reason: draft.reason,
            advisory_db: draft.advisory_db,
            rules_sha256: draft.rules_sha256,
            at: draft.at,
            previous_hash: previous.map(|p| p.hash.clone()),
            hash: String::new(),
        };
        event.hash = event.digest();
        event
    }

    /// sha256 over every field but `hash`, as compact JSON in declaration order.
    pub fn digest(&self) -> String {
        let unhashed = Self { hash: String::new(), ..self.clone() };
        // Serialising a struct of strings, numbers and enums cannot fail.
        let bytes = serde_json::to_vec(&unhashed).unwrap_or_default();
        sha256_hex(&bytes)
    }
}

/// Checks a submission's history, oldest first: revisions 0, 1, … without gaps, each hash its own
/// digest, each event naming the hash and verdict of the one before.
pub fn check(events: &[VerdictEvent]) -> Result<(), ChainBreak> {
    let mut previous: Option<&VerdictEvent> = None;
    for (position, event) in events.iter().enumerate() {
        let problem = |problem: String| ChainBreak { revision: event.revision, problem };
        let expected = u32::try_from(position).unwrap_or(u32::MAX);
        if event.revision != expected {
            return Err(problem(format!("expected revision {expected}: an event is missing or out of order")));
        }
        if event.hash != event.digest() {
            return Err(problem("its hash does not match its content: the event was edited".to_owned()));
        }
        if event.previous_hash.as_deref() != previous.map(|p| p.hash.as_str()) {
            return Err(problem("it does not name the hash of the event before it".to_owned()));
        }
        if event.previous_verdict != previous.map(|p| p.verdict) {
            return Err(problem("its previous verdict is not the verdict of the event before it".to_owned()));
        }
        if let Some(first) = events.first().filter(|first| first.submission_id != event.submission_id) {
            return Err(problem(format!("it belongs to {}, not {}", event.submission_id, first.submission_id)));
        }
        previous = Some(event);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(verdict: Verdict, reason: &str) -> EventDraft {
        EventDraft {
            verdict,
            reason: reason.to_owned(),
            advisory_db: "git:abc".to_owned(),
            rules_sha256: "00".to_owned(),
            at: "2026-12-05T00:00:00Z".to_owned(),
        }
    }

    fn history() -> Vec<VerdictEvent> {
        let first = VerdictEvent::chain("s-1", None, draft(Verdict::Accepted, "scanned"));
        let second = VerdictEvent::chain("s-1", Some(&first), draft(Verdict::Rejected, "new advisory RUSTSEC-1"));
        let third = VerdictEvent::chain("s-1", Some(&second), draft(Verdict::Accepted, "advisory withdrawn"));
        vec![first, second, third]
    }

    #[test]
    fn a_chained_history_checks_and_names_the_previous_verdict() {
        let events = history();
        assert_eq!(check(&events), Ok(()));
        assert_eq!(events[1].previous_verdict, Some(Verdict::Accepted));
        assert_eq!(events[2].revision, 2);
    }

    #[test]
    fn an_edited_removed_or_reordered_event_breaks_the_chain() {
        let mut edited = history();
        edited[1].verdict = Verdict::Accepted;
        assert_eq!(check(&edited).unwrap_err().revision, 1);

        // Re-hashing the edit does not help: the next event names the old hash.
        edited[1].hash = edited[1].digest();
        assert_eq!(check(&edited).unwrap_err().revision, 2);

        let mut removed = history();
        removed.remove(1);
        assert_eq!(check(&removed).unwrap_err().revision, 2);

        let mut reordered = history();
        reordered.swap(1, 2);
        assert!(check(&reordered).is_err());
    }
}

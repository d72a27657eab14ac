//! One delivery, start to finish: parse, skip if already judged, fetch, scan, store, publish, ack.
//! Every path ends in one [`Disposition`] (ack, or dead-letter with a reason, then ack) or a [`Retry`]
//! (requeue, with its cause chain; judged `scan-abandoned` on the last delivery instead).

use std::sync::Arc;

use assay_report::untrusted::escape;
use assay_report::{Finding, Subject, SubjectKind, codes};
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use tracing::{Instrument, error, info, info_span, warn};

use super::disposition::{Disposition, Retry, chain};
use super::fetch::{self, FetchError};
use super::message::{self, Refused, Submission};
use super::{Shared, publish};
use crate::lineage::LineageBasis;
use crate::pipeline::{self, ClaimedAsset, ScanOutput};
use crate::store::{self, Commit, NewSubmission, StoreError, StoredReport};
use assay_load_runner::cancel::Cancel;

/// Handles one delivery; never panics on its content.
pub(super) async fn handle(delivery: Delivery, shared: &Arc<Shared>, publisher: &Channel) {
    let parsed = message::parse(&delivery.data);
    let id = match &parsed {
        Ok(submission) => submission.submission_id.clone(),
        Err(refused) => refused.submission_id.clone().unwrap_or_else(|| "unknown".to_owned()),
    };
    let span = info_span!("submission", submission_id = %id);
    async {
        if delivery.redelivered {
            shared.metrics.redeliveries();
        }
        let disposition = match &parsed {
            Ok(submission) => judge(submission, &delivery.data, shared, publisher).await,
            Err(refused) => refuse(refused, None, &delivery.data, shared, publisher).await,
        };
        let mut done = carry_out(disposition, &delivery, shared, publisher).await;
        // The broker dead-letters after the delivery limit; the last delivery is judged instead, so a backend
        // gets a verdict and the dead letter says why.
        if let (Err(retry), Ok(submission)) = (&done, &parsed)
            && last_delivery(&delivery, shared)
        {
            let abandoned = abandon(submission, retry, shared, publisher).await;
            done = carry_out(abandoned, &delivery, shared, publisher).await;
        }
        match done {
            Ok(()) => {
                if let Err(err) = delivery.ack(BasicAckOptions::default()).await {
                    warn!(error = %err, "cannot ack; the broker will redeliver and the stored report will be re-published");
                }
            }
            Err(retry) => {
                shared.metrics.retried();
                warn!(reason = %escape(&chain(&retry)), "retryable failure; returning the submission to the queue");
                let requeue = BasicNackOptions { requeue: true, multiple: false };
                if let Err(err) = delivery.nack(requeue).await {
                    warn!(error = %err, "cannot nack; the broker will redeliver after the connection closes");
                }
            }
        }
    }
    .instrument(span)
    .await;
}

/// Does what a disposition says short of the ack: a dead letter is published first. `Ok` means ack.
async fn carry_out(
    disposition: Result<Disposition, Retry>,
    delivery: &Delivery,
    shared: &Shared,
    publisher: &Channel,
) -> Result<(), Retry> {
    match disposition? {
        Disposition::Ack => Ok(()),
        Disposition::DeadLetter(refused) => dead_letter(&refused, delivery, shared, publisher).await,
    }
}

/// Judges a valid submission: re-publishes its stored report, or fetches, scans, stores and publishes.
async fn judge(
    submission: &Submission,
    body: &[u8],
    shared: &Arc<Shared>,
    publisher: &Channel,
) -> Result<Disposition, Retry> {
    let (name, version, id) = (&submission.asset.name, &submission.asset.version, &submission.submission_id);
    // One verdict per id, whatever name and version this message gives it.
    let claim = shared.store.claim_of(id).await.map_err(Retry::ReadStore)?;
    if let Some((owner_name, owner_version)) = claim.filter(|(n, v)| (n, v) != (name, version)) {
        return Ok(Disposition::DeadLetter(claimed_by_another(id, &owner_name, &owner_version)));
    }
    if let Some(stored) = shared.store.current(id).await.map_err(Retry::ReadStore)? {
        // Its current verdict stands, whatever rule set this worker has: re-judgement keeps it current.
        if stored.report.subject.sha256 == submission.archive.sha256 {
            info!(verdict = %stored.report.verdict, revision = stored.revision, "already judged; re-publishing the stored report");
            shared.metrics.republished();
            publish_stored(&stored, shared, publisher).await?;
            return Ok(Disposition::Ack);
        }
        return Ok(Disposition::DeadLetter(Refused {
            submission_id: Some(id.clone()),
            reason: "this submission id already has a report for another archive".to_owned(),
        }));
    }

    // The release is judged against the store as it is now: the newest listed release of its name, and the
    // listed names like its own.
    let lineage = LineageBasis::from_store(&shared.store, name, Some(id)).await.map_err(Retry::ReadStore)?;
    if let Some(baseline) = &lineage.baseline {
        let release = &baseline.release;
        let id = release.submission_id.as_deref().unwrap_or_default();
        info!(baseline = %escape(&release.version), baseline_submission = %id, "judged against the last accepted release");
    }
    info!(uri = %escape(&submission.archive.uri), "scanning");
    shared.metrics.in_flight(1);
    let cancel = Cancel::default();
    let mut work = {
        let (shared, submission, cancel) = (Arc::clone(shared), submission.clone(), cancel.clone());
        tokio::task::spawn_blocking(move || fetch_and_scan(&submission, &shared, lineage, cancel))
    };
    let result = match tokio::time::timeout(shared.config.scan_timeout, &mut work).await {
        Ok(joined) => Some(joined),
        Err(_) => {
            // Stop it for real: its processes are killed and its scratch removed before this task (and the
            // concurrency permit it holds) moves on, so a redelivery never runs beside a leftover.
            cancel.cancel();
            let _ = work.await;
            None
        }
    };
    shared.metrics.in_flight(-1);
    let output = match result {
        None => {
            let seconds = shared.config.scan_timeout.as_secs();
            warn!(timeout_s = seconds, "the scan took too long; stopped");
            let finding = Finding::new(
                &codes::SCAN_TIMEOUT,
                format!("the scan did not finish within the worker's {seconds} s scan timeout and was stopped"),
            )
            .help("make the service build and answer faster, or ask the marketplace about its limits");
            return judge_unscanned(submission, finding, shared, publisher).await;
        }
        Some(Err(join)) => return Err(Retry::Task(join)),
        Some(Ok(Err(ScanFailure::Retry(retry)))) => return Err(retry),
        Some(Ok(Err(ScanFailure::Refuse(reason)))) => {
            let refused = Refused { submission_id: Some(id.clone()), reason };
            return refuse(&refused, Some(submission), body, shared, publisher).await;
        }
        Some(Ok(Ok(output))) => output,
    };
    shared.metrics.scanned(&output.report);
    let row = NewSubmission {
        id,
        name,
        version,
        publisher: Some(submission.asset.publisher.as_str()),
        archive_sha256: &submission.archive.sha256,
    };
    let stored = match commit(&row, &output, "scanned", shared).await? {
        Commit::Stored(stored) => {
            info!(verdict = %stored.report.verdict, "stored");
            stored
        }
        Commit::AlreadyStored(stored) => {
            info!(verdict = %stored.report.verdict, "another worker stored this submission first; publishing its report");
            stored
        }
        Commit::ClaimedByAnother(owner_name, owner_version) => {
            return Ok(Disposition::DeadLetter(claimed_by_another(id, &owner_name, &owner_version)));
        }
    };
    publish_stored(&stored, shared, publisher).await?;
    Ok(Disposition::Ack)
}

/// The refusal of a message whose id already belongs to another asset: dead-lettered, no second verdict.
fn claimed_by_another(id: &str, owner_name: &str, owner_version: &str) -> Refused {
    Refused {
        submission_id: Some(id.to_owned()),
        reason: format!(
            "submission id {id} already belongs to {owner_name} {owner_version}, which has (or is getting) its \
             verdict; this message gets none: submit under a new id"
        ),
    }
}

/// Why a scan did not produce a report.
enum ScanFailure {
    /// It may pass on a later delivery.
    Retry(Retry),
    /// The archive is not the one the message promised (or not one this worker fetches): never.
    Refuse(String),
}

fn fetch_and_scan(
    submission: &Submission,
    shared: &Shared,
    lineage: LineageBasis,
    cancel: Cancel,
) -> Result<ScanOutput, ScanFailure> {
    let scratch = shared.config.scan.scratch_parent.clone().unwrap_or_else(std::env::temp_dir);
    let fetched = fetch::fetch(&submission.archive, &scratch, &shared.config.fetch).map_err(|err| match err {
        FetchError::Retryable(reason) => ScanFailure::Retry(Retry::Fetch(reason)),
        FetchError::Mismatch(reason) => ScanFailure::Refuse(reason),
    })?;
    let mut config = shared.config.scan.clone();
    config.cancel = cancel;
    config.lineage = Some(lineage);
    config.resource_uri = Some(submission.listing.clone().unwrap_or_else(|| submission.archive.uri.clone()));
    config.claimed = Some(ClaimedAsset {
        name: submission.asset.name.clone(),
        version: submission.asset.version.clone(),
        publisher: submission.asset.publisher.clone(),
    });
    let output = pipeline::scan(&fetched.path, &shared.db(), &shared.rules, &config, &mut ())
        .map_err(|err| ScanFailure::Retry(Retry::Scan(err)))?;
    if output.report.subject.sha256 != submission.archive.sha256 {
        return Err(ScanFailure::Retry(Retry::ScratchChanged));
    }
    Ok(output)
}

/// Stores `output` as the first verdict of a submission.
async fn commit(row: &NewSubmission<'_>, output: &ScanOutput, reason: &str, shared: &Shared) -> Result<Commit, Retry> {
    let files = pipeline::report_files(output).map_err(|err| Retry::Store(StoreError::Corrupt(err.to_string())))?;
    shared.store.commit(row, &files, store::draft_for(&output.report, reason)).await.map_err(Retry::Store)
}

/// Publishes a stored report as the message of its revision (a re-publication has the same message id).
async fn publish_stored(stored: &StoredReport, shared: &Shared, publisher: &Channel) -> Result<(), Retry> {
    let previous_verdict = match stored.revision {
        0 => None,
        _ => {
            let history = shared.store.history(&stored.submission_id).await.map_err(Retry::ReadStore)?;
            history.iter().find(|event| event.revision == stored.revision).and_then(|event| event.previous_verdict)
        }
    };
    let message = publish::ReportMessage {
        submission_id: &stored.submission_id,
        verdict: stored.report.verdict,
        previous_verdict,
        revision: stored.revision,
    };
    publish::report(publisher, &shared.config.topology, &message, stored.envelopes()).await?;
    Ok(())
}

/// A submission that cannot be scanned: a rejected, signed report when its id is readable (stored and
/// published like any other), then the message to the dead-letter queue with the reason.
async fn refuse(
    refused: &Refused,
    submission: Option<&Submission>,
    body: &[u8],
    shared: &Arc<Shared>,
    publisher: &Channel,
) -> Result<Disposition, Retry> {
    warn!(reason = %escape(&refused.reason), "refusing the submission");
    if let Some(id) = &refused.submission_id {
        let (name, version) = readable_identity(submission, body);
        let finding = Finding::new(&codes::SUBMISSION_INVALID, refused.reason.clone())
            .help("fix the message (assay.submission/v1, see the README) and submit again with a new submission_id");
        if let Some(taken) = judged_without_scan(id, &name, &version, submission, finding, shared, publisher).await? {
            let reason = format!("{}; besides, {}", refused.reason, taken.reason);
            return Ok(Disposition::DeadLetter(Refused { reason, ..taken }));
        }
    }
    Ok(Disposition::DeadLetter(refused.clone()))
}

/// A submission that was not scanned to the end (timeout): its signed rejected report is stored and
/// published, and the message acked; a backend is never left waiting.
async fn judge_unscanned(
    submission: &Submission,
    finding: Finding,
    shared: &Arc<Shared>,
    publisher: &Channel,
) -> Result<Disposition, Retry> {
    let (name, version, id) = (&submission.asset.name, &submission.asset.version, &submission.submission_id);
    Ok(match judged_without_scan(id, name, version, Some(submission), finding, shared, publisher).await? {
        None => Disposition::Ack,
        Some(taken) => Disposition::DeadLetter(taken),
    })
}

/// The last delivery failed for a reason that might pass: there will be no other, so the submission gets a
/// `scan-abandoned` verdict and the message goes to the dead-letter queue saying why.
async fn abandon(
    submission: &Submission,
    retry: &Retry,
    shared: &Arc<Shared>,
    publisher: &Channel,
) -> Result<Disposition, Retry> {
    let reason = chain(retry);
    warn!(reason = %escape(&reason), "the last delivery failed; judging the submission as abandoned");
    let limit = shared.config.topology.delivery_limit;
    let finding = Finding::new(
        &codes::SCAN_ABANDONED,
        format!("the submission could not be judged in {limit} deliveries; the last failure: {reason}"),
    )
    .help("check that the archive stays reachable at archive.uri, then submit again with a new submission_id");
    let (name, version, id) = (&submission.asset.name, &submission.asset.version, &submission.submission_id);
    let taken = judged_without_scan(id, name, version, Some(submission), finding, shared, publisher).await?;
    Ok(Disposition::DeadLetter(taken.unwrap_or(Refused {
        submission_id: Some(id.clone()),
        reason: format!("delivery limit ({limit}) reached: {reason}"),
    })))
}

/// Whether this is the last delivery the broker will make (`x-delivery-count` counts the earlier ones).
fn last_delivery(delivery: &Delivery, shared: &Shared) -> bool {
    let earlier = delivery.properties.headers().as_ref().and_then(|headers| {
        match headers.inner().get(&lapin::types::ShortString::from("x-delivery-count"))? {
            lapin::types::AMQPValue::LongLongInt(n) => u64::try_from(*n).ok(),
            lapin::types::AMQPValue::LongInt(n) => u64::try_from(*n).ok(),
            lapin::types::AMQPValue::LongUInt(n) => Some(u64::from(*n)),
            lapin::types::AMQPValue::ShortInt(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    });
    earlier.unwrap_or(0) + 1 >= u64::from(shared.config.topology.delivery_limit)
}

/// Stores and publishes the signed, rejected report of a submission that no scan judged (`finding` says
/// why). `Some(refusal)` when the id belongs to another asset: nothing was stored.
async fn judged_without_scan(
    id: &str,
    name: &str,
    version: &str,
    submission: Option<&Submission>,
    finding: Finding,
    shared: &Arc<Shared>,
    publisher: &Channel,
) -> Result<Option<Refused>, Retry> {
    let subject = Subject {
        name: submission
            .and_then(|s| s.archive.uri.rsplit('/').next().map(str::to_owned))
            .unwrap_or_else(|| format!("submission-{id}")),
        kind: SubjectKind::Crate,
        sha256: submission.map(|s| s.archive.sha256.clone()).unwrap_or_default(),
        size: submission.map_or(0, |s| s.archive.size),
    };
    let mut config = shared.config.scan.clone();
    config.resource_uri = submission.map(|s| s.listing.clone().unwrap_or_else(|| s.archive.uri.clone()));
    let output = pipeline::refusal(subject, finding, &shared.db(), &shared.rules, &config);
    shared.metrics.scanned(&output.report);
    let row = NewSubmission {
        id,
        name,
        version,
        publisher: None,
        archive_sha256: submission.map_or("", |s| s.archive.sha256.as_str()),
    };
    match commit(&row, &output, "refused before the scan", shared).await? {
        Commit::Stored(stored) | Commit::AlreadyStored(stored) => {
            publish_stored(&stored, shared, publisher).await?;
            Ok(None)
        }
        Commit::ClaimedByAnother(owner_name, owner_version) => {
            Ok(Some(claimed_by_another(id, &owner_name, &owner_version)))
        }
    }
}

/// Publishes the message to the dead-letter exchange with its reason in `x-assay-error`.
async fn dead_letter(
    refused: &Refused,
    delivery: &Delivery,
    shared: &Shared,
    publisher: &Channel,
) -> Result<(), Retry> {
    publish::dead_letter(
        publisher,
        &shared.config.topology,
        &delivery.data,
        &refused.reason,
        refused.submission_id.as_deref(),
    )
    .await
    .inspect_err(|err| error!(error = %chain(err), "cannot dead-letter"))?;
    shared.metrics.dead_lettered();
    Ok(())
}

/// Store folders for a refused submission: its name and version when they are safe, else `_invalid`.
fn readable_identity(submission: Option<&Submission>, body: &[u8]) -> (String, String) {
    if let Some(submission) = submission {
        return (submission.asset.name.clone(), submission.asset.version.clone());
    }
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |key: &str| {
        value["asset"][key]
            .as_str()
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= 128
                    && !s.starts_with('.')
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
            })
            .map_or_else(|| "_invalid".to_owned(), str::to_owned)
    };
    (field("name"), field("version"))
}

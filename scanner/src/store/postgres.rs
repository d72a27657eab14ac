//! The PostgreSQL store, for many workers on many machines: a pool of tokio-postgres connections, the
//! schema migrated by refinery at start (under an advisory lock, so workers starting together migrate
//! once). Each write is one transaction; the row of the submission is locked (`FOR UPDATE`) while its
//! revision is decided, so two workers never both record a revision or a first verdict.

use deadpool_postgres::{Manager, Pool, Transaction};
use tokio_postgres::{NoTls, Row};

use super::events::{EventDraft, VerdictEvent};
use super::{Commit, Listed, NewSubmission, Revised, StoreError, StoredReport};
use crate::pipeline::ReportFiles;
use assay_report::Verdict;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Connections per process: a worker's concurrent scans plus the fan-out, with room to spare.
const POOL_SIZE: usize = 8;
/// The advisory lock migrations run under (any constant shared by every Assay process).
const MIGRATION_LOCK: i64 = 0x6173_7361_7973_746f;

/// A report store in PostgreSQL.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("status", &self.pool.status()).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|err| StoreError::Location(format!("--store: not a PostgreSQL URL: {err}")))?;
        let pool = Pool::builder(Manager::new(config, NoTls))
            .max_size(POOL_SIZE)
            .build()
            .map_err(|err| StoreError::Location(format!("--store: {err}")))?;
        let mut client = pool.get().await?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
        let migrated = embedded::migrations::runner().run_async(&mut **client).await;
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
        migrated?;
        Ok(Self { pool })
    }

    pub(super) async fn claim_of(&self, submission_id: &str) -> Result<Option<(String, String)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_opt("SELECT name, version FROM submissions WHERE id = $1", &[&submission_id]).await?;
        Ok(row.map(|row| (row.get(0), row.get(1))))
    }

    pub(super) async fn current(&self, submission_id: &str) -> Result<Option<StoredReport>, StoreError> {
        let client = self.pool.get().await?;
        let Some(row) = client
            .query_opt(
                "SELECT s.name, s.version, s.current_revision, r.published FROM submissions s \
                 JOIN reports r ON r.submission_id = s.id AND r.revision = s.current_revision \
                 WHERE s.id = $1 AND s.state = 'judged'",
                &[&submission_id],
            )
            .await?
        else {
            return Ok(None);
        };
        let revision: i32 = row.get(2);
        let published: bool = row.get(3);
        let rows = client
            .query(
                "SELECT name, content FROM report_files WHERE submission_id = $1 AND revision = $2",
                &[&submission_id, &revision],
            )
            .await?;
        let files: ReportFiles = rows.iter().map(|file| (file.get(0), file.get(1))).collect();
        StoredReport::from_files(submission_id, (row.get(0), row.get(1)), (revision_of(revision)?, published), files)
            .map(Some)
    }

    pub(super) async fn commit(
        &self,
        submission: &NewSubmission<'_>,
        files: &ReportFiles,
        draft: EventDraft,
    ) -> Result<Commit, StoreError> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO submissions (id, name, version, publisher, archive_sha256) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &submission.id,
                    &submission.name,
                    &submission.version,
                    &submission.publisher,
                    &submission.archive_sha256,
                ],
            )
            .await?;
        let claim = transaction
            .query_one("SELECT name, version, state FROM submissions WHERE id = $1 FOR UPDATE", &[&submission.id])
            .await?;
        let (name, version, state): (String, String, String) = (claim.get(0), claim.get(1), claim.get(2));
        if (name.as_str(), version.as_str()) != (submission.name, submission.version) {
            transaction.rollback().await?;
            return Ok(Commit::ClaimedByAnother(name, version));
        }
        if state == "judged" {
            transaction.commit().await?;
            drop(client);
            let stored = self.current(submission.id).await?;
            return stored.map(Commit::AlreadyStored).ok_or_else(|| {
                StoreError::Corrupt(format!("submission {} is judged but has no report", submission.id))
            });
        }
        let first = VerdictEvent::chain(submission.id, None, draft);
        insert_revision(&transaction, &first, files).await?;
        transaction.commit().await?;
        drop(client);
        let stored = self.current(submission.id).await?;
        stored
            .map(Commit::Stored)
            .ok_or_else(|| StoreError::Corrupt(format!("the report of {} vanished", submission.id)))
    }

    pub(super) async fn revise(
        &self,
        current: &StoredReport,
        files: &ReportFiles,
        draft: EventDraft,
    ) -> Result<Revised, StoreError> {
        let id = current.submission_id.as_str();
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let row = transaction
            .query_opt("SELECT current_revision FROM submissions WHERE id = $1 AND state = 'judged' FOR UPDATE", &[&id])
            .await?;
        let Some(row) = row else {
            return Err(StoreError::Corrupt(format!("submission {id} has no stored report to revise")));
        };
        let revision: i32 = row.get(0);
        if revision_of(revision)? != current.revision {
            transaction.rollback().await?;
            return Ok(Revised::Superseded);
        }
        let last = transaction
            .query_one(&format!("{EVENT_COLUMNS} WHERE submission_id = $1 AND revision = $2"), &[&id, &revision])
            .await?;
        let last = event_of(&last)?;
        let event = VerdictEvent::chain(id, Some(&last), draft);
        insert_revision(&transaction, &event, files).await?;
        transaction.commit().await?;
        Ok(Revised::Recorded(event))
    }

    pub(super) async fn history(&self, submission_id: &str) -> Result<Vec<VerdictEvent>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(&format!("{EVENT_COLUMNS} WHERE submission_id = $1 ORDER BY revision"), &[&submission_id])
            .await?;
        rows.iter().map(event_of).collect()
    }

    pub(super) async fn mark_published(&self, submission_id: &str, revision: u32) -> Result<(), StoreError> {
        let revision = i32::try_from(revision).map_err(|_| StoreError::Corrupt("too many revisions".to_owned()))?;
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE reports SET published = true WHERE submission_id = $1 AND revision = $2",
                &[&submission_id, &revision],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn claim_round(&self, round: &str, worker: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let inserted = client
            .execute(
                "INSERT INTO rejudge_rounds (round, claimed_by) VALUES ($1, $2) ON CONFLICT (round) DO NOTHING",
                &[&round, &worker],
            )
            .await?;
        Ok(inserted == 1)
    }

    pub(super) async fn list(&self, keep: Option<&(dyn Fn(&str) -> bool + Sync)>) -> Result<Vec<Listed>, StoreError> {
        let client = self.pool.get().await?;
        const LISTED: &str = "SELECT s.id, s.name, s.version, s.publisher, e.verdict, e.revision, e.at FROM submissions s \
                              JOIN verdict_events e ON e.submission_id = s.id AND e.revision = s.current_revision \
                              WHERE s.state = 'judged'";
        let rows = match keep {
            None => client.query(&format!("{LISTED} ORDER BY s.id"), &[]).await?,
            Some(keep) => {
                // The names first (one row each), then the submissions of the names kept.
                let names: Vec<String> = client
                    .query("SELECT DISTINCT name FROM submissions WHERE state = 'judged'", &[])
                    .await?
                    .iter()
                    .map(|row| row.get::<_, String>(0))
                    .filter(|name| keep(name))
                    .collect();
                if names.is_empty() {
                    return Ok(Vec::new());
                }
                client.query(&format!("{LISTED} AND s.name = ANY($1) ORDER BY s.id"), &[&names]).await?
            }
        };
        rows.iter()
            .map(|row| {
                Ok(Listed {
                    submission_id: row.get(0),
                    name: row.get(1),
                    version: row.get(2),
                    publisher: row.get(3),
                    verdict: verdict_of(row.get(4))?,
                    revision: revision_of(row.get(5))?,
                    at: row.get(6),
                })
            })
            .collect()
    }
}

const EVENT_COLUMNS: &str = "SELECT submission_id, revision, previous_verdict, verdict, reason, advisory_db, \
                             rules_sha256, at, previous_hash, hash FROM verdict_events";

/// Writes a revision's report row, files and event, and makes it the submission's current one.
async fn insert_revision(
    transaction: &Transaction<'_>,
    event: &VerdictEvent,
    files: &ReportFiles,
) -> Result<(), StoreError> {
    let id = event.submission_id.as_str();
    let revision = i32::try_from(event.revision).map_err(|_| StoreError::Corrupt("too many revisions".to_owned()))?;
    transaction
        .execute(
            "INSERT INTO reports (submission_id, revision, verdict, rules_sha256, advisory_db, published) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id, &revision, &event.verdict.as_str(), &event.rules_sha256, &event.advisory_db, &(revision == 0)],
        )
        .await?;
    let insert_file = transaction
        .prepare("INSERT INTO report_files (submission_id, revision, name, content) VALUES ($1, $2, $3, $4)")
        .await?;
    for (name, content) in files {
        transaction.execute(&insert_file, &[&id, &revision, name, content]).await?;
    }
    transaction
        .execute(
            "INSERT INTO verdict_events (submission_id, revision, previous_verdict, verdict, reason, advisory_db, \
             rules_sha256, at, previous_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &id,
                &revision,
                &event.previous_verdict.map(Verdict::as_str),
                &event.verdict.as_str(),
                &event.reason,
                &event.advisory_db,
                &event.rules_sha256,
                &event.at,
                &event.previous_hash,
                &event.hash,
            ],
        )
        .await?;
    transaction
        .execute("UPDATE submissions SET state = 'judged', current_revision = $2 WHERE id = $1", &[&id, &revision])
        .await?;
    Ok(())
}

fn event_of(row: &Row) -> Result<VerdictEvent, StoreError> {
    Ok(VerdictEvent {
        submission_id: row.get(0),
        revision: revision_of(row.get(1))?,
        previous_verdict: row.get::<_, Option<String>>(2).map(verdict_of).transpose()?,
        verdict: verdict_of(row.get(3))?,
        reason: row.get(4),
        advisory_db: row.get(5),
        rules_sha256: row.get(6),
        at: row.get(7),
        previous_hash: row.get(8),
        hash: row.get(9),
    })
}

fn verdict_of(text: String) -> Result<Verdict, StoreError> {
    Verdict::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("{text:?} is not a verdict")))
}

fn revision_of(revision: i32) -> Result<u32, StoreError> {
    u32::try_from(revision).map_err(|_| StoreError::Corrupt(format!("{revision} is not a revision")))
}

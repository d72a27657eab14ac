//! The report store: every submission's claim, its reports (one per verdict revision) and its verdict
//! events, in a directory (one machine) or in PostgreSQL (many workers on many machines). Both backends keep
//! the same promises: one id is claimed for one asset, the first complete report of a submission is the only
//! revision 0, a revision is recorded once, and the events of a submission form a hash chain.

mod directory;
pub mod events;
mod postgres;

use assay_report::AcceptanceReport;
use assay_report::Verdict;

pub use directory::DirectoryStore;
pub use events::{ChainBreak, EventDraft, VerdictEvent};
pub use postgres::PostgresStore;

use crate::pipeline::{DSSE_FILE, REPORT_FILE, ReportFiles};

/// A store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file of a directory store.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The PostgreSQL store.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection from the pool.
    #[error("PostgreSQL: no connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The store's schema could not be brought up to date.
    #[error("PostgreSQL: migrating the store's schema failed: {0}")]
    Migration(#[from] refinery::Error),
    /// The `--store` value is not a store.
    #[error("{0}")]
    Location(String),
    /// What the store holds does not read as what it should be.
    #[error("the store is inconsistent: {0}")]
    Corrupt(String),
}

/// A store, by where it is.
#[derive(Clone, Debug)]
pub enum Store {
    /// A directory on this machine.
    Directory(DirectoryStore),
    /// A PostgreSQL database shared by many workers.
    Postgres(PostgresStore),
}

/// A submission about to be stored: what its message claims.
#[derive(Clone, Copy, Debug)]
pub struct NewSubmission<'a> {
    /// The submission id.
    pub id: &'a str,
    /// The claimed crate name.
    pub name: &'a str,
    /// The claimed version.
    pub version: &'a str,
    /// The claimed publisher, when known.
    pub publisher: Option<&'a str>,
    /// The archive's sha256, as the message gives it (or as scanned).
    pub archive_sha256: &'a str,
}

/// The current report of a submission.
#[derive(Clone, Debug)]
pub struct StoredReport {
    /// The submission id.
    pub submission_id: String,
    /// The name its id is claimed for.
    pub name: String,
    /// The version its id is claimed for.
    pub version: String,
    /// The verdict revision this report is.
    pub revision: u32,
    /// Whether this revision has been published (always for revision 0, which its worker publishes).
    pub published: bool,
    /// `report.json`.
    pub report: AcceptanceReport,
    /// Every file of the report, by name.
    pub files: ReportFiles,
}

impl StoredReport {
    /// The signed statements (`report.dsse.json`), empty when the report is unsigned.
    pub fn envelopes(&self) -> &[u8] {
        self.files.get(DSSE_FILE).map_or(&[], Vec::as_slice)
    }

    fn from_files(
        submission_id: &str,
        (name, version): (String, String),
        (revision, published): (u32, bool),
        files: ReportFiles,
    ) -> Result<Self, StoreError> {
        let bytes = files
            .get(REPORT_FILE)
            .ok_or_else(|| StoreError::Corrupt(format!("submission {submission_id} has no {REPORT_FILE}")))?;
        let report = serde_json::from_slice(bytes)
            .map_err(|err| StoreError::Corrupt(format!("{REPORT_FILE} of submission {submission_id}: {err}")))?;
        Ok(Self { submission_id: submission_id.to_owned(), name, version, revision, published, report, files })
    }
}

/// What [`Store::commit`] did.
#[derive(Debug)]
pub enum Commit {
    /// This report is now the stored one (revision 0).
    Stored(StoredReport),
    /// Another report of the same submission got there first; it is the one that counts.
    AlreadyStored(StoredReport),
    /// The id is claimed by another asset (`name`, `version`): nothing was stored.
    ClaimedByAnother(String, String),
}

/// What [`Store::revise`] did.
#[derive(Debug)]
pub enum Revised {
    /// The new revision is recorded, with this event.
    Recorded(VerdictEvent),
    /// Another writer recorded a newer revision first; nothing was written.
    Superseded,
}

/// One line of [`Store::list`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    /// The submission id.
    pub submission_id: String,
    /// The crate name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The publisher its submission named, when it named one (a verdict other than rejected means the
    /// archive's contract agrees).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// The current verdict.
    pub verdict: Verdict,
    /// The current revision.
    pub revision: u32,
    /// When the current verdict was given (RFC 3339).
    pub at: String,
}

impl Store {
    /// Opens the store at `location`: `postgres://…` or `postgresql://…` for PostgreSQL (its schema migrated
    /// to this version), else a directory (created if needed).
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Ok(Self::Postgres(PostgresStore::connect(location).await?))
        } else if location.contains("://") {
            Err(StoreError::Location(format!("--store {location}: not a store; give a directory or a postgres:// URL")))
        } else {
            Ok(Self::Directory(DirectoryStore::open(std::path::Path::new(location))?))
        }
    }

    /// The name and version a submission id is claimed for, if it is.
    pub async fn claim_of(&self, submission_id: &str) -> Result<Option<(String, String)>, StoreError> {
        match self {
            Self::Directory(store) => store.claim_of(submission_id),
            Self::Postgres(store) => store.claim_of(submission_id).await,
        }
    }

    /// The current report of a submission, if it has one.
    pub async fn current(&self, submission_id: &str) -> Result<Option<StoredReport>, StoreError> {
        match self {
            Self::Directory(store) => store.current(submission_id),
            Self::Postgres(store) => store.current(submission_id).await,
        }
    }

    /// Stores `files` as revision 0 of a submission with its first verdict event, unless the id is claimed
    /// by another asset or already has a report.
    pub async fn commit(
        &self,
        submission: &NewSubmission<'_>,
        files: &ReportFiles,
        draft: EventDraft,
    ) -> Result<Commit, StoreError> {
        match self {
            Self::Directory(store) => store.commit(submission, files, draft),
            Self::Postgres(store) => store.commit(submission, files, draft).await,
        }
    }

    /// Records `files` as the revision after `current`, with its event; [`Revised::Superseded`] when
    /// `current` is no longer the current revision.
    pub async fn revise(
        &self,
        current: &StoredReport,
        files: &ReportFiles,
        draft: EventDraft,
    ) -> Result<Revised, StoreError> {
        match self {
            Self::Directory(store) => store.revise(current, files, draft),
            Self::Postgres(store) => store.revise(current, files, draft).await,
        }
    }

    /// The verdict events of a submission, oldest first (empty when it has none).
    pub async fn history(&self, submission_id: &str) -> Result<Vec<VerdictEvent>, StoreError> {
        match self {
            Self::Directory(store) => store.history(submission_id),
            Self::Postgres(store) => store.history(submission_id).await,
        }
    }

    /// Records that a revision has been published.
    pub async fn mark_published(&self, submission_id: &str, revision: u32) -> Result<(), StoreError> {
        match self {
            Self::Directory(store) => store.mark_published(submission_id, revision),
            Self::Postgres(store) => store.mark_published(submission_id, revision).await,
        }
    }

    /// Claims the re-judgement round `round` (an advisory database and rule set) for `worker`: `true` for the
    /// first claim, `false` when another process started it.
    pub async fn claim_round(&self, round: &str, worker: &str) -> Result<bool, StoreError> {
        match self {
            Self::Directory(store) => store.claim_round(round, worker),
            Self::Postgres(store) => store.claim_round(round, worker).await,
        }
    }

    /// Every judged submission with its current verdict, sorted by id.
    pub async fn list(&self) -> Result<Vec<Listed>, StoreError> {
        match self {
            Self::Directory(store) => store.list(None),
            Self::Postgres(store) => store.list(None).await,
        }
    }

    /// The judged submissions whose names `keep` keeps, sorted by id; reads only what those names hold.
    pub async fn list_named(&self, keep: &(dyn Fn(&str) -> bool + Sync)) -> Result<Vec<Listed>, StoreError> {
        match self {
            Self::Directory(store) => store.list(Some(keep)),
            Self::Postgres(store) => store.list(Some(keep)).await,
        }
    }
}

/// The first event's content for a report: its verdict, database and rule set, and `reason`.
pub fn draft_for(report: &AcceptanceReport, reason: impl Into<String>) -> EventDraft {
    EventDraft {
        verdict: report.verdict,
        reason: reason.into(),
        advisory_db: report.advisory_db.as_ref().map_or_else(|| "none".to_owned(), |db| db.label()),
        rules_sha256: report.rules.sha256.clone(),
        at: report.finished_at.clone(),
    }
}

/// Ids become directory names in a directory store and keys in PostgreSQL: a safe alphabet.
pub fn valid_submission_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

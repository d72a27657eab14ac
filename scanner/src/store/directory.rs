//! The directory store: `STORE/<name>/<version>/<submission id>/` holds revision 0 (written to a staging
//! directory and renamed into place, so a reader or a second worker never sees half a report) and
//! `events.jsonl`, the verdict events; `revisions/<n>/` holds each later revision (`.published` inside once it
//! is published). `STORE/.by-id/<id>`, created exclusively, claims an id for one name and version;
//! `STORE/.rounds/<digest>` a re-judgement round.

use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

use super::events::{EventDraft, VerdictEvent};
use super::{Commit, Listed, NewSubmission, Revised, StoreError, StoredReport};
use crate::pipeline::{REPORT_FILE, ReportFiles, write_files};

/// Where a submission id's claim lives, beside the asset folders (a name never starts with `.`).
const CLAIMS_DIR: &str = ".by-id";
/// The verdict events of a submission, one JSON object per line, oldest first.
const EVENTS_FILE: &str = "events.jsonl";
/// Revisions after the first, `revisions/<n>/`.
const REVISIONS_DIR: &str = "revisions";
/// Held (flock) while a revision is recorded.
const REVISION_LOCK: &str = ".lock";
/// Marks a revision as published (`revisions/<n>/.published`).
const PUBLISHED_MARK: &str = ".published";
/// Started re-judgement rounds, one file each.
const ROUNDS_DIR: &str = ".rounds";

/// A report store in a directory.
#[derive(Clone, Debug)]
pub struct DirectoryStore {
    root: PathBuf,
}

impl DirectoryStore {
    /// The store rooted at `root`, created if needed.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(root).map_err(io_error(root))?;
        Ok(Self { root: root.to_owned() })
    }

    /// The directory of a submission's first report.
    pub fn dir(&self, name: &str, version: &str, submission_id: &str) -> PathBuf {
        self.root.join(name).join(version).join(submission_id)
    }

    pub(super) fn claim_of(&self, submission_id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self.claim_record(submission_id)?.map(|(name, version, _)| (name, version)))
    }

    /// The claim of an id: name, version and, when the submission named one, publisher (one line each; claims
    /// written before publishers were recorded have two lines).
    fn claim_record(&self, submission_id: &str) -> Result<Option<(String, String, Option<String>)>, StoreError> {
        let path = self.claim_path(submission_id)?;
        match fs::read_to_string(&path) {
            Ok(text) => {
                let mut lines = text.lines();
                match (lines.next(), lines.next()) {
                    (Some(name), Some(version)) => {
                        let publisher = lines.next().filter(|line| !line.is_empty()).map(str::to_owned);
                        Ok(Some((name.to_owned(), version.to_owned(), publisher)))
                    }
                    _ => Err(StoreError::Corrupt(format!("the claim {} is unreadable", path.display()))),
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StoreError::Io { path, source: err }),
        }
    }

    /// Claims the submission's id for its name and version: `None` when it is (now, or already) theirs, else
    /// the name and version it belongs to. Exclusive creation decides between two workers.
    fn claim(&self, submission: &NewSubmission<'_>) -> Result<Option<(String, String)>, StoreError> {
        let NewSubmission { id: submission_id, name, version, publisher, .. } = *submission;
        let path = self.claim_path(submission_id)?;
        let dir = self.root.join(CLAIMS_DIR);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                // A publisher is one line: a claimed one with a line break in it is not recorded.
                let publisher = publisher.filter(|p| !p.contains(['\n', '\r'])).unwrap_or_default();
                file.write_all(format!("{name}\n{version}\n{publisher}\n").as_bytes()).map_err(io_error(&path))?;
                file.sync_all().map_err(io_error(&path))?;
                Ok(None)
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                Ok(self.claim_of(submission_id)?.filter(|(owner_name, owner_version)| {
                    (owner_name.as_str(), owner_version.as_str()) != (name, version)
                }))
            }
            Err(err) => Err(StoreError::Io { path, source: err }),
        }
    }

    fn claim_path(&self, submission_id: &str) -> Result<PathBuf, StoreError> {
        if !super::valid_submission_id(submission_id) {
            return Err(StoreError::Location(format!(
                "{submission_id:?} is not a submission id (1–64 characters of [A-Za-z0-9-])"
            )));
        }
        Ok(self.root.join(CLAIMS_DIR).join(submission_id))
    }

    pub(super) fn current(&self, submission_id: &str) -> Result<Option<StoredReport>, StoreError> {
        let Some((name, version)) = self.claim_of(submission_id)? else { return Ok(None) };
        let dir = self.dir(&name, &version, submission_id);
        let revision = self.history(submission_id)?.last().map_or(0, |event| event.revision);
        let files_dir = revision_dir(&dir, revision);
        if !files_dir.join(REPORT_FILE).is_file() {
            // Claimed, but no report yet (a scan in progress, or one that never finished).
            return Ok(None);
        }
        let files = read_files(&files_dir)?;
        let published = revision == 0 || files_dir.join(PUBLISHED_MARK).exists();
        StoredReport::from_files(submission_id, (name, version), (revision, published), files).map(Some)
    }

    pub(super) fn commit(
        &self,
        submission: &NewSubmission<'_>,
        files: &ReportFiles,
        draft: EventDraft,
    ) -> Result<Commit, StoreError> {
        let NewSubmission { id, name, version, .. } = *submission;
        let dir = self.dir(name, version, id);
        let parent = dir.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(io_error(parent))?;
        // The claim first: a report is only ever staged for the asset that owns the id.
        if let Some((owner_name, owner_version)) = self.claim(submission)? {
            return Ok(Commit::ClaimedByAnother(owner_name, owner_version));
        }
        let staging = tempfile::Builder::new().prefix(".staging-").tempdir_in(parent).map_err(io_error(parent))?;
        write_files(files, staging.path())
            .map_err(|err| StoreError::Io { path: dir.clone(), source: io::Error::other(err) })?;
        let first = VerdictEvent::chain(id, None, draft);
        append_event(&staging.path().join(EVENTS_FILE), &first)?;
        // rename(2) onto an existing non-empty directory fails: exactly one writer wins.
        let renamed = fs::rename(staging.path(), &dir);
        let stored = || self.current(id)?.ok_or_else(|| StoreError::Corrupt(format!("the report of {id} vanished")));
        match renamed {
            Ok(()) => {
                let _ = staging.keep();
                Ok(Commit::Stored(stored()?))
            }
            Err(_) if dir.join(REPORT_FILE).is_file() => Ok(Commit::AlreadyStored(stored()?)),
            Err(err) => Err(StoreError::Io { path: dir, source: err }),
        }
    }

    pub(super) fn revise(
        &self,
        current: &StoredReport,
        files: &ReportFiles,
        draft: EventDraft,
    ) -> Result<Revised, StoreError> {
        let id = current.submission_id.as_str();
        let dir = self.dir(&current.name, &current.version, id);
        let revisions = dir.join(REVISIONS_DIR);
        fs::create_dir_all(&revisions).map_err(io_error(&revisions))?;
        // One reviser at a time per submission: the check of the current revision and the append of the next
        // event happen under the lock.
        let lock_path = revisions.join(REVISION_LOCK);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        flock(&lock, FlockOperation::LockExclusive)
            .map_err(|err| StoreError::Io { path: lock_path, source: err.into() })?;

        let history = self.history(id)?;
        let Some(last) = history.last() else {
            return Err(StoreError::Corrupt(format!("submission {id} has a report but no verdict events")));
        };
        if last.revision != current.revision {
            return Ok(Revised::Superseded);
        }
        let target = revision_dir(&dir, last.revision + 1);
        // A directory without its event is what a crash between the two leaves: not a revision.
        if target.exists() {
            fs::remove_dir_all(&target).map_err(io_error(&target))?;
        }
        let staging =
            tempfile::Builder::new().prefix(".staging-").tempdir_in(&revisions).map_err(io_error(&revisions))?;
        write_files(files, staging.path())
            .map_err(|err| StoreError::Io { path: target.clone(), source: io::Error::other(err) })?;
        fs::rename(staging.path(), &target).map_err(io_error(&target))?;
        let _ = staging.keep();
        let event = VerdictEvent::chain(id, Some(last), draft);
        append_event(&dir.join(EVENTS_FILE), &event)?;
        Ok(Revised::Recorded(event))
    }

    pub(super) fn history(&self, submission_id: &str) -> Result<Vec<VerdictEvent>, StoreError> {
        let Some((name, version)) = self.claim_of(submission_id)? else { return Ok(Vec::new()) };
        let path = self.dir(&name, &version, submission_id).join(EVENTS_FILE);
        let file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(StoreError::Io { path, source: err }),
        };
        let mut events = Vec::new();
        for (number, line) in io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_error(&path))?;
            if line.trim().is_empty() {
                continue;
            }
            let event = serde_json::from_str(&line).map_err(|err| {
                StoreError::Corrupt(format!("{} line {}: not a verdict event: {err}", path.display(), number + 1))
            })?;
            events.push(event);
        }
        Ok(events)
    }

    pub(super) fn mark_published(&self, submission_id: &str, revision: u32) -> Result<(), StoreError> {
        let Some((name, version)) = self.claim_of(submission_id)? else {
            return Err(StoreError::Corrupt(format!("submission {submission_id} is not in the store")));
        };
        if revision == 0 {
            return Ok(());
        }
        let mark = revision_dir(&self.dir(&name, &version, submission_id), revision).join(PUBLISHED_MARK);
        fs::write(&mark, b"").map_err(io_error(&mark))
    }

    pub(super) fn claim_round(&self, round: &str, worker: &str) -> Result<bool, StoreError> {
        let dir = self.root.join(ROUNDS_DIR);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        // The round's text names a database and a rule set; its digest is a safe file name.
        let path = dir.join(assay_report::digest::sha256_hex(round.as_bytes()));
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(format!("{round}\n{worker}\n").as_bytes()).map_err(io_error(&path))?;
                Ok(true)
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(StoreError::Io { path, source: err }),
        }
    }

    /// The judged submissions whose names `keep` keeps (every one without it): only the folders of those
    /// names are read, so a lineage lookup costs the releases of a few names, not the whole store.
    pub(super) fn list(&self, keep: Option<&(dyn Fn(&str) -> bool + Sync)>) -> Result<Vec<Listed>, StoreError> {
        let mut listed = Vec::new();
        for name in folders(&self.root)? {
            if name.starts_with('.') || keep.is_some_and(|keep| !keep(&name)) {
                continue;
            }
            for version in folders(&self.root.join(&name))? {
                for id in folders(&self.root.join(&name).join(&version))? {
                    if !super::valid_submission_id(&id) {
                        continue;
                    }
                    // The folder counts only where the id's claim puts it.
                    let Some((claimed_name, claimed_version, publisher)) = self.claim_record(&id)? else { continue };
                    if (claimed_name.as_str(), claimed_version.as_str()) != (name.as_str(), version.as_str()) {
                        continue;
                    }
                    let Some(last) = self.history(&id)?.pop() else { continue };
                    listed.push(Listed {
                        submission_id: id,
                        name: claimed_name,
                        version: claimed_version,
                        publisher,
                        verdict: last.verdict,
                        revision: last.revision,
                        at: last.at,
                    });
                }
            }
        }
        listed.sort_by(|a, b| a.submission_id.cmp(&b.submission_id));
        Ok(listed)
    }
}

/// The names of the folders in `dir` (none when it does not exist).
fn folders(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(StoreError::Io { path: dir.to_owned(), source: err }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        if entry.file_type().map_err(io_error(dir))?.is_dir()
            && let Some(name) = entry.file_name().to_str()
        {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Where revision `revision` of the submission in `dir` keeps its files.
fn revision_dir(dir: &Path, revision: u32) -> PathBuf {
    if revision == 0 { dir.to_owned() } else { dir.join(REVISIONS_DIR).join(revision.to_string()) }
}

/// The report files in `dir`: its regular files, but not the events or anything hidden.
fn read_files(dir: &Path) -> Result<ReportFiles, StoreError> {
    let mut files = ReportFiles::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if name.starts_with('.') || name == EVENTS_FILE || !entry.file_type().map_err(io_error(dir))?.is_file() {
            continue;
        }
        let path = entry.path();
        files.insert(name, fs::read(&path).map_err(io_error(&path))?);
    }
    Ok(files)
}

/// Appends one event as a line and syncs it to disk.
fn append_event(path: &Path, event: &VerdictEvent) -> Result<(), StoreError> {
    let mut line = serde_json::to_vec(event).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    line.push(b'\n');
    let mut file = fs::OpenOptions::new().create(true).append(true).open(path).map_err(io_error(path))?;
    file.write_all(&line).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + use<> {
    let path = path.to_owned();
    move |source| StoreError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventDraft, Store};
    use assay_report::Verdict;

    fn files(verdict: Verdict) -> ReportFiles {
        let report = serde_json::json!({
            "schema": assay_report::REPORT_SCHEMA, "report_id": "r", "tool": {"name": "assay", "version": "0"},
            "subject": {"name": "a.crate", "kind": "crate", "sha256": "00", "size": 1},
            "options": {"load": "skipped-by-request", "max_db_age_days": 90},
            "rules": {"uri": "urn:test", "sha256": "11"}, "stages": [], "findings": [], "verdict": verdict,
            "started_at": "2026-12-05T00:00:00Z", "finished_at": "2026-12-05T00:00:01Z"
        });
        ReportFiles::from([(REPORT_FILE.to_owned(), serde_json::to_vec(&report).unwrap())])
    }

    fn draft(verdict: Verdict) -> EventDraft {
        EventDraft {
            verdict,
            reason: "test".to_owned(),
            advisory_db: "snapshot:1".to_owned(),
            rules_sha256: "11".to_owned(),
            at: "2026-12-05T00:00:01Z".to_owned(),
        }
    }

    fn submission<'a>(id: &'a str, name: &'a str) -> NewSubmission<'a> {
        NewSubmission { id, name, version: "1.0.0", publisher: None, archive_sha256: "00" }
    }

    #[test]
    fn one_first_verdict_per_id_then_revisions_in_order() {
        let root = tempfile::tempdir().unwrap();
        let store = DirectoryStore::open(root.path()).unwrap();
        let first = store.commit(&submission("s-1", "demo"), &files(Verdict::Accepted), draft(Verdict::Accepted));
        let Ok(Commit::Stored(stored)) = first else { panic!("{first:?}") };
        assert_eq!((stored.revision, stored.published), (0, true));

        let again = store.commit(&submission("s-1", "demo"), &files(Verdict::Rejected), draft(Verdict::Rejected));
        assert!(matches!(again, Ok(Commit::AlreadyStored(ref kept)) if kept.report.verdict == Verdict::Accepted));
        let other = store.commit(&submission("s-1", "other"), &files(Verdict::Rejected), draft(Verdict::Rejected));
        assert!(matches!(other, Ok(Commit::ClaimedByAnother(ref name, _)) if name == "demo"));

        let revised = store.revise(&stored, &files(Verdict::Rejected), draft(Verdict::Rejected)).unwrap();
        let Revised::Recorded(event) = revised else { panic!("{revised:?}") };
        assert_eq!((event.revision, event.previous_verdict), (1, Some(Verdict::Accepted)));
        // A reviser holding the old current revision is too late.
        let stale = store.revise(&stored, &files(Verdict::NeedsReview), draft(Verdict::NeedsReview)).unwrap();
        assert!(matches!(stale, Revised::Superseded));

        let current = store.current("s-1").unwrap().unwrap();
        assert_eq!((current.revision, current.report.verdict, current.published), (1, Verdict::Rejected, false));
        store.mark_published("s-1", 1).unwrap();
        assert!(store.current("s-1").unwrap().unwrap().published);
        let history = store.history("s-1").unwrap();
        assert_eq!(crate::store::events::check(&history), Ok(()));
        let listed = store.list(None).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].revision, listed[0].verdict), (1, Verdict::Rejected));
    }

    #[test]
    fn a_named_listing_reads_the_kept_names_with_their_publishers() {
        let root = tempfile::tempdir().unwrap();
        let store = DirectoryStore::open(root.path()).unwrap();
        for (id, name, publisher) in
            [("a-1", "echo", Some("acme")), ("b-1", "ledger", None), ("c-1", "ech0", Some("eve"))]
        {
            let new = NewSubmission { publisher, ..submission(id, name) };
            store.commit(&new, &files(Verdict::Accepted), draft(Verdict::Accepted)).unwrap();
        }
        // Claimed, never judged: not listed.
        store.claim(&submission("d-1", "echo")).unwrap();
        let named = store.list(Some(&|name: &str| name.starts_with("ech"))).unwrap();
        let shown: Vec<(&str, Option<&str>)> =
            named.iter().map(|l| (l.submission_id.as_str(), l.publisher.as_deref())).collect();
        assert_eq!(shown, [("a-1", Some("acme")), ("c-1", Some("eve"))]);
        assert_eq!(store.list(None).unwrap().len(), 3);
    }

    #[test]
    fn a_round_is_claimed_once_and_ids_outside_the_alphabet_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let store = DirectoryStore::open(root.path()).unwrap();
        assert!(store.claim_round("snapshot:1 rules:11", "a").unwrap());
        assert!(!store.claim_round("snapshot:1 rules:11", "b").unwrap());
        assert!(store.claim_round("snapshot:2 rules:11", "b").unwrap());
        for id in ["../x", ".by-id", "", "a/b"] {
            assert!(matches!(store.current(id), Err(StoreError::Location(_))), "{id:?}");
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let refused = runtime.block_on(Store::open("mysql://db/assay"));
        assert!(matches!(refused, Err(StoreError::Location(message)) if message.contains("postgres://")));
    }
}

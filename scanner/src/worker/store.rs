//! The report store: `STORE/<name>/<version>/<submission id>/`, each report written to a temporary
//! directory and renamed into place, so a reader (or a second worker) never sees half a report, and
//! the first complete report of a submission is the only one.
//!
//! A submission id is claimed once, whatever name and version a message gives it: `STORE/.by-id/<id>` is
//! created exclusively and names the one folder that id may have. A second message with the same id and
//! another asset gets no second verdict.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use assay_report::AcceptanceReport;

use crate::pipeline::{DSSE_FILE, ScanOutput, write_report};

/// A report already in the store.
#[derive(Debug)]
pub struct Stored {
    /// Its directory.
    pub dir: PathBuf,
    /// The report.
    pub report: AcceptanceReport,
    /// `report.dsse.json` as stored.
    pub envelopes: Vec<u8>,
}

/// Where reports are kept.
#[derive(Clone, Debug)]
pub struct ReportStore {
    root: PathBuf,
}

/// What [`ReportStore::commit`] did.
#[derive(Debug)]
pub enum Commit {
    /// This report is now the stored one.
    Stored(Stored),
    /// Another report of the same submission got there first; it is the one that counts.
    AlreadyStored(Stored),
    /// The id is claimed by another asset (`name version`): nothing was stored.
    ClaimedByAnother(String, String),
}

/// Where a submission id's claim lives, beside the asset folders (a name never starts with `.`).
const CLAIMS_DIR: &str = ".by-id";

impl ReportStore {
    /// A store rooted at `root`.
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_owned() }
    }

    /// The directory of a submission's report.
    pub fn dir(&self, name: &str, version: &str, submission_id: &str) -> PathBuf {
        self.root.join(name).join(version).join(submission_id)
    }

    /// The name and version a submission id is claimed for, if it is.
    pub fn claim_of(&self, submission_id: &str) -> io::Result<Option<(String, String)>> {
        match fs::read_to_string(self.root.join(CLAIMS_DIR).join(submission_id)) {
            Ok(text) => {
                let mut lines = text.lines();
                match (lines.next(), lines.next()) {
                    (Some(name), Some(version)) => Ok(Some((name.to_owned(), version.to_owned()))),
                    _ => Err(io::Error::other(format!("the claim of {submission_id} is unreadable"))),
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Claims `submission_id` for `name`/`version`: `Ok(None)` when it is (now, or already) theirs, else the
    /// name and version it belongs to. Exclusive creation decides between two workers.
    fn claim(&self, name: &str, version: &str, submission_id: &str) -> io::Result<Option<(String, String)>> {
        let dir = self.root.join(CLAIMS_DIR);
        fs::create_dir_all(&dir)?;
        match fs::OpenOptions::new().write(true).create_new(true).open(dir.join(submission_id)) {
            Ok(mut file) => {
                io::Write::write_all(&mut file, format!("{name}\n{version}\n").as_bytes())?;
                file.sync_all()?;
                Ok(None)
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                let owner = self.claim_of(submission_id)?;
                Ok(owner.filter(|(owner_name, owner_version)| {
                    (owner_name.as_str(), owner_version.as_str()) != (name, version)
                }))
            }
            Err(err) => Err(err),
        }
    }

    /// The stored report of a submission, if any.
    pub fn lookup(&self, name: &str, version: &str, submission_id: &str) -> io::Result<Option<Stored>> {
        let dir = self.dir(name, version, submission_id);
        let report = match fs::read(dir.join("report.json")) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let report: AcceptanceReport = serde_json::from_slice(&report).map_err(io::Error::other)?;
        let envelopes = fs::read(dir.join(DSSE_FILE))?;
        Ok(Some(Stored { dir, report, envelopes }))
    }

    /// Writes `output` as the report of a submission, unless one is already stored.
    pub fn commit(&self, name: &str, version: &str, submission_id: &str, output: &ScanOutput) -> io::Result<Commit> {
        let dir = self.dir(name, version, submission_id);
        let parent = dir.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent)?;
        // The claim first: a report is only ever staged for the asset that owns the id.
        if let Some((owner_name, owner_version)) = self.claim(name, version, submission_id)? {
            return Ok(Commit::ClaimedByAnother(owner_name, owner_version));
        }
        let staging = tempfile::Builder::new().prefix(".staging-").tempdir_in(parent)?;
        write_report(output, staging.path()).map_err(io::Error::other)?;
        // rename(2) onto an existing non-empty directory fails: exactly one writer wins.
        match fs::rename(staging.path(), &dir) {
            Ok(()) => {
                let _ = staging.keep();
                let stored = self
                    .lookup(name, version, submission_id)?
                    .ok_or_else(|| io::Error::other("report vanished after rename"))?;
                Ok(Commit::Stored(stored))
            }
            Err(_) if dir.join("report.json").is_file() => {
                let stored = self
                    .lookup(name, version, submission_id)?
                    .ok_or_else(|| io::Error::other("stored report unreadable"))?;
                Ok(Commit::AlreadyStored(stored))
            }
            Err(err) => Err(err),
        }
    }
}

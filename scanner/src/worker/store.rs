//! The report store: `STORE/<name>/<version>/<submission id>/`, each report written to a temporary
//! directory and renamed into place, so a reader (or a second worker) never sees half a report, and
//! the first complete report of a submission is the only one.

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
}

impl ReportStore {
    /// A store rooted at `root`.
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_owned() }
    }

    /// The directory of a submission's report.
    pub fn dir(&self, name: &str, version: &str, submission_id: &str) -> PathBuf {
        self.root.join(name).join(version).join(submission_id)
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

//! Intake: turns a submitted path into a safe scratch copy of the asset and the subject the report is about.
//!
//! Archives are checked and unpacked in one streaming pass; directories are copied under the same limits.
//! Everything an asset could do wrong here is a finding; only our own I/O failures are errors.

mod digest;
mod directory;
mod entry_name;
mod inflate;
mod limits;
mod unpack;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use assay_report::{Finding, Subject, SubjectKind, codes};

pub use digest::{hex, sha256_file};
pub use limits::IntakeLimits;
pub use unpack::Select;

/// What intake produced.
#[derive(Debug)]
pub struct Intake {
    /// The submission, identified by content.
    pub subject: Subject,
    /// The asset's root folder inside the scratch directory, when the input held exactly one crate.
    pub root: Option<PathBuf>,
    /// Refusals and layout problems. Any of these ends the scan with a rejected report.
    pub findings: Vec<Finding>,
    /// Entries seen (files, folders and headers).
    pub entries: u64,
    /// File bytes written to the scratch directory.
    pub unpacked_bytes: u64,
}

/// Intake failed for reasons that are not the asset's fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// The input could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The scratch directory could not be written (disk full, permissions).
    #[error("cannot write the scratch directory at {}: {source}", path.display())]
    Scratch {
        /// The path that failed.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Accumulated result of unpacking or copying, before the asset root is located.
#[derive(Debug, Default)]
struct Unpacked {
    sha256: String,
    size: u64,
    findings: Vec<Finding>,
    entries: u64,
    bytes: u64,
}

/// Reads `input` (a directory, a `.crate` or a `.tar.gz`) into `scratch`, which must be an empty directory.
pub fn intake(input: &Path, scratch: &Path, limits: &IntakeLimits) -> Result<Intake, IntakeError> {
    let meta = fs::metadata(input).map_err(|source| IntakeError::Read { path: input.to_owned(), source })?;
    let name =
        input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| input.display().to_string());
    let (kind, unpacked) = if meta.is_dir() {
        (SubjectKind::Directory, directory::copy_directory(input, scratch, limits)?)
    } else {
        let kind = if name.ends_with(".crate") { SubjectKind::Crate } else { SubjectKind::TarGz };
        (kind, unpack::unpack_archive(input, scratch, limits, Select::All)?)
    };

    let mut findings = unpacked.findings;
    let root = if findings.is_empty() {
        match locate_root(scratch, kind) {
            Ok(root) => Some(root),
            Err(finding) => {
                findings.push(finding);
                None
            }
        }
    } else {
        None
    };
    Ok(Intake {
        subject: Subject { name, kind, sha256: unpacked.sha256, size: unpacked.size },
        root,
        findings,
        entries: unpacked.entries,
        unpacked_bytes: unpacked.bytes,
    })
}

/// A dependency's `.crate` unpacked with the same checks and limits as a submission.
#[derive(Debug)]
pub struct UnpackedCrate {
    /// sha256 of the `.crate` file as read while unpacking (empty for [`Select::Only`]).
    pub sha256: String,
    /// Entries refused or limits hit (the entries concerned were not written).
    pub findings: Vec<Finding>,
}

/// Unpacks a dependency's `.crate` into `dest` (an empty directory), every entry or one. Dependencies are as
/// untrusted as the asset: a verified checksum proves only that the bytes are the ones the publisher uploaded.
pub fn unpack_crate(
    path: &Path,
    dest: &Path,
    limits: &IntakeLimits,
    select: Select<'_>,
) -> Result<UnpackedCrate, IntakeError> {
    let unpacked = unpack::unpack_archive(path, dest, limits, select)?;
    Ok(UnpackedCrate { sha256: unpacked.sha256, findings: unpacked.findings })
}

/// A `.crate` holds one folder `<name>-<version>/`; a `.tar.gz` may also hold the crate at its top.
fn locate_root(scratch: &Path, kind: SubjectKind) -> Result<PathBuf, Finding> {
    if kind == SubjectKind::Directory || scratch.join("Cargo.toml").is_file() {
        return Ok(scratch.to_owned());
    }
    let top: Vec<PathBuf> = fs::read_dir(scratch)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    match top.as_slice() {
        [only] if only.is_dir() => Ok(only.clone()),
        [] => Err(Finding::new(&codes::ARCHIVE_LAYOUT, "the archive contains no files")),
        _ => Err(Finding::new(
            &codes::ARCHIVE_LAYOUT,
            format!(
                "the archive has {} top-level entries and no Cargo.toml at its top; a .crate holds one folder",
                top.len()
            ),
        )
        .help("submit the file `cargo package` writes")),
    }
}

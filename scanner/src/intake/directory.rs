//! Intake of a directory (local use): copies its plain files into the scratch directory under the same
//! limits as an archive, and digests it deterministically.
//!
//! Digest: sha256 over, for each regular file in byte order of its `/`-separated relative path,
//! `path NUL size NUL contents`. `target/` and `.git/` at the top are left out, as `cargo package` does.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use assay_report::{Finding, Location, codes};
use sha2::{Digest, Sha256};

use super::digest::hex;
use super::limits::IntakeLimits;
use super::{IntakeError, Unpacked};

/// Top-level folders that are build output or VCS data, never part of a package.
const SKIPPED_TOP_LEVEL: [&str; 2] = ["target", ".git"];

/// Copies the plain files of `src` into `dest`.
pub(super) fn copy_directory(src: &Path, dest: &Path, limits: &IntakeLimits) -> Result<Unpacked, IntakeError> {
    let mut unpacked = Unpacked::default();
    let mut files = Vec::new();
    collect(src, src, limits, &mut files, &mut unpacked)?;
    files.sort();

    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    for relative in &files {
        let from = src.join(relative);
        let to = dest.join(relative);
        let read_error = |source| IntakeError::Read { path: from.clone(), source };
        let scratch_error = |source| IntakeError::Scratch { path: to.clone(), source };
        let mut input = File::open(&from).map_err(read_error)?;
        let size = input.metadata().map_err(read_error)?.len();
        if size > limits.max_entry_bytes {
            unpacked.findings.push(
                Finding::new(
                    &codes::ARCHIVE_ENTRY_TOO_LARGE,
                    format!("`{relative}` is {size} bytes; the per-file limit is {} bytes", limits.max_entry_bytes),
                )
                .at(Location::archive_entry(relative)),
            );
            continue;
        }
        if unpacked.bytes + size > limits.max_unpacked_bytes {
            unpacked.findings.push(Finding::new(
                &codes::ARCHIVE_TOO_LARGE,
                format!("the directory holds more than {} bytes of files", limits.max_unpacked_bytes),
            ));
            break;
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|source| IntakeError::Scratch { path: parent.to_owned(), source })?;
        }
        let mut output = File::create_new(&to).map_err(scratch_error)?;
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        hasher.update(size.to_string().as_bytes());
        hasher.update([0]);
        // Hash what is copied, not what `size` said: a file that changes underneath us is hashed as copied.
        let mut copied = 0u64;
        loop {
            let n = input.read(&mut buffer).map_err(read_error)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            output.write_all(&buffer[..n]).map_err(scratch_error)?;
            copied += n as u64;
        }
        unpacked.bytes += copied;
    }
    unpacked.sha256 = hex(&hasher.finalize());
    unpacked.size = unpacked.bytes;
    Ok(unpacked)
}

/// Lists regular files below `dir` as `/`-separated paths relative to `root`, recording links and
/// special files as findings. Links are never followed.
fn collect(
    root: &Path,
    dir: &Path,
    limits: &IntakeLimits,
    files: &mut Vec<String>,
    unpacked: &mut Unpacked,
) -> Result<(), IntakeError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| IntakeError::Read { path, source }
    };
    let mut children: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(read_error(dir))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error(dir))?;
    children.sort();
    for path in children {
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if dir == root && SKIPPED_TOP_LEVEL.contains(&relative.as_str()) {
            continue;
        }
        unpacked.entries += 1;
        if unpacked.entries > limits.max_entries {
            unpacked.findings.push(Finding::new(
                &codes::ARCHIVE_TOO_MANY_ENTRIES,
                format!("the directory has more than {} entries", limits.max_entries),
            ));
            return Ok(());
        }
        let meta = path.symlink_metadata().map_err(read_error(&path))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
            unpacked.findings.push(
                Finding::new(&codes::ARCHIVE_LINK, format!("`{relative}` is a symbolic link to `{target}`"))
                    .at(Location::archive_entry(&relative))
                    .help("replace links with the files they point to"),
            );
        } else if kind.is_dir() {
            collect(root, &path, limits, files, unpacked)?;
        } else if kind.is_file() {
            files.push(relative);
        } else {
            unpacked.findings.push(
                Finding::new(&codes::ARCHIVE_SPECIAL_FILE, format!("`{relative}` is not a regular file"))
                    .at(Location::archive_entry(&relative)),
            );
        }
    }
    Ok(())
}

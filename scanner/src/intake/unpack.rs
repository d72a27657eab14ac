//! Streaming unpack of a gzip tar into the scratch directory, refusing anything that is not a plain file tree.
//!
//! Entries are read raw (no library-side handling of long names or PAX records) so that every byte
//! read into memory is bounded by us, and files are written with `create_new` under a tree that holds
//! no links: nothing an archive says can make us write outside `dest`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use assay_report::{Finding, Location, codes};
use flate2::bufread::GzDecoder;
use tar::EntryType;

use super::digest::SourceReader;
use super::entry_name::{pax_path, safe_relative_path, trim_nul};
use super::inflate::InflateGuard;
use super::limits::{IntakeLimits, MAX_NAME_BYTES, MAX_PAX_BYTES};
use super::{IntakeError, Unpacked};

/// Which entries are written.
#[derive(Clone, Copy, Debug)]
pub enum Select<'a> {
    /// Every entry, and the whole archive is hashed.
    All,
    /// Only the entry at this relative path: the walk stops once it is written and the archive is not
    /// hashed (a cached crate was verified when it was stored). Entries before it are still checked.
    Only(&'a Path),
}

/// Unpacks the archive at `path` into `dest` (an empty directory), hashing the archive on the way.
pub(super) fn unpack_archive(
    path: &Path,
    dest: &Path,
    limits: &IntakeLimits,
    select: Select<'_>,
) -> Result<Unpacked, IntakeError> {
    let read_error = |source| IntakeError::Read { path: path.to_owned(), source };
    let file = File::open(path).map_err(read_error)?;
    let declared_size = file.metadata().map_err(read_error)?.len();
    let source = SourceReader::new(file);
    let mut unpacked = Unpacked::default();

    if declared_size > limits.max_archive_bytes {
        unpacked.findings.push(Finding::new(
            &codes::ARCHIVE_TOO_LARGE,
            format!("the archive is {declared_size} bytes; the limit is {} bytes", limits.max_archive_bytes),
        ));
        return finish(source, unpacked, path);
    }

    let mut buffered = BufReader::with_capacity(64 * 1024, source);
    let is_gzip = buffered.fill_buf().map_err(read_error)?.starts_with(&[0x1f, 0x8b]);
    if !is_gzip {
        unpacked.findings.push(
            Finding::new(
                &codes::ARCHIVE_UNREADABLE,
                "the file is not gzip-compressed, so it is not a .crate or .tar.gz",
            )
            .help("submit the file `cargo package` writes (target/package/<name>-<version>.crate)"),
        );
        return finish(buffered.into_inner(), unpacked, path);
    }

    let compressed = buffered.get_ref().counter();
    let io_failure = buffered.get_ref().io_failure();
    let guard = InflateGuard::new(GzDecoder::new(buffered), compressed, limits);
    let breach = Rc::clone(&guard.breach);
    let mut archive = tar::Archive::new(guard);
    let stream_result = unpack_entries(&mut archive, dest, limits, select, &mut unpacked);
    if let Err(failure) = stream_result {
        match failure {
            EntryFailure::Scratch { path: scratch_path, source } => {
                return Err(IntakeError::Scratch { path: scratch_path, source });
            }
            EntryFailure::Stream(err) => {
                if let Some(breach) = breach.take() {
                    unpacked.findings.push(breach.finding(limits));
                } else if let Some(kind) = io_failure.get() {
                    return Err(read_error(io::Error::new(kind, err.to_string())));
                } else {
                    unpacked.findings.push(Finding::new(
                        &codes::ARCHIVE_UNREADABLE,
                        format!("the archive is truncated or corrupt: {err}"),
                    ));
                }
            }
        }
    }
    if let Select::Only(_) = select {
        // Reading on only to hash what was not unpacked is most of the work for a big crate.
        return Ok(unpacked);
    }
    let source = archive.into_inner().inner.into_inner().into_inner();
    finish(source, unpacked, path)
}

fn finish(source: SourceReader<File>, mut unpacked: Unpacked, path: &Path) -> Result<Unpacked, IntakeError> {
    let (sha256, size) = source.finish().map_err(|source| IntakeError::Read { path: path.to_owned(), source })?;
    unpacked.sha256 = sha256;
    unpacked.size = size;
    Ok(unpacked)
}

/// Why the entry loop stopped early.
enum EntryFailure {
    /// The archive stream could not be read (corrupt, truncated, or a stream limit was hit).
    Stream(io::Error),
    /// Writing into the scratch directory failed: our problem (disk full), not the asset's.
    Scratch { path: PathBuf, source: io::Error },
}

impl From<io::Error> for EntryFailure {
    fn from(err: io::Error) -> Self {
        Self::Stream(err)
    }
}

/// Walks the entries. Shape problems (a bad path, a link) are recorded and the entry skipped; resource
/// limits end the walk, since reading further is exactly what a bomb wants.
fn unpack_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    dest: &Path,
    limits: &IntakeLimits,
    select: Select<'_>,
    unpacked: &mut Unpacked,
) -> Result<(), EntryFailure> {
    let mut pending_name: Option<Vec<u8>> = None;
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        unpacked.entries += 1;
        if unpacked.entries > limits.max_entries {
            unpacked.findings.push(Finding::new(
                &codes::ARCHIVE_TOO_MANY_ENTRIES,
                format!("the archive has more than {} entries", limits.max_entries),
            ));
            return Ok(());
        }
        let entry_type = entry.header().entry_type();
        match entry_type {
            EntryType::GNULongName => {
                let Some(name) = read_bounded(&mut entry, MAX_NAME_BYTES)? else {
                    unpacked.findings.push(Finding::new(
                        &codes::ARCHIVE_UNREADABLE,
                        format!("an entry name is longer than {MAX_NAME_BYTES} bytes"),
                    ));
                    return Ok(());
                };
                pending_name = Some(trim_nul(name));
                continue;
            }
            EntryType::XHeader => {
                let Some(records) = read_bounded(&mut entry, MAX_PAX_BYTES)? else {
                    unpacked.findings.push(Finding::new(
                        &codes::ARCHIVE_UNREADABLE,
                        format!("a PAX header is longer than {MAX_PAX_BYTES} bytes"),
                    ));
                    return Ok(());
                };
                match pax_path(&records) {
                    Ok(Some(name)) => pending_name = Some(name),
                    Ok(None) => {}
                    Err(problem) => {
                        unpacked.findings.push(Finding::new(&codes::ARCHIVE_UNREADABLE, problem));
                        return Ok(());
                    }
                }
                continue;
            }
            // Global PAX headers and long link names carry nothing we use; links are refused below.
            EntryType::XGlobalHeader | EntryType::GNULongLink => {
                if read_bounded(&mut entry, MAX_PAX_BYTES)?.is_none() {
                    unpacked.findings.push(Finding::new(
                        &codes::ARCHIVE_UNREADABLE,
                        format!("an extension header is longer than {MAX_PAX_BYTES} bytes"),
                    ));
                    return Ok(());
                }
                continue;
            }
            _ => {}
        }

        let name = pending_name.take().unwrap_or_else(|| entry.path_bytes().into_owned());
        let shown = String::from_utf8_lossy(&name).into_owned();
        let relative = match safe_relative_path(&name) {
            Ok(relative) => relative,
            Err(finding) => {
                unpacked.findings.push(finding.at(Location::archive_entry(&shown)));
                continue;
            }
        };

        let selected = match select {
            Select::All => true,
            Select::Only(wanted) => relative == wanted,
        };
        match entry_type {
            EntryType::Directory if !selected => {}
            EntryType::Directory => {
                let target = dest.join(&relative);
                if let Err(source) = fs::create_dir_all(&target) {
                    if conflicts_with_earlier_entry(dest, &relative) {
                        unpacked.findings.push(duplicate(&shown));
                        continue;
                    }
                    return Err(EntryFailure::Scratch { path: target, source });
                }
            }
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.size();
                if size > limits.max_entry_bytes {
                    unpacked.findings.push(
                        Finding::new(
                            &codes::ARCHIVE_ENTRY_TOO_LARGE,
                            format!(
                                "`{shown}` is {size} bytes; the per-file limit is {} bytes",
                                limits.max_entry_bytes
                            ),
                        )
                        .at(Location::archive_entry(&shown)),
                    );
                    return Ok(());
                }
                if unpacked.bytes.saturating_add(size) > limits.max_unpacked_bytes {
                    unpacked.findings.push(
                        Finding::new(
                            &codes::ARCHIVE_TOO_LARGE,
                            format!("the archive unpacks to more than {} bytes", limits.max_unpacked_bytes),
                        )
                        .at(Location::archive_entry(&shown)),
                    );
                    return Ok(());
                }
                if !selected || !write_file(&mut entry, dest, &relative, &shown, unpacked)? {
                    continue;
                }
                if let Select::Only(_) = select {
                    return Ok(());
                }
            }
            EntryType::Symlink | EntryType::Link => {
                let kind = if entry_type == EntryType::Symlink { "symbolic" } else { "hard" };
                let target =
                    entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                unpacked.findings.push(
                    Finding::new(&codes::ARCHIVE_LINK, format!("`{shown}` is a {kind} link to `{target}`"))
                        .at(Location::archive_entry(&shown))
                        .help("package real files; `cargo package` follows symlinks for you"),
                );
            }
            other => {
                unpacked.findings.push(
                    Finding::new(&codes::ARCHIVE_SPECIAL_FILE, format!("`{shown}` is a {}", describe(other)))
                        .at(Location::archive_entry(&shown)),
                );
            }
        }
    }
    Ok(())
}

/// Copies one regular file into place. Returns `false` when the entry was refused (a finding was recorded).
fn write_file<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    dest: &Path,
    relative: &Path,
    shown: &str,
    unpacked: &mut Unpacked,
) -> Result<bool, EntryFailure> {
    let target = dest.join(relative);
    let scratch = |path: &Path| {
        let path = path.to_owned();
        move |source| EntryFailure::Scratch { path, source }
    };
    if let Some(parent) = target.parent()
        && let Err(source) = fs::create_dir_all(parent)
    {
        if conflicts_with_earlier_entry(dest, relative) {
            unpacked.findings.push(duplicate(shown));
            return Ok(false);
        }
        return Err(EntryFailure::Scratch { path: parent.to_owned(), source });
    }
    let mut file = match OpenOptions::new().write(true).create_new(true).open(&target) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists || conflicts_with_earlier_entry(dest, relative) => {
            unpacked.findings.push(duplicate(shown));
            return Ok(false);
        }
        Err(source) => {
            return Err(EntryFailure::Scratch { path: target, source });
        }
    };
    // The header's size was checked against the limits; `tar` reads exactly that many bytes.
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = entry.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        file.write_all(&buffer[..n]).map_err(scratch(&target))?;
        unpacked.bytes += n as u64;
    }
    Ok(true)
}

/// True when `relative` could not be created because an earlier entry took its place or a parent's
/// (`a` as a file, then `a/b`): the archive is inconsistent, not our disk.
fn conflicts_with_earlier_entry(dest: &Path, relative: &Path) -> bool {
    relative
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .any(|p| dest.join(p).symlink_metadata().is_ok_and(|m| p != relative && !m.is_dir()))
        || dest.join(relative).symlink_metadata().is_ok()
}

fn duplicate(shown: &str) -> Finding {
    Finding::new(&codes::ARCHIVE_DUPLICATE_ENTRY, format!("`{shown}` conflicts with an earlier entry of the same path"))
        .at(Location::archive_entry(shown))
}

fn describe(entry_type: EntryType) -> &'static str {
    match entry_type {
        EntryType::Char => "character device",
        EntryType::Block => "block device",
        EntryType::Fifo => "FIFO (named pipe)",
        EntryType::GNUSparse => "GNU sparse file",
        _ => "special entry that is neither a file nor a directory",
    }
}

/// Reads a whole entry if it is at most `max` bytes; `None` if it is larger (nothing is read then).
fn read_bounded<R: Read>(entry: &mut tar::Entry<'_, R>, max: u64) -> io::Result<Option<Vec<u8>>> {
    if entry.size() > max {
        return Ok(None);
    }
    let mut data = Vec::with_capacity(entry.size() as usize);
    entry.take(max).read_to_end(&mut data)?;
    Ok(Some(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_normalised() {
        assert_eq!(safe_relative_path(b"a/./b//c.rs").unwrap(), PathBuf::from("a/b/c.rs"));
    }

    #[test]
    fn escaping_paths_are_refused_with_their_code() {
        let code = |name: &[u8]| safe_relative_path(name).unwrap_err().code;
        assert_eq!(code(b"../evil"), "archive-path-traversal");
        assert_eq!(code(b"a/../../evil"), "archive-path-traversal");
        assert_eq!(code(b"a\\..\\..\\evil"), "archive-path-traversal");
        assert_eq!(code(b"/etc/passwd"), "archive-absolute-path");
        assert_eq!(code(b"C:/Windows"), "archive-absolute-path");
        assert_eq!(code(b"./"), "archive-unreadable");
        assert_eq!(code(b"\xff\xfe"), "archive-unreadable");
    }
}

//! Entry names of a submitted archive: checked and made relative (no absolute paths, drive prefixes or
//! `..`), NUL padding trimmed, and the one PAX record Assay reads (`path`).

use std::path::{Component, Path, PathBuf};

use assay_report::{Finding, codes};

/// Checks an entry name and turns it into a relative path below the unpack root.
pub(super) fn safe_relative_path(name: &[u8]) -> Result<PathBuf, Finding> {
    let text = std::str::from_utf8(name)
        .map_err(|_| Finding::new(&codes::ARCHIVE_UNREADABLE, "an entry name is not valid UTF-8"))?;
    if text.is_empty() || text.contains('\0') {
        return Err(Finding::new(&codes::ARCHIVE_UNREADABLE, "an entry has an empty or malformed name"));
    }
    if text.starts_with('/') || text.starts_with('\\') || has_drive_prefix(text) {
        return Err(Finding::new(
            &codes::ARCHIVE_ABSOLUTE_PATH,
            format!("`{text}` is an absolute path; archive entries must be relative"),
        ));
    }
    let mut relative = PathBuf::new();
    // Backslashes are separators on Windows tooling; treat them as such so `..\x` cannot slip through.
    for part in text.split(['/', '\\']) {
        match Path::new(part).components().next() {
            None | Some(Component::CurDir) => {}
            Some(Component::ParentDir) => {
                return Err(Finding::new(
                    &codes::ARCHIVE_PATH_TRAVERSAL,
                    format!("`{text}` contains `..` and would be written outside the unpack directory"),
                ));
            }
            Some(Component::Normal(_)) => relative.push(part),
            Some(Component::RootDir | Component::Prefix(_)) => {
                return Err(Finding::new(&codes::ARCHIVE_ABSOLUTE_PATH, format!("`{text}` is an absolute path")));
            }
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(Finding::new(&codes::ARCHIVE_UNREADABLE, format!("`{text}` names no file")));
    }
    Ok(relative)
}

pub(super) fn has_drive_prefix(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

pub(super) fn trim_nul(mut name: Vec<u8>) -> Vec<u8> {
    while name.last() == Some(&0) {
        name.pop();
    }
    name
}

/// The `path` of a PAX record set. A `size` record is refused: in raw mode it would desynchronise the
/// stream, and no cargo-written archive needs one.
pub(super) fn pax_path(records: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut path = None;
    for record in tar::PaxExtensions::new(records) {
        let record = record.map_err(|err| format!("a PAX header is malformed: {err}"))?;
        match record.key_bytes() {
            b"path" => path = Some(record.value_bytes().to_vec()),
            b"size" => {
                return Err("a PAX header overrides an entry size, which Assay does not accept".to_owned());
            }
            _ => {}
        }
    }
    Ok(path)
}

//! Fetching a submission's archive into a private scratch file: `file://` under the archive root, or
//! `http(s)://` to a public address, with a timeout and a size cap, hashed while it is copied. The scan reads
//! only this copy, so the bytes that were checked against the message are the bytes that are judged.
//!
//! The message is untrusted: a `file://` URI could name the signing key (and the signed report would state
//! its size and sha256), a FIFO (a thread blocked forever), or a link; an http(s) URI, or a redirect, could
//! aim at the metadata service or a loopback admin port. So: `file://` only for regular files under
//! `--archive-root`, opened without following links and without blocking; http(s) only to public addresses,
//! checked after resolution and connected to as checked, with no redirect to another origin; and a mismatch
//! never reports what was fetched.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::address::{CheckedResolver, PrivateAddress};
use super::message::Archive;
use crate::intake::hex;

/// Redirects followed within one origin (a mirror's `/latest` → `/v1.2.0`); another origin is refused.
const MAX_REDIRECTS: usize = 5;

/// A fetched archive; its directory is removed on drop.
#[derive(Debug)]
pub struct Fetched {
    _dir: tempfile::TempDir,
    /// The copy, named like the original file.
    pub path: PathBuf,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Worth another try (network, timeout, missing file, disk).
    #[error("{0}")]
    Retryable(String),
    /// The bytes are not the ones the message promised, or the URI is not one this worker fetches:
    /// retrying cannot help.
    #[error("{0}")]
    Mismatch(String),
}

/// What a worker fetches, and how.
#[derive(Clone, Debug)]
pub struct FetchPolicy {
    /// Largest archive fetched, whatever the message says.
    pub max_bytes: u64,
    /// Whole-request timeout for http(s).
    pub timeout: Duration,
    /// `file://` archives must be regular files below this directory (canonical); `None` refuses `file://`.
    pub archive_root: Option<PathBuf>,
    /// Let http(s) reach loopback, private, link-local and multicast addresses (tests, private mirrors).
    pub allow_private: bool,
}

/// Fetches `archive` into a new temp dir under `scratch_parent` and checks its size and sha256.
pub fn fetch(archive: &Archive, scratch_parent: &Path, policy: &FetchPolicy) -> Result<Fetched, FetchError> {
    if archive.size > policy.max_bytes {
        return Err(FetchError::Mismatch(format!(
            "archive.size {} is over the worker's limit of {} bytes",
            archive.size, policy.max_bytes
        )));
    }
    let url = url::Url::parse(&archive.uri).map_err(|err| FetchError::Mismatch(format!("archive.uri: {err}")))?;
    let name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back().map(str::to_owned))
        .filter(|name| !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']))
        .unwrap_or_else(|| "archive.crate".to_owned());
    let dir = crate::scratch::create(scratch_parent, "fetch-")
        .map_err(|err| FetchError::Retryable(format!("cannot create a scratch dir: {err}")))?;
    let path = dir.path().join(&name);
    // One byte more than promised is enough to prove a mismatch; never read further.
    let cap = archive.size + 1;
    let (size, sha256) = match url.scheme() {
        "file" => copy_hashed(open_under_root(&url, policy)?, &path, cap)?,
        "http" | "https" => copy_hashed(http_body(&url, policy)?, &path, cap)?,
        other => return Err(FetchError::Mismatch(format!("unsupported scheme `{other}`"))),
    };
    // What was fetched is not said: the URI may have named a file the publisher must learn nothing about.
    if size != archive.size {
        return Err(FetchError::Mismatch("the archive's size is not archive.size".to_owned()));
    }
    if sha256 != archive.sha256 {
        return Err(FetchError::Mismatch("the archive's sha256 is not archive.sha256".to_owned()));
    }
    Ok(Fetched { _dir: dir, path })
}

/// Opens a `file://` archive: a regular file below the archive root, reached without following a link at its
/// last step and without blocking (a FIFO opens at once and is then refused).
fn open_under_root(url: &url::Url, policy: &FetchPolicy) -> Result<File, FetchError> {
    let Some(root) = &policy.archive_root else {
        return Err(FetchError::Mismatch(
            "file:// archives are refused: this worker has no --archive-root (ASSAY_ARCHIVE_ROOT)".to_owned(),
        ));
    };
    let outside =
        || FetchError::Mismatch("archive.uri does not name a file under the worker's archive root".to_owned());
    let requested = url.to_file_path().map_err(|()| outside())?;
    let resolved = match std::fs::canonicalize(&requested) {
        Ok(resolved) => resolved,
        // Not there (yet): an upload may still be landing, but only a path that would be inside the root.
        Err(err) if err.kind() == io::ErrorKind::NotFound && lexically_under(&requested, root) => {
            return Err(FetchError::Retryable("no file at archive.uri yet".to_owned()));
        }
        Err(_) => return Err(outside()),
    };
    if !resolved.starts_with(root) {
        return Err(outside());
    }
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(&resolved)
        .map_err(|err| FetchError::Retryable(format!("cannot open the archive: {}", err.kind())))?;
    let is_file = file.metadata().map(|meta| meta.is_file()).unwrap_or(false);
    if !is_file {
        return Err(FetchError::Mismatch("archive.uri does not name a regular file".to_owned()));
    }
    Ok(file)
}

/// Whether `path` is below `root` by its components alone (no `..`), for a path that does not exist yet.
fn lexically_under(path: &Path, root: &Path) -> bool {
    path.starts_with(root) && !path.components().any(|c| matches!(c, std::path::Component::ParentDir))
}

/// The body of an http(s) archive: public addresses only (unless allowed), same-origin redirects only.
fn http_body(url: &url::Url, policy: &FetchPolicy) -> Result<impl Read + use<>, FetchError> {
    let config = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(crate::deps::root_certs()).build())
        .timeout_global(Some(policy.timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .build();
    let resolver = CheckedResolver { allow_private: policy.allow_private };
    let agent = ureq::Agent::with_parts(config, ureq::unversioned::transport::DefaultConnector::default(), resolver);
    let mut current = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let response = agent.get(current.as_str()).call().map_err(|err| refusal_or_retry(&current, err))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response.into_body().into_with_config().limit(policy.max_bytes.saturating_add(1)).reader());
        }
        if !(300..400).contains(&status) {
            return Err(FetchError::Retryable(format!("cannot fetch {current}: HTTP {status}")));
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .and_then(|location| current.join(location).ok())
            .ok_or_else(|| FetchError::Mismatch(format!("{current} redirects (HTTP {status}) without a location")))?;
        if location.origin() != url.origin() {
            return Err(FetchError::Mismatch(format!(
                "{current} redirects to another origin ({}); archives are fetched from the origin the message names",
                location.origin().ascii_serialization()
            )));
        }
        current = location;
    }
    Err(FetchError::Mismatch(format!("{url} redirects more than {MAX_REDIRECTS} times")))
}

/// A refused address is final; anything else about the network may pass.
fn refusal_or_retry(url: &url::Url, err: ureq::Error) -> FetchError {
    if let ureq::Error::Io(io_error) = &err
        && let Some(private) = io_error.get_ref().and_then(|inner| inner.downcast_ref::<PrivateAddress>())
    {
        return FetchError::Mismatch(format!("{url}: {private}"));
    }
    FetchError::Retryable(format!("cannot fetch {url}: {err}"))
}

fn copy_hashed(source: impl Read, target: &Path, cap: u64) -> Result<(u64, String), FetchError> {
    let retry = |what: &str, err: io::Error| FetchError::Retryable(format!("{what}: {err}"));
    let mut output = File::create(target).map_err(|err| retry("cannot write the scratch copy", err))?;
    let mut limited = source.take(cap);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = limited.read(&mut buffer).map_err(|err| retry("cannot read the archive", err))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        output.write_all(&buffer[..n]).map_err(|err| retry("cannot write the scratch copy", err))?;
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

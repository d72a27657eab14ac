//! Fetching a submission's archive into a private scratch file: `file://` or `http(s)://`, with a
//! timeout and a size cap, hashed while it is copied. The scan reads only this copy, so the bytes that
//! were checked against the message are the bytes that are judged.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::message::Archive;
use crate::intake::hex;

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
    /// The bytes are not the ones the message promised: retrying cannot help.
    #[error("{0}")]
    Mismatch(String),
}

/// Bounds on a fetch.
#[derive(Clone, Copy, Debug)]
pub struct FetchLimits {
    /// Largest archive fetched, whatever the message says.
    pub max_bytes: u64,
    /// Whole-request timeout for http(s).
    pub timeout: Duration,
}

/// Fetches `archive` into a new temp dir under `scratch_parent` and checks its size and sha256.
pub fn fetch(archive: &Archive, scratch_parent: &Path, limits: FetchLimits) -> Result<Fetched, FetchError> {
    if archive.size > limits.max_bytes {
        return Err(FetchError::Mismatch(format!(
            "archive.size {} is over the worker's limit of {} bytes",
            archive.size, limits.max_bytes
        )));
    }
    let url = url::Url::parse(&archive.uri).map_err(|err| FetchError::Mismatch(format!("archive.uri: {err}")))?;
    let name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back().map(str::to_owned))
        .filter(|name| !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\']))
        .unwrap_or_else(|| "archive.crate".to_owned());
    let dir = tempfile::Builder::new()
        .prefix("assay-fetch-")
        .tempdir_in(scratch_parent)
        .map_err(|err| FetchError::Retryable(format!("cannot create a scratch dir: {err}")))?;
    let path = dir.path().join(&name);
    // One byte more than promised is enough to prove a mismatch; never read further.
    let cap = archive.size + 1;
    let (size, sha256) = match url.scheme() {
        "file" => {
            let source = url
                .to_file_path()
                .map_err(|()| FetchError::Mismatch(format!("`{}` is not a local path", archive.uri)))?;
            let file = File::open(&source)
                .map_err(|err| FetchError::Retryable(format!("cannot open {}: {err}", source.display())))?;
            copy_hashed(file, &path, cap)?
        }
        "http" | "https" => {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .tls_config(ureq::tls::TlsConfig::builder().root_certs(crate::deps::root_certs()).build())
                .timeout_global(Some(limits.timeout))
                .http_status_as_error(true)
                .build()
                .into();
            let response = agent
                .get(archive.uri.as_str())
                .call()
                .map_err(|err| FetchError::Retryable(format!("cannot fetch {}: {err}", archive.uri)))?;
            copy_hashed(response.into_body().into_reader(), &path, cap)?
        }
        other => return Err(FetchError::Mismatch(format!("unsupported scheme `{other}`"))),
    };
    if size != archive.size {
        return Err(FetchError::Mismatch(format!(
            "the archive is {}{size} bytes, but the message says {}",
            if size == cap { "over " } else { "" },
            archive.size
        )));
    }
    if sha256 != archive.sha256 {
        return Err(FetchError::Mismatch(format!(
            "the archive's sha256 is {sha256}, but the message says {}",
            archive.sha256
        )));
    }
    Ok(Fetched { _dir: dir, path })
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

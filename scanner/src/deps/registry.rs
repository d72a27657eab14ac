//! Downloading one crate from the registry's download endpoint: a bounded request, retried with backoff
//! when the failure may pass, and handed to the cache, which keeps it only when its sha256 is the pinned one.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::thread;
use std::time::Duration;

use ureq::unversioned::transport::DefaultConnector;

use super::cache::{CacheError, CrateCache};
use super::resolver::CachingResolver;

/// crates.io's download endpoint (the `dl` of its index `config.json`).
pub const CRATES_IO_DOWNLOAD: &str = "https://static.crates.io/crates";

/// Where crates are downloaded from, in the form of a registry's `dl` setting: a base URL to which
/// `/{crate}/{version}/download` is appended, or a template with cargo's markers (`{crate}`, `{version}`,
/// `{prefix}`, `{lowerprefix}`, `{sha256-checksum}`), e.g. a marketplace's mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryUrl(String);

impl Default for RegistryUrl {
    fn default() -> Self {
        Self(CRATES_IO_DOWNLOAD.to_owned())
    }
}

impl FromStr for RegistryUrl {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(&text.replace(['{', '}'], "")).map_err(|err| format!("`{text}`: {err}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("`{text}` is not an http(s) URL; crates are downloaded over HTTP(S) only"));
        }
        Ok(Self(text.trim_end_matches('/').to_owned()))
    }
}

impl fmt::Display for RegistryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl RegistryUrl {
    /// The download URL of one crate version, as cargo builds it from `dl`.
    pub fn crate_url(&self, name: &str, version: &str, sha256: &str) -> String {
        const MARKERS: [&str; 5] = ["{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"];
        if !MARKERS.iter().any(|marker| self.0.contains(marker)) {
            return format!("{}/{name}/{version}/download", self.0);
        }
        let prefix = match name.len() {
            1 => "1".to_owned(),
            2 => "2".to_owned(),
            3 => format!("3/{}", &name[..1]),
            _ => format!("{}/{}", &name[..2], &name[2..4]),
        };
        self.0
            .replace("{crate}", name)
            .replace("{version}", version)
            .replace("{prefix}", &prefix)
            .replace("{lowerprefix}", &prefix.to_lowercase())
            .replace("{sha256-checksum}", sha256)
    }
}

/// Bounds on downloads.
#[derive(Clone, Debug)]
pub struct DownloadLimits {
    /// Whole-request bound of one attempt.
    pub timeout: Duration,
    /// Attempts per crate (the first included) when the failure may pass: a dropped connection, 5xx, 429.
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each later one.
    pub backoff: Duration,
    /// Largest `.crate` kept (crates.io refuses uploads over 10 MiB unless granted more).
    pub max_crate_bytes: u64,
    /// Most bytes downloaded for one scan.
    pub max_total_bytes: u64,
    /// Downloads at once.
    pub parallel: usize,
}

impl Default for DownloadLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            attempts: 3,
            backoff: Duration::from_millis(500),
            max_crate_bytes: 64 * 1024 * 1024,
            max_total_bytes: 2 * 1024 * 1024 * 1024,
            parallel: 8,
        }
    }
}

/// Why one crate could not be downloaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The registry answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The registry could not be reached or the transfer failed.
    #[error("cannot download {url}: {detail}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The bytes were refused by the cache (checksum, size) or could not be stored.
    #[error("{url}: {source}")]
    Cache {
        /// The URL.
        url: String,
        /// Why.
        source: CacheError,
    },
}

impl DownloadError {
    /// Whether another attempt may succeed.
    fn may_pass(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Transport { .. } => true,
            Self::Cache { source, .. } => matches!(source, CacheError::Read(_)),
        }
    }
}

/// The roots TLS trusts: the system's bundle (`SSL_CERT_FILE`, else Debian's and Red Hat's paths), as curl
/// and cargo use, so a registry mirror behind a company CA works; Mozilla's bundled roots when there is none.
pub fn root_certs() -> ureq::tls::RootCerts {
    let candidates = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"].map(PathBuf::from));
    for path in candidates {
        let Ok(pem) = std::fs::read(&path) else { continue };
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert.to_owned()),
                _ => None,
            })
            .collect();
        if !certs.is_empty() {
            return ureq::tls::RootCerts::new_with_certs(&certs);
        }
    }
    ureq::tls::RootCerts::WebPki
}

/// The HTTP client crates are downloaded with: one per scan, each host resolved once, and one kept-alive
/// connection per download thread (so neither a lookup nor a TLS handshake is repeated per crate).
pub fn agent(limits: &DownloadLimits) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(root_certs()).build())
        .timeout_global(Some(limits.timeout))
        .timeout_connect(Some(limits.timeout.min(Duration::from_secs(10))))
        .max_idle_connections_per_host(limits.parallel.max(1))
        .http_status_as_error(true)
        .user_agent(concat!("assay/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(config, DefaultConnector::default(), CachingResolver::default())
}

/// Downloads `url` into the cache under `sha256`, retrying failures that may pass.
pub fn download(
    agent: &ureq::Agent,
    url: &str,
    cache: &CrateCache,
    sha256: &str,
    limits: &DownloadLimits,
) -> Result<PathBuf, DownloadError> {
    let mut wait = limits.backoff;
    let mut attempt = 1;
    loop {
        match download_once(agent, url, cache, sha256, limits.max_crate_bytes) {
            Err(err) if err.may_pass() && attempt < limits.attempts => {
                thread::sleep(wait);
                wait *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn download_once(
    agent: &ureq::Agent,
    url: &str,
    cache: &CrateCache,
    sha256: &str,
    limit: u64,
) -> Result<PathBuf, DownloadError> {
    let response = agent.get(url).call().map_err(|err| match err {
        ureq::Error::StatusCode(status) => DownloadError::Status { url: url.to_owned(), status },
        other => DownloadError::Transport { url: url.to_owned(), detail: other.to_string() },
    })?;
    let body = response.into_body().into_with_config().limit(limit.saturating_add(1)).reader();
    cache.insert(sha256, body, limit).map_err(|source| DownloadError::Cache { url: url.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_gets_cargos_download_path() {
        let registry = RegistryUrl::default();
        assert_eq!(registry.crate_url("itoa", "1.0.11", "ab"), "https://static.crates.io/crates/itoa/1.0.11/download");
    }

    #[test]
    fn a_template_gets_its_markers_filled() {
        let registry: RegistryUrl =
            "https://mirror.example/{prefix}/{crate}/{crate}-{version}.crate".parse().unwrap_or_default();
        assert_eq!(registry.crate_url("serde", "1.0.0", "ab"), "https://mirror.example/se/rd/serde/serde-1.0.0.crate");
        assert_eq!(registry.crate_url("syn", "2.0.0", "ab"), "https://mirror.example/3/s/syn/syn-2.0.0.crate");
    }

    #[test]
    fn a_registry_that_never_answers_times_out_and_is_tried_again() {
        use std::net::TcpListener;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap_or_else(|err| panic!("{err}"));
        let url = format!(
            "http://{}/crates/x/1.0.0/download",
            listener.local_addr().map(|a| a.to_string()).unwrap_or_default()
        );
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        // Accepts and holds every connection without a byte of answer.
        thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        let limits = DownloadLimits {
            timeout: Duration::from_millis(300),
            attempts: 2,
            backoff: Duration::from_millis(10),
            ..DownloadLimits::default()
        };
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let cache = CrateCache::new(dir.path());
        let err = download(&agent(&limits), &url, &cache, &"a".repeat(64), &limits).unwrap_err();
        assert!(matches!(err, DownloadError::Transport { .. }), "{err}");
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "a timeout may pass, so it is tried again, then given up");
    }

    #[test]
    fn only_http_registries_are_accepted() {
        assert!("file:///srv/crates".parse::<RegistryUrl>().unwrap_err().contains("http(s)"));
        assert!("not a url".parse::<RegistryUrl>().is_err());
        assert!("http://127.0.0.1:8080/crates/".parse::<RegistryUrl>().is_ok());
    }
}

//! The RustSec advisory database: opening it once, knowing which one it is and how old, and fetching it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use assay_report::audit::DatabaseIdentity;
use assay_report::{Finding, codes};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::cache::{self, CachedDatabase};
use crate::intake::hex;

/// The official advisory database, fetched by `assay db fetch`.
pub const OFFICIAL_URL: &str = "https://github.com/rustsec/advisory-db.git";

/// A loaded advisory database and what identifies it.
pub struct AdvisoryDatabase {
    /// Each package's advisories: parsed, or raw JSON from the cache, parsed when a lockfile names the package.
    by_package: HashMap<String, Advisories>,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Commit, date and digest.
    pub identity: DatabaseIdentity,
    /// Commit date, parsed; the database's age is measured from it.
    pub date: Option<Timestamp>,
}

/// The advisories of one package.
enum Advisories {
    Parsed(Vec<rustsec::Advisory>),
    Raw(Box<serde_json::value::RawValue>),
}

/// The database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// Nothing at the path.
    #[error(
        "no advisory database at {}\n  fetch one with: assay db fetch --dir {}\n  or point at one with --advisory-db DIR or $ASSAY_ADVISORY_DB",
        path.display(), path.display()
    )]
    Missing {
        /// The path tried.
        path: PathBuf,
    },
    /// A directory, but no advisories in it.
    #[error(
        "the advisory database at {} holds no advisories (expected crates/<name>/RUSTSEC-*.md)\n  fetch one with: assay db fetch --dir {}",
        path.display(), path.display()
    )]
    Empty {
        /// The path tried.
        path: PathBuf,
    },
    /// `rustsec` refused it (a malformed advisory, unreadable files).
    #[error("cannot load the advisory database at {}: {source}", path.display())]
    Load {
        /// The path tried.
        path: PathBuf,
        /// The cause.
        source: rustsec::Error,
    },
    /// Reading the files to identify it failed.
    #[error("cannot read the advisory database at {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `git` failed while fetching.
    #[error("{0}")]
    Fetch(String),
}

impl AdvisoryDatabase {
    /// Loads the database at `path` and identifies it, through the parsed-database cache in the cache
    /// directory (see [`crate::cache_dir::cache_root`]).
    pub fn open(path: &Path) -> Result<Self, DatabaseError> {
        Self::open_with_cache(path, Some(&crate::cache_dir::cache_root()))
    }

    /// Loads the database at `path`: from the cache in `cache_dir` when its fingerprint (file stats) still
    /// matches, else by parsing every advisory file and hashing it for the identity (~40 ms for the full
    /// database), refreshing the cache. A cache that cannot be written is skipped silently: it is only speed.
    pub fn open_with_cache(path: &Path, cache_dir: Option<&Path>) -> Result<Self, DatabaseError> {
        if !path.join("crates").is_dir() {
            return Err(if path.exists() {
                DatabaseError::Empty { path: path.to_owned() }
            } else {
                DatabaseError::Missing { path: path.to_owned() }
            });
        }
        let cache = cache_dir.map(|dir| cache::cache_file(dir, path)).zip(cache::fingerprint(path).ok());
        if let Some((file, fingerprint)) = &cache
            && let Some(cached) = cache::load(file, fingerprint)
        {
            let by_package = cached.packages.into_iter().map(|(name, raw)| (name, Advisories::Raw(raw))).collect();
            return Ok(Self::new(path, cached.identity, by_package));
        }
        let db =
            rustsec::Database::open(path).map_err(|source| DatabaseError::Load { path: path.to_owned(), source })?;
        let mut advisory_count = 0;
        let mut by_package: HashMap<String, Vec<rustsec::Advisory>> = HashMap::new();
        for advisory in db {
            advisory_count += 1;
            by_package.entry(advisory.metadata.package.to_string()).or_default().push(advisory);
        }
        if advisory_count == 0 {
            return Err(DatabaseError::Empty { path: path.to_owned() });
        }
        let mut identity = identify(path)?;
        identity.advisory_count = advisory_count;
        if let Some((file, fingerprint)) = cache
            && let Ok(cached) = CachedDatabase::new(fingerprint, identity.clone(), &by_package)
        {
            let _ = cache::store(&file, &cached);
        }
        let by_package = by_package.into_iter().map(|(name, list)| (name, Advisories::Parsed(list))).collect();
        Ok(Self::new(path, identity, by_package))
    }

    fn new(path: &Path, identity: DatabaseIdentity, by_package: HashMap<String, Advisories>) -> Self {
        let date = identity.date.as_deref().and_then(|d| d.parse::<Timestamp>().ok());
        Self { by_package, path: path.to_owned(), identity, date }
    }

    /// Every advisory about `package`: borrowed when parsed, parsed from the cache's raw JSON once per call
    /// otherwise (callers filter the one list with as many queries as they need).
    pub(crate) fn advisories_of(&self, package: &str) -> Cow<'_, [rustsec::Advisory]> {
        match self.by_package.get(package) {
            Some(Advisories::Parsed(list)) => Cow::Borrowed(list),
            Some(Advisories::Raw(raw)) => Cow::Owned(cache::parse(raw)),
            None => Cow::Borrowed(&[]),
        }
    }

    /// Whole days since the database's commit date; `None` when the date is unknown.
    pub fn age_days(&self, now: Timestamp) -> Option<i64> {
        self.date.map(|date| now.duration_since(date).as_secs().max(0) / 86_400)
    }

    /// A `db-stale` finding when the database is older than `max_age_days` or of unknown age.
    pub fn staleness(&self, now: Timestamp, max_age_days: u32) -> Option<Finding> {
        let help = format!("update it with `assay db fetch --dir {}`", self.path.display());
        match self.age_days(now) {
            Some(age) if age <= i64::from(max_age_days) => None,
            Some(age) => Some(
                Finding::new(
                    &codes::DB_STALE,
                    format!(
                        "the advisory database is {age} days old (last commit {}); the limit is {max_age_days} days",
                        self.identity.date.as_deref().unwrap_or("?")
                    ),
                )
                .help(help),
            ),
            None => Some(
                Finding::new(
                    &codes::DB_STALE,
                    "the advisory database's age is unknown: it is neither a git checkout nor has a SNAPSHOT file",
                )
                .help(help),
            ),
        }
    }
}

/// Where the database lives unless told otherwise: `$ASSAY_ADVISORY_DB`, else `advisory-db/` in the cache
/// directory (see [`crate::cache_dir::cache_root`]).
pub fn default_location() -> PathBuf {
    match std::env::var_os("ASSAY_ADVISORY_DB").filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => crate::cache_dir::cache_root().join("advisory-db"),
    }
}

/// Identifies the database: a git checkout by its HEAD commit; otherwise by a digest of its advisory
/// files, with the commit and date of a `SNAPSHOT` file when one is present.
fn identify(path: &Path) -> Result<DatabaseIdentity, DatabaseError> {
    if path.join(".git").exists()
        && let Some((commit, date)) = git_head(path)
    {
        return Ok(DatabaseIdentity {
            kind: "git".to_owned(),
            commit: Some(commit),
            date: Some(date),
            content_sha256: None,
            advisory_count: 0,
        });
    }
    let content_sha256 = Some(content_digest(path)?);
    let snapshot = fs::read_to_string(path.join("SNAPSHOT")).ok();
    let field = |name: &str| {
        snapshot.as_deref().and_then(|text| {
            text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':').map(|v| v.trim().to_owned()))
        })
    };
    let (kind, commit, date) = match &snapshot {
        Some(_) => ("snapshot", field("commit"), field("commit-date")),
        None => ("content", None, None),
    };
    Ok(DatabaseIdentity { kind: kind.to_owned(), commit, date, content_sha256, advisory_count: 0 })
}

/// HEAD commit and its ISO date, from the system `git` (no in-process git implementation).
fn git_head(path: &Path) -> Option<(String, String)> {
    let output = Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["log", "-1", "--format=%H%n%cI"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    Some((lines.next()?.to_owned(), lines.next()?.to_owned()))
}

/// sha256 over `path NUL size NUL contents` of every advisory file under `crates/` and `rust/`,
/// in byte order of the relative path.
fn content_digest(root: &Path) -> Result<String, DatabaseError> {
    let io_error = |source| DatabaseError::Io { path: root.to_owned(), source };
    let mut files = Vec::new();
    for collection in ["crates", "rust"] {
        let dir = root.join(collection);
        if !dir.is_dir() {
            continue;
        }
        for package in fs::read_dir(&dir).map_err(io_error)? {
            let package = package.map_err(io_error)?;
            if !package.file_type().map_err(io_error)?.is_dir() {
                continue;
            }
            for advisory in fs::read_dir(package.path()).map_err(io_error)? {
                let advisory = advisory.map_err(io_error)?.path();
                if advisory.extension().is_some_and(|ext| ext == "md" || ext == "toml") {
                    files.push(advisory.strip_prefix(root).unwrap_or(&advisory).to_string_lossy().into_owned());
                }
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for relative in &files {
        let content = fs::read(root.join(relative)).map_err(io_error)?;
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        hasher.update(content.len().to_string().as_bytes());
        hasher.update([0]);
        hasher.update(&content);
    }
    Ok(hex(&hasher.finalize()))
}

/// Clones the official database into `dir`, or fast-forwards an existing clone, with the system `git`.
pub fn fetch(dir: &Path, url: &str) -> Result<(), DatabaseError> {
    let run = |command: &mut Command| -> Result<(), DatabaseError> {
        let shown = format!("{command:?}");
        let status = command
            .status()
            .map_err(|err| DatabaseError::Fetch(format!("cannot run git ({err}); install git and retry")))?;
        if status.success() { Ok(()) } else { Err(DatabaseError::Fetch(format!("`{shown}` failed ({status})"))) }
    };
    if dir.join(".git").exists() {
        run(Command::new("git").arg("-C").arg(dir).args(["fetch", "--depth", "1", "origin", "HEAD"]))?;
        run(Command::new("git").arg("-C").arg(dir).args(["reset", "--hard", "FETCH_HEAD"]))
    } else if dir.exists() && fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
        Err(DatabaseError::Fetch(format!(
            "{} exists and is not a git checkout; remove it or choose another --dir",
            dir.display()
        )))
    } else {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|source| DatabaseError::Io { path: parent.to_owned(), source })?;
        }
        run(Command::new("git").args(["clone", "--depth", "1", url]).arg(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_database_says_how_to_fetch_one() {
        let err = AdvisoryDatabase::open(Path::new("/nonexistent/advisory-db")).err().unwrap();
        assert!(matches!(err, DatabaseError::Missing { .. }));
        assert!(err.to_string().contains("assay db fetch"), "{err}");
    }

    #[test]
    fn an_empty_directory_is_empty_not_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = AdvisoryDatabase::open(dir.path()).err().unwrap();
        assert!(matches!(err, DatabaseError::Empty { .. }), "{err}");
    }
}

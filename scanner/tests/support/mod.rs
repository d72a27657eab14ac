//! Shared helpers of the integration tests: running the real `assay` binary, making archives, finding `../shared`.

#![allow(dead_code)] // each test file uses a different subset
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

pub mod broker;
pub mod hostile_archive;
pub mod load_fixture;
pub mod postgres;
pub mod registry;
pub mod schemas;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// A fixture path, e.g. `fixture("connectors/echo")`.
pub fn fixture(relative: &str) -> PathBuf {
    workspace().join("fixtures").join(relative)
}

/// The synthetic advisory database.
pub fn synthetic_db() -> PathBuf {
    fixture("advisory-db")
}

/// `../shared/<relative>` next to the workspace, or `None` (with the reason printed) when it is absent.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let path = workspace().join("..").join("shared").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent (CI always has ../shared)", path.display());
        None
    }
}

/// A temporary directory per test with `in/`, `out/` and `tmp/` (the scratch parent, via TMPDIR).
///
/// `new()` runs `assay` offline with an empty cache of its own; `online()` lets it reach crates.io for
/// dependency metadata, with one cache shared by every test of the build so crates are fetched once.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    online: bool,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["in", "out", "tmp"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        Self { dir, online: false }
    }

    pub fn online() -> Self {
        Self { online: true, ..Self::new() }
    }

    /// The metadata cache this sandbox's scans use.
    pub fn cache_dir(&self) -> PathBuf {
        if self.online { PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("assay-cache") } else { self.path("cache") }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes an input file under `in/`.
    pub fn input(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path("in").join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `assay` with TMPDIR pointed at `tmp/`, so every scratch directory lands where the test can see it.
    pub fn assay(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_assay"));
        command
            .env("TMPDIR", self.path("tmp"))
            .env("ASSAY_CACHE_DIR", self.cache_dir())
            .env("ASSAY_OFFLINE", if self.online { "false" } else { "true" })
            // Static-scan tests skip the load stage; tests/load.rs turns it back on.
            .env("ASSAY_NO_LOAD", "true")
            .env_remove("ASSAY_ADVISORY_DB");
        command
    }

    /// Runs `assay scan INPUT --advisory-db synthetic --out out/ EXTRA…`.
    pub fn scan(&self, input: &Path, extra: &[&str]) -> Output {
        self.scan_with_db(input, &synthetic_db(), extra)
    }

    /// Runs `assay scan INPUT --advisory-db DB --out out/ EXTRA…`.
    pub fn scan_with_db(&self, input: &Path, db: &Path, extra: &[&str]) -> Output {
        self.scan_command(input, db).arg("--out").arg(self.path("out")).args(extra).output().unwrap()
    }

    /// `assay scan INPUT --advisory-db DB`, for a test to add options, environment or a working directory.
    pub fn scan_command(&self, input: &Path, db: &Path) -> Command {
        let mut command = self.assay();
        command.arg("scan").arg(input).arg("--advisory-db").arg(db);
        command
    }

    /// The report the last scan wrote.
    pub fn report(&self) -> Value {
        let text = std::fs::read_to_string(self.path("out/report.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Files and folders left below `tmp/` (scratch directories must all be gone).
    pub fn leftovers(&self) -> Vec<PathBuf> {
        walk(&self.path("tmp"))
    }

    /// Every path below the sandbox with this file name.
    pub fn find(&self, name: &str) -> Vec<PathBuf> {
        walk(self.dir.path()).into_iter().filter(|p| p.file_name().is_some_and(|n| n == name)).collect()
    }
}

/// Every file below `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            found.push(path.clone());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.extend(walk(&path));
            }
        }
    }
    found
}

/// Runs `tests/python/<script>` with `args`. `None` (reason printed) when python3 or the script's library
/// is missing outside CI; in CI both must be there (`.ci/run` installs them). Scripts exit 3 for a
/// missing library.
pub fn run_python(script: &str, args: &[&std::ffi::OsStr]) -> Option<Output> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(script);
    let in_ci = std::env::var_os("CI").is_some();
    let output = match Command::new("python3").arg(path).args(args).output() {
        Ok(output) => output,
        Err(err) if !in_ci => {
            eprintln!("skipped: no python3 ({err})");
            return None;
        }
        Err(err) => panic!("CI needs python3: {err}"),
    };
    if output.status.code() == Some(3) && !in_ci {
        eprintln!("skipped: {}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    Some(output)
}

/// Calls `done` until it returns true, failing after `timeout`.
pub fn poll(timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "condition not reached within {timeout:?}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// A header of a message taken from a queue, as text ("" when absent).
pub fn broker_header(message: &broker::Taken, name: &str) -> String {
    assay_scanner::worker::topology::header_text(message.headers.as_ref(), name).unwrap_or_default()
}

/// The finding codes of a report, in report order.
pub fn codes(report: &Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

/// The first finding with this code.
pub fn finding<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no `{code}` finding in {:#}", report["findings"]))
}

/// Exit code of a finished command (panics on a signal, which is itself a failure).
pub fn exit_code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("assay died by a signal; stderr:\n{}", String::from_utf8_lossy(&output.stderr)))
}

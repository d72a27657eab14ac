//! Load fixtures assembled into scratch assets: a fixture's files plus the shared HTTP core as `src/http.rs`.

use std::path::{Path, PathBuf};

/// Copies `fixtures/load/<name>` into `into/<name>` with `fixtures/load/http.rs` as `src/http.rs`.
pub fn assemble(name: &str, into: &Path) -> PathBuf {
    let source = super::fixture("load").join(name);
    let target = into.join(name);
    copy_dir(&source, &target);
    std::fs::copy(super::fixture("load/http.rs"), target.join("src/http.rs")).unwrap();
    target
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// Whether bubblewrap is installed; prints why load tests skip when it is not (CI installs it).
pub fn bubblewrap() -> bool {
    let found = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"].iter().any(|p| Path::new(p).is_file());
    if !found {
        eprintln!("skipped: bubblewrap is not installed (apt-get install bubblewrap; CI installs it)");
    }
    found
}

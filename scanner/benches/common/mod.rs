//! Inputs shared by the benches: the advisory database to use and a large synthetic lockfile.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// `../shared/advisory-db` (the real snapshot) when present, else the synthetic fixture database.
pub fn database_path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let shared = root.join("../shared/advisory-db");
    if shared.join("crates").is_dir() {
        shared
    } else {
        eprintln!("../shared/advisory-db is absent: benchmarking the synthetic fixture database");
        root.join("fixtures/advisory-db")
    }
}

/// A v4 lockfile of `bench-root` and `count` crates.io packages: half named after crates that have
/// advisories (so index lookups hit and version matching runs), half not; versions vary so some
/// advisories match; each package depends on the next two, so the graph has real edges.
pub fn lockfile_text(db: &Path, count: usize) -> String {
    let mut names: Vec<String> = std::fs::read_dir(db.join("crates"))
        .expect("crates/ of the advisory database")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names.truncate(count / 2);
    names.extend((names.len()..count).map(|i| format!("synthetic-crate-{i}")));
    let version = |i: usize| format!("0.{}.{}", i % 7, i % 13);
    let mut text =
        String::from("version = 4\n\n[[package]]\nname = \"bench-root\"\nversion = \"0.1.0\"\ndependencies = [\n");
    for name in names.iter().take(20) {
        let _ = writeln!(text, " \"{name}\",");
    }
    text.push_str("]\n");
    for (i, name) in names.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[package]]\nname = \"{name}\"\nversion = \"{}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{:064x}\"\n",
            version(i),
            i
        );
        let deps: Vec<&String> = names.iter().skip(i + 1).take(2).collect();
        if !deps.is_empty() {
            text.push_str("dependencies = [\n");
            for dep in deps {
                let _ = writeln!(text, " \"{dep}\",");
            }
            text.push_str("]\n");
        }
    }
    text
}

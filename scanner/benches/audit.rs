//! Benchmarks of the audit: loading the advisory database, and auditing a 500-package lockfile with it loaded.
//!
//! Uses `../shared/advisory-db` (the real snapshot) when present, else the synthetic fixture database.
//! Run: `cargo bench -p assay-scanner --bench audit`.

use std::fmt::Write;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use assay_scanner::asset::parse_lockfile;
use assay_scanner::stages::audit::{self, AdvisoryDatabase};
use criterion::{Criterion, criterion_group, criterion_main};

fn database_path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let shared = root.join("../shared/advisory-db");
    if shared.join("crates").is_dir() {
        shared
    } else {
        eprintln!("../shared/advisory-db is absent: benchmarking the synthetic fixture database");
        root.join("fixtures/advisory-db")
    }
}

/// A v4 lockfile of `count` crates.io packages: half named after crates that have advisories (so the
/// index lookups hit and version matching runs), half not. Versions vary so some advisories match.
fn lockfile_text(db: &Path, count: usize) -> String {
    let mut names: Vec<String> = std::fs::read_dir(db.join("crates"))
        .expect("crates/ of the advisory database")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names.truncate(count / 2);
    names.extend((names.len()..count).map(|i| format!("synthetic-crate-{i}")));
    let mut text =
        String::from("version = 4\n\n[[package]]\nname = \"bench-root\"\nversion = \"0.1.0\"\n");
    for (i, name) in names.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[package]]\nname = \"{name}\"\nversion = \"0.{}.{}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{:064x}\"\n",
            i % 7,
            i % 13,
            i
        );
    }
    text
}

fn bench_audit(c: &mut Criterion) {
    let path = database_path();
    c.bench_function("load_advisory_db", |b| {
        b.iter(|| AdvisoryDatabase::open(black_box(&path)).expect("database"))
    });

    let db = AdvisoryDatabase::open(&path).expect("database");
    let text = lockfile_text(&path, 500);
    let lockfile = parse_lockfile(&text).expect("generated lockfile");
    assert_eq!(lockfile.packages.len(), 501);
    c.bench_function("audit_500_packages", |b| {
        b.iter(|| audit::audit(&db, black_box(&lockfile), Some(("bench-root", "0.1.0"))))
    });
    c.bench_function("parse_and_audit_500_packages", |b| {
        b.iter(|| {
            let lockfile = parse_lockfile(black_box(&text)).expect("generated lockfile");
            audit::audit(&db, &lockfile, Some(("bench-root", "0.1.0")))
        })
    });
}

criterion_group!(benches, bench_audit);
criterion_main!(benches);

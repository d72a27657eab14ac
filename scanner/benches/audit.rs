//! Benchmarks of the audit: loading the advisory database, and auditing a 500-package lockfile with it loaded.
//!
//! Uses `../shared/advisory-db` (the real snapshot) when present, else the synthetic fixture database.
//! Run: `cargo bench -p assay-scanner --bench audit`.

mod common;

use std::hint::black_box;

use assay_scanner::asset::parse_lockfile;
use assay_scanner::stages::audit::{self, AdvisoryDatabase};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench_audit(c: &mut Criterion) {
    let path = common::database_path();
    c.bench_function("load_advisory_db", |b| b.iter(|| AdvisoryDatabase::open(black_box(&path)).expect("database")));

    let db = AdvisoryDatabase::open(&path).expect("database");
    let text = common::lockfile_text(&path, 500);
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

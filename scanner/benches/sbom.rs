//! Benchmark of the dependencies step and SBOM generation for a 500-package lockfile with a warm metadata
//! cache (no crate is read).
//!
//! Run: `cargo bench -p assay-scanner --bench sbom`.

mod common;

use std::hint::black_box;

use assay_report::{Subject, SubjectKind};
use assay_scanner::asset::{DeclaredDependency, DependencyKind, Manifest, parse_lockfile};
use assay_scanner::deps::{CrateMetadata, Dependencies, DependencyOptions, MetadataCache};
use assay_scanner::stages::audit::{self, AdvisoryDatabase};
use assay_scanner::stages::dependencies;
use assay_scanner::stages::sbom::{self, SbomInput};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench_sbom(c: &mut Criterion) {
    let path = common::database_path();
    let db = AdvisoryDatabase::open(&path).expect("database");
    let text = common::lockfile_text(&path, 500);
    let lockfile = parse_lockfile(&text).expect("generated lockfile");
    let audit = audit::audit(&db, &lockfile, Some(("bench-root", "0.1.0")));

    let cache_dir = tempfile::tempdir().expect("temp dir");
    let cache = MetadataCache::new(cache_dir.path());
    for package in lockfile.packages.iter().filter(|p| p.source.is_some()) {
        cache.put(
            package,
            &CrateMetadata {
                license: Some("MIT/Apache-2.0".to_owned()),
                description: Some(format!("The {} crate", package.name)),
                repository: Some(format!("https://github.com/example/{}", package.name)),
                dependencies: package
                    .dependencies
                    .iter()
                    .map(|d| DeclaredDependency {
                        name: d.name.to_string(),
                        kind: DependencyKind::Normal,
                        target: None,
                    })
                    .collect(),
                ..CrateMetadata::default()
            },
        );
    }
    let manifest = Manifest {
        name: "bench-root".to_owned(),
        version: "0.1.0".to_owned(),
        license: Some("MIT".to_owned()),
        ..Manifest::default()
    };
    let subject = Subject {
        name: "bench-root-0.1.0.crate".to_owned(),
        kind: SubjectKind::Crate,
        sha256: "0".repeat(64),
        size: 0,
    };
    let options = DependencyOptions { offline: true, ..DependencyOptions::new(cache_dir.path().to_owned()) };
    let resolve = || dependencies::resolve(&manifest, &lockfile, &mut Dependencies::new(&options));
    let graph = resolve();
    assert!(!graph.metadata.read_crates, "the cache must answer everything");
    let input = SbomInput {
        subject: &subject,
        manifest: &manifest,
        contract: None,
        lockfile: &lockfile,
        audit: Some(&audit),
        db: &db.identity,
        timestamp: jiff::Timestamp::UNIX_EPOCH,
        dependencies: &graph,
    };
    let first = sbom::generate(&input).expect("sbom");
    assert_eq!(first.components, 500);
    c.bench_function("sbom_500_packages_warm_cache", |b| {
        b.iter(|| {
            let graph = resolve();
            sbom::generate(black_box(&SbomInput { dependencies: &graph, ..input })).expect("sbom")
        })
    });
}

criterion_group!(benches, bench_sbom);
criterion_main!(benches);

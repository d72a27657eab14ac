//! Benchmark (not a test) of re-judging a whole store after one new advisory: N stored submissions (10,000 by
//! default) of ~60 locked crates.io packages each, a tenth of them locking the package the new advisory
//! names. Each run judges the store against the newer database (a tenth change: new revisions, signed),
//! then against the older one (they change back), so every timed run does the same work. Both stores: a
//! directory, and PostgreSQL when one answers on 127.0.0.1:5432 (database `assay_bench_rejudge`, dropped
//! first). Prints the median wall time per store.
//!
//! Run: `cargo bench -p assay-scanner --bench rejudge [-- --submissions N --runs R]`.
//! `-- --seed-only STORE --submissions N` only fills STORE (what `bench/rejudge-queue.sh` uses).

use std::path::Path;
use std::time::Instant;

use assay_report::facts::DependencyFact;
use assay_rules::RuleSet;
use assay_scanner::pipeline::{self, ScanConfig, ScanOutput, Signer};
use assay_scanner::rejudge::{Basis, Rejudger, sweep};
use assay_scanner::stages::audit::{self, AdvisoryDatabase, Locked};
use assay_scanner::store::{self, NewSubmission, Store};

/// Locked packages per submission besides the affected one.
const DEPENDENCIES: usize = 59;
/// One submission in this many locks the affected version.
const AFFECTED_EVERY: usize = 10;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let submissions: usize = value("--submissions").map_or(10_000, |n| n.parse().expect("--submissions N"));
    let runs: usize = value("--runs").map_or(3, |n| n.parse().expect("--runs N"));
    let work = tempfile::tempdir().expect("temporary directory");
    let (older, newer) = databases(work.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");

    if let Some(location) = value("--seed-only") {
        runtime.block_on(async {
            let store = Store::open(&location).await.expect("store");
            seed(&store, &older, submissions).await;
        });
        return;
    }

    let mut stores = vec![("directory", work.path().join("store").display().to_string())];
    if std::net::TcpStream::connect("127.0.0.1:5432").is_ok() {
        recreate_database();
        stores.push(("postgres", "postgres://postgres@127.0.0.1:5432/assay_bench_rejudge".to_owned()));
    } else {
        eprintln!("no PostgreSQL on 127.0.0.1:5432: benchmarking the directory store only");
    }
    let rules = RuleSet::builtin();
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let signer = Signer { key, verifier_id: "urn:assay:bench".to_owned() };
    for (kind, location) in stores {
        runtime.block_on(async {
            let store = Store::open(&location).await.expect("store");
            let seeding = Instant::now();
            seed(&store, &older, submissions).await;
            eprintln!("{kind}: seeded {submissions} submissions in {:.1} s", seeding.elapsed().as_secs_f64());
            let mut times = Vec::new();
            for run in 0..runs * 2 {
                let db = if run.is_multiple_of(2) { &newer } else { &older };
                let rejudger = Rejudger { rules: &rules, basis: Basis::Database(db), signer: Some(&signer) };
                let started = Instant::now();
                let swept = sweep(&store, &rejudger, false, None).await.expect("sweep");
                let seconds = started.elapsed().as_secs_f64();
                assert_eq!(swept.changes.len(), submissions / AFFECTED_EVERY, "a tenth change each run");
                eprintln!("{kind}: run {run}: {} changed of {submissions} in {seconds:.2} s", swept.changes.len());
                times.push(seconds);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "rejudge {kind} store, {submissions} submissions, {} changed: median {:.2} s ({} runs, min {:.2}, max {:.2})",
                submissions / AFFECTED_EVERY,
                times[times.len() / 2],
                times.len(),
                times[0],
                times[times.len() - 1]
            );
        });
    }
}

/// The synthetic fixture database before RUSTSEC-2099-0001 (smallvec 1.6.0) and with it, each at its own commit.
fn databases(work: &Path) -> (AdvisoryDatabase, AdvisoryDatabase) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/advisory-db");
    let newer = work.join("advisory-db-newer");
    copy_tree(&fixture, &newer);
    let older = work.join("advisory-db-older");
    copy_tree(&fixture, &older);
    std::fs::remove_dir_all(older.join("crates/smallvec")).expect("remove the advisory");
    std::fs::write(
        older.join("SNAPSHOT"),
        "commit: 0000000000000000000000000000000000002098\ncommit-date: 2026-11-20T00:00:00Z\n",
    )
    .expect("SNAPSHOT");
    (AdvisoryDatabase::open(&older).expect("older"), AdvisoryDatabase::open(&newer).expect("newer"))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Stores `count` submissions judged by `db`: the echo connector's scan with generated dependencies.
async fn seed(store: &Store, db: &AdvisoryDatabase, count: usize) {
    let template = template(db);
    let rules = RuleSet::builtin();
    for i in 0..count {
        let output = submission(&template, db, &rules, i);
        let files = pipeline::report_files(&output).expect("files");
        let id = format!("bench-{i:06}");
        let row = NewSubmission {
            id: &id,
            name: "echo-connector",
            version: "1.0.0",
            publisher: Some("assay-fixtures"),
            archive_sha256: &output.report.subject.sha256,
        };
        store.commit(&row, &files, store::draft_for(&output.report, "scanned")).await.expect("commit");
    }
}

fn template(db: &AdvisoryDatabase) -> ScanOutput {
    let echo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/connectors/echo");
    let mut config = ScanConfig::default();
    config.dependencies.offline = true;
    pipeline::scan(&echo, db, &RuleSet::builtin(), &config, &mut ()).expect("scan of the echo connector")
}

/// Submission `i`: the template with its own subject digest and ~60 dependencies, judged as a scan would.
fn submission(template: &ScanOutput, db: &AdvisoryDatabase, rules: &RuleSet, i: usize) -> ScanOutput {
    let mut output = ScanOutput {
        report: template.report.clone(),
        sbom: template.sbom.clone(),
        envelopes: template.envelopes.clone(),
        facts: template.facts.clone(),
        evidence: template.evidence.clone(),
    };
    let facts = output.facts.as_mut().expect("facts");
    facts.dependencies = dependencies(i);
    let mut audit = audit::audit_locked(db, facts.dependencies.iter().filter_map(Locked::from_fact), None);
    audit.packages = facts.dependencies.len() + 1;
    output.report.subject.sha256 = assay_report::digest::sha256_hex(format!("bench-{i}").as_bytes());
    let at = jiff::Timestamp::now();
    let judged = pipeline::judge(&output.evidence, Some(&audit), None, output.facts.as_ref(), rules, at);
    output.report.audit = Some(audit);
    output.report.findings = judged.findings;
    output.report.verdict = judged.verdict;
    output
}

/// ~60 locked crates.io packages; every tenth submission locks smallvec 1.6.0 (RUSTSEC-2099-0001).
fn dependencies(i: usize) -> Vec<DependencyFact> {
    let smallvec = if i.is_multiple_of(AFFECTED_EVERY) { "1.6.0" } else { "1.13.2" };
    let mut dependencies = vec![fact("smallvec", smallvec)];
    dependencies
        .extend((0..DEPENDENCIES).map(|n| fact(&format!("bench-dependency-{n}"), &format!("1.{}.{}", n % 5, i % 7))));
    dependencies
}

fn fact(name: &str, version: &str) -> DependencyFact {
    DependencyFact {
        name: name.to_owned(),
        version: version.to_owned(),
        source_kind: "crates-io".to_owned(),
        license: Some("MIT".to_owned()),
        kind: "normal".to_owned(),
        dependents: vec!["echo-connector".to_owned()],
        ..DependencyFact::default()
    }
}

fn recreate_database() {
    for sql in ["DROP DATABASE IF EXISTS assay_bench_rejudge WITH (FORCE)", "CREATE DATABASE assay_bench_rejudge"] {
        let status = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql])
            .status()
            .expect("psql");
        assert!(status.success(), "{sql}");
    }
}

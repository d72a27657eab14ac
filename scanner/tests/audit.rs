//! `assay audit` and the audit stage against the real RustSec snapshot and the synthetic database.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::{Sandbox, exit_code, fixture, shared, synthetic_db};

/// Advisory ids `cargo audit` reports for `fixtures/connectors/vulnerable/Cargo.lock` against
/// `../shared/advisory-db` (commit bf5c0d24, 2026-08-21). Obtained with cargo-audit 0.22.2:
///
/// ```text
/// cargo audit --db ../shared/advisory-db --no-fetch --stale \
///     -f fixtures/connectors/vulnerable/Cargo.lock --json
/// ```
///
/// vulnerabilities.list[].advisory.id, and warnings.unsound[].advisory.id (no other warning kinds).
const CARGO_AUDIT_VULNERABILITIES: [&str; 4] =
    ["RUSTSEC-2020-0071", "RUSTSEC-2021-0003", "RUSTSEC-2021-0078", "RUSTSEC-2021-0079"];
const CARGO_AUDIT_WARNINGS: [&str; 1] = ["RUSTSEC-2022-0022"];

fn audit_json(sandbox: &Sandbox, lockfile: &Path, db: &Path) -> (i32, Value) {
    let output = sandbox
        .assay()
        .arg("audit")
        .arg(lockfile)
        .arg("--advisory-db")
        .arg(db)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}; stderr:\n{}", String::from_utf8_lossy(&output.stderr)));
    (exit_code(&output), json)
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn vulnerable_fixture_matches_cargo_audit_ids() {
    let Some(db) = shared("advisory-db") else {
        return;
    };
    let sandbox = Sandbox::new();
    let (code, json) = audit_json(&sandbox, &fixture("connectors/vulnerable"), &db);
    assert_eq!(code, 1, "vulnerabilities exit 1");
    assert_eq!(json["schema"], "assay.audit/v1");
    assert_eq!(ids(&json["vulnerabilities"]), set(&CARGO_AUDIT_VULNERABILITIES));
    assert_eq!(ids(&json["warnings"]), set(&CARGO_AUDIT_WARNINGS));
    let smallvec = json["vulnerabilities"].as_array().unwrap().iter().find(|v| v["id"] == "RUSTSEC-2021-0003").unwrap();
    assert_eq!(smallvec["package"], "smallvec");
    assert_eq!(smallvec["version"], "1.6.0");
    assert_eq!(smallvec["cvss_severity"], "critical");
    assert!(smallvec["aliases"].as_array().unwrap().iter().any(|a| a == "CVE-2021-25900"));
    assert_eq!(smallvec["url"], "https://rustsec.org/advisories/RUSTSEC-2021-0003");
    assert!(!smallvec["patched"].as_array().unwrap().is_empty());
    assert_eq!(json["advisory_db"]["commit"], "bf5c0d245a92671908518d7e765914d437954ed6");
}

#[test]
fn sparse_registry_source_is_audited() {
    let Some(db) = shared("advisory-db") else {
        return;
    };
    let sandbox = Sandbox::new();
    // cargo-audit 0.22.2 reports nothing for this lockfile: rustsec compares the source string verbatim.
    let text = std::fs::read_to_string(fixture("connectors/vulnerable/Cargo.lock")).unwrap();
    let sparse =
        text.replace("registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/");
    assert_ne!(text, sparse);
    let lockfile = sandbox.input("Cargo.lock", sparse.as_bytes());
    let (code, json) = audit_json(&sandbox, &lockfile, &db);
    assert_eq!(code, 1);
    assert_eq!(ids(&json["vulnerabilities"]), set(&CARGO_AUDIT_VULNERABILITIES));
    assert_eq!(ids(&json["warnings"]), set(&CARGO_AUDIT_WARNINGS));
    assert!(json["unaudited"].as_array().unwrap().iter().all(|p| p["source_kind"] != "registry"));
}

#[test]
fn git_and_path_packages_are_listed_as_unaudited() {
    let sandbox = Sandbox::new();
    let (_, json) = audit_json(&sandbox, &fixture("connectors/vulnerable"), &synthetic_db());
    let unaudited: Vec<(String, String)> = json["unaudited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["source_kind"].as_str().unwrap().to_owned()))
        .collect();
    // The root package is the asset itself, not an unaudited dependency.
    assert_eq!(
        unaudited,
        [("acme-internal".to_owned(), "git".to_owned()), ("vulnerable-helpers".to_owned(), "path".to_owned())]
    );
    let git = &json["unaudited"][0];
    assert!(git["source"].as_str().unwrap().starts_with("git+https://git.example/acme/internal"));
}

#[test]
fn synthetic_db_matches_vulnerabilities_and_informational_but_not_withdrawn() {
    let sandbox = Sandbox::new();
    let (code, json) = audit_json(&sandbox, &fixture("connectors/vulnerable"), &synthetic_db());
    assert_eq!(code, 1);
    assert_eq!(ids(&json["vulnerabilities"]), set(&["RUSTSEC-2099-0001"]));
    assert_eq!(ids(&json["warnings"]), set(&["RUSTSEC-2099-0002", "RUSTSEC-2099-0004"]));
    let kinds: BTreeSet<&str> =
        json["warnings"].as_array().unwrap().iter().map(|w| w["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["unmaintained", "notice"]));
    let codes: Vec<&str> = json["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"vulnerability") && codes.contains(&"unmaintained") && codes.contains(&"unaudited-source"));
}

#[test]
fn a_clean_lockfile_exits_zero() {
    let sandbox = Sandbox::new();
    let (code, json) = audit_json(&sandbox, &fixture("connectors/echo/Cargo.lock"), &synthetic_db());
    assert_eq!(code, 0);
    assert!(json["vulnerabilities"].as_array().unwrap().is_empty());
    assert!(json["unaudited"].as_array().unwrap().is_empty(), "the root package is not unaudited");
}

#[test]
fn a_missing_database_exits_2_and_says_how_to_fetch_one() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .assay()
        .args(["audit"])
        .arg(fixture("connectors/echo"))
        .arg("--advisory-db")
        .arg(sandbox.path("no-such-db"))
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no advisory database at") && stderr.contains("assay db fetch --dir"), "{stderr}");
}

#[test]
fn an_empty_database_exits_2() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path("empty-db/crates")).unwrap();
    let output = sandbox
        .assay()
        .arg("audit")
        .arg(fixture("connectors/echo"))
        .arg("--advisory-db")
        .arg(sandbox.path("empty-db"))
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("holds no advisories"));
}

#[test]
fn db_status_reports_identity_and_staleness() {
    let sandbox = Sandbox::new();
    let fresh = sandbox
        .assay()
        .args(["db", "status", "--max-db-age", "100000", "--advisory-db"])
        .arg(synthetic_db())
        .output()
        .unwrap();
    assert_eq!(exit_code(&fresh), 0);
    let stdout = String::from_utf8_lossy(&fresh.stdout);
    assert!(stdout.contains("kind:        snapshot") && stdout.contains("advisories:  4"), "{stdout}");
    assert!(stdout.contains("commit:      0000000000000000000000000000000000002099"), "{stdout}");

    let Some(db) = shared("advisory-db") else {
        return;
    };
    // The shared snapshot is from 2026-08-21, so it is older than 30 days from now on.
    let stale = sandbox.assay().args(["db", "status", "--max-db-age", "30", "--advisory-db"]).arg(db).output().unwrap();
    assert_eq!(exit_code(&stale), 1);
    assert!(String::from_utf8_lossy(&stale.stderr).contains("assay db fetch"));
}

#[test]
fn a_database_of_unknown_age_is_stale() {
    let sandbox = Sandbox::new();
    let copy = sandbox.path("db");
    copy_tree(&synthetic_db(), &copy);
    std::fs::remove_file(copy.join("SNAPSHOT")).unwrap();
    let output = sandbox.scan_with_db(&fixture("connectors/echo"), &copy, &[]);
    assert_eq!(exit_code(&output), 0, "a stale database warns, it does not reject");
    let report = sandbox.report();
    let stale = support::finding(&report, "db-stale");
    assert!(stale["message"].as_str().unwrap().contains("age is unknown"));
    assert_eq!(report["advisory_db"]["kind"], "content");
    assert_eq!(report["advisory_db"]["content_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_git_checkout_is_identified_by_its_head_commit() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("db");
    copy_tree(&synthetic_db(), &repo);
    let git = |args: &[&str]| git_in(&repo, args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "advisories"]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_owned();

    let (_, json) = audit_json(&sandbox, &fixture("connectors/echo"), &repo);
    assert_eq!(json["advisory_db"]["kind"], "git");
    assert_eq!(json["advisory_db"]["commit"], head.as_str());
    assert_eq!(json["advisory_db"]["date"], "2026-11-01T12:00:00Z");
}

/// Runs git in `repo` as a test identity, with fixed dates; returns trimmed stdout.
fn git_in(repo: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "user.name=assay-tests", "-c", "user.email=tests@assay.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_COMMITTER_DATE", "2026-11-01T12:00:00Z")
        .env("GIT_AUTHOR_DATE", "2026-11-01T12:00:00Z")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn db_fetch_clones_then_updates_with_system_git() {
    let sandbox = Sandbox::new();
    let upstream = sandbox.path("upstream");
    copy_tree(&synthetic_db(), &upstream);
    let git = |args: &[&str]| git_in(&upstream, args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "first"]);
    let url = format!("file://{}", upstream.display());
    let local = sandbox.path("cache/advisory-db");
    let fetch = || {
        let output = sandbox.assay().args(["db", "fetch", "--url", &url, "--dir"]).arg(&local).output().unwrap();
        assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    };
    fetch();
    let status = |dir: &Path| {
        let output = sandbox
            .assay()
            .args(["db", "status", "--max-db-age", "100000", "--advisory-db"])
            .arg(dir)
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(status(&local).contains(&format!("commit:      {}", git(&["rev-parse", "HEAD"]))));

    std::fs::remove_file(upstream.join("crates/hyper/RUSTSEC-2099-0003.md")).unwrap();
    git(&["commit", "-q", "-am", "drop the withdrawn advisory"]);
    fetch();
    let updated = status(&local);
    assert!(updated.contains(&format!("commit:      {}", git(&["rev-parse", "HEAD"]))), "{updated}");
    assert!(updated.contains("advisories:  3"), "{updated}");
}

#[test]
fn db_fetch_refuses_to_overwrite_a_directory_that_is_not_a_clone() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .assay()
        .args(["db", "fetch", "--url", "file:///nonexistent", "--dir"])
        .arg(synthetic_db())
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a git checkout"));
}

/// The whole audit result, through the library: what the cache must not change.
fn audit_with(db: &assay_scanner::stages::audit::AdvisoryDatabase, lockfile: &Path) -> Value {
    let text = std::fs::read_to_string(lockfile).unwrap();
    let lockfile: rustsec::Lockfile = text.parse().unwrap();
    serde_json::to_value(assay_scanner::stages::audit::audit(db, &lockfile, None)).unwrap()
}

#[test]
fn the_parsed_database_cache_changes_nothing_but_speed() {
    use assay_scanner::stages::audit::AdvisoryDatabase;
    let Some(real) = shared("advisory-db") else { return };
    let cache = tempfile::tempdir().unwrap();
    let lockfile = fixture("connectors/vulnerable/Cargo.lock");
    let uncached = AdvisoryDatabase::open_with_cache(&real, None).unwrap();
    let cold = AdvisoryDatabase::open_with_cache(&real, Some(cache.path())).unwrap();
    let cache_files: Vec<_> = support::walk(cache.path()).into_iter().filter(|p| p.is_file()).collect();
    assert_eq!(cache_files.len(), 1, "one cache file per database: {cache_files:?}");
    let warm = AdvisoryDatabase::open_with_cache(&real, Some(cache.path())).unwrap();
    assert_eq!(warm.identity, uncached.identity);
    assert_eq!(cold.identity, uncached.identity);
    assert_eq!(warm.identity.advisory_count, uncached.identity.advisory_count);
    let expected = audit_with(&uncached, &lockfile);
    assert_eq!(audit_with(&warm, &lockfile), expected);
    assert_eq!(audit_with(&cold, &lockfile), expected);
    assert_eq!(ids(&expected["vulnerabilities"]), set(&CARGO_AUDIT_VULNERABILITIES));
}

#[test]
fn an_edited_advisory_misses_the_cache() {
    use assay_scanner::stages::audit::AdvisoryDatabase;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    copy_tree(&synthetic_db(), &db);
    let cache = dir.path().join("cache");
    let lockfile = fixture("connectors/vulnerable/Cargo.lock");
    let before = audit_with(&AdvisoryDatabase::open_with_cache(&db, Some(&cache)).unwrap(), &lockfile);
    assert!(!before["vulnerabilities"].as_array().unwrap().is_empty());
    // Mark every version patched, replacing each file as git does (write a new file, rename it over the old).
    for file in support::walk(&db.join("crates")).into_iter().filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let start = text.find("patched = ").unwrap();
        let end = start + text[start..].find('\n').unwrap();
        let replacement = file.with_extension("tmp");
        std::fs::write(&replacement, format!("{}patched = [\">= 0.0.0\"]{}", &text[..start], &text[end..])).unwrap();
        std::fs::rename(&replacement, &file).unwrap();
    }
    let after = audit_with(&AdvisoryDatabase::open_with_cache(&db, Some(&cache)).unwrap(), &lockfile);
    assert!(after["vulnerabilities"].as_array().unwrap().is_empty(), "{after:#}");
}

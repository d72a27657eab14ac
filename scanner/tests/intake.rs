//! Intake against hostile and broken archives: every case ends in a rejected report that names the cause,
//! nothing is written outside the scratch directory, and the scratch directory is removed.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::Path;
use std::process::Output;

use support::{Sandbox, codes, exit_code, finding, hostile_archive as hostile};

/// Scans `bytes` as `name` and checks the common contract: exit 1, a rejected report whose first
/// finding has `code`, no scratch directory left behind, and no `escape.txt` anywhere in the sandbox.
fn rejected_with(bytes: &[u8], name: &str, code: &str, extra: &[&str]) -> serde_json::Value {
    let sandbox = Sandbox::new();
    let input = sandbox.input(name, bytes);
    let output = sandbox.scan(&input, extra);
    check_rejected(&sandbox, &output, code)
}

fn check_rejected(sandbox: &Sandbox, output: &Output, code: &str) -> serde_json::Value {
    assert_eq!(exit_code(output), 1, "stderr:\n{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    assert_eq!(report["verdict"], "rejected");
    assert!(codes(&report).contains(&code.to_owned()), "expected `{code}` in {:?}", codes(&report));
    assert_eq!(finding(&report, code)["severity"], "deny");
    assert!(sandbox.leftovers().is_empty(), "scratch left behind: {:?}", sandbox.leftovers());
    assert!(sandbox.find("escape.txt").is_empty(), "an entry escaped: {:?}", sandbox.find("escape.txt"));
    assert!(Path::new(&sandbox.path("out/summary.md")).is_file());
    report
}

/// Runs the scan with the address space capped, so buffering a bomb would crash instead of passing.
fn scan_with_memory_cap(sandbox: &Sandbox, input: &Path, cap_kib: u64) -> Output {
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -v {cap_kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_assay"))
        .arg("scan")
        .arg(input)
        .arg("--advisory-db")
        .arg(support::synthetic_db())
        .arg("--out")
        .arg(sandbox.path("out"))
        .env("TMPDIR", sandbox.path("tmp"))
        .env("ASSAY_NO_LOAD", "true");
    command.output().unwrap()
}

#[test]
fn clean_archive_is_accepted_and_identified_by_its_sha256() {
    let sandbox = Sandbox::new();
    let bytes = hostile::clean();
    let input = sandbox.input("demo-0.1.0.crate", &bytes);
    let output = sandbox.scan(&input, &[]);
    assert_eq!(exit_code(&output), 0, "stderr:\n{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    assert_eq!(report["verdict"], "accepted", "{:#}", report["findings"]);
    assert_eq!(report["subject"]["name"], "demo-0.1.0.crate");
    assert_eq!(report["subject"]["kind"], "crate");
    assert_eq!(report["subject"]["size"], bytes.len());
    let expected: String = assay_report::digest::sha256_hex(&bytes);
    assert_eq!(report["subject"]["sha256"], expected);
    assert!(sandbox.leftovers().is_empty());
}

#[test]
fn path_traversal_is_refused() {
    let report = rejected_with(&hostile::path_traversal(), "x.crate", "archive-path-traversal", &[]);
    let location = &finding(&report, "archive-path-traversal")["location"];
    assert_eq!(location["kind"], "archive-entry");
    assert_eq!(location["path"], "demo-0.1.0/../../../escape.txt");
}

#[test]
fn absolute_path_is_refused() {
    let sandbox = Sandbox::new();
    let target = sandbox.path("escape.txt");
    let input = sandbox.input("x.crate", &hostile::absolute_path(&target));
    let output = sandbox.scan(&input, &[]);
    check_rejected(&sandbox, &output, "archive-absolute-path");
    assert!(!target.exists());
}

#[test]
fn symlink_escape_is_refused_and_nothing_is_written_through_it() {
    let report = rejected_with(&hostile::symlink_escape(), "x.crate", "archive-link", &[]);
    assert!(finding(&report, "archive-link")["message"].as_str().unwrap().contains("symbolic link"));
}

#[test]
fn hard_link_is_refused() {
    let report = rejected_with(&hostile::hard_link(), "x.crate", "archive-link", &[]);
    assert!(finding(&report, "archive-link")["message"].as_str().unwrap().contains("/etc/passwd"));
}

#[test]
fn device_file_is_refused() {
    let report = rejected_with(&hostile::device_file(), "x.crate", "archive-special-file", &[]);
    assert!(finding(&report, "archive-special-file")["message"].as_str().unwrap().contains("character device"));
}

#[test]
fn fifo_is_refused() {
    rejected_with(&hostile::fifo(), "x.crate", "archive-special-file", &[]);
}

#[test]
fn oversized_entry_is_refused() {
    let report =
        rejected_with(&hostile::big_file(4096), "x.crate", "archive-entry-too-large", &["--max-entry-size", "1KiB"]);
    assert!(finding(&report, "archive-entry-too-large")["message"].as_str().unwrap().contains("4096 bytes"));
}

#[test]
fn too_many_entries_are_refused() {
    rejected_with(&hostile::many_files(20), "x.crate", "archive-too-many-entries", &["--max-entries", "10"]);
}

#[test]
fn too_many_unpacked_bytes_are_refused() {
    rejected_with(&hostile::big_file(32 * 1024), "x.crate", "archive-too-large", &["--max-unpacked-size", "16KiB"]);
}

#[test]
fn oversized_archive_is_refused_before_unpacking() {
    rejected_with(&hostile::big_file(32 * 1024), "x.crate", "archive-too-large", &["--max-archive-size", "100B"]);
}

#[test]
fn ratio_bomb_is_refused_early_with_memory_bounded() {
    let sandbox = Sandbox::new();
    // 60 MiB of zeros: under the per-file and total limits, so only the ratio can stop it.
    let input = sandbox.input("bomb.crate", &hostile::ratio_bomb(60 * 1024 * 1024));
    let output = scan_with_memory_cap(&sandbox, &input, 128 * 1024);
    let report = check_rejected(&sandbox, &output, "archive-compression-ratio");
    assert!(report["findings"][0]["message"].as_str().unwrap().contains("ratio above the limit of 100:1"));
}

#[test]
fn long_name_bomb_is_refused_without_reading_it() {
    let sandbox = Sandbox::new();
    // A 512 MiB "file name": a reader that buffers names whole would need far more than the 128 MiB cap.
    let input = sandbox.input("names.crate", &hostile::long_name_bomb(512 * 1024 * 1024));
    let output = scan_with_memory_cap(&sandbox, &input, 128 * 1024);
    let report = check_rejected(&sandbox, &output, "archive-unreadable");
    assert!(finding(&report, "archive-unreadable")["message"].as_str().unwrap().contains("entry name is longer"));
}

#[test]
fn duplicate_entry_is_refused() {
    rejected_with(&hostile::duplicate_entry(), "x.crate", "archive-duplicate-entry", &[]);
}

#[test]
fn truncated_gzip_is_refused() {
    let report = rejected_with(&hostile::truncated(), "x.crate", "archive-unreadable", &[]);
    assert!(finding(&report, "archive-unreadable")["message"].as_str().unwrap().contains("truncated or corrupt"));
}

#[test]
fn not_an_archive_is_refused() {
    let report = rejected_with(&hostile::not_an_archive(), "x.crate", "archive-unreadable", &[]);
    assert!(finding(&report, "archive-unreadable")["message"].as_str().unwrap().contains("not gzip"));
    assert_eq!(report["stages"][1]["status"], "skipped", "later stages do not run on a refused archive");
}

#[test]
fn missing_manifest_is_refused() {
    rejected_with(&hostile::missing_manifest(), "x.crate", "manifest-missing", &[]);
}

#[test]
fn broken_manifest_is_refused_at_its_line() {
    let report = rejected_with(&hostile::broken_manifest(), "x.crate", "manifest-invalid", &[]);
    let location = &finding(&report, "manifest-invalid")["location"];
    assert_eq!(location["path"], "Cargo.toml");
    assert_eq!(location["line"], 3);
}

#[test]
fn directory_and_packed_crate_of_the_same_asset_agree() {
    let sandbox = Sandbox::new();
    let echo = support::fixture("connectors/echo");
    let input = sandbox.input("echo-connector-1.0.0.crate", &hostile::crate_of(&echo, "echo-connector-1.0.0"));
    assert_eq!(exit_code(&sandbox.scan(&input, &["--no-load"])), 0);
    let packed = sandbox.report();
    assert_eq!(exit_code(&sandbox.scan(&echo, &["--no-load"])), 0);
    let directory = sandbox.report();
    assert_eq!(packed["asset"], directory["asset"]);
    assert_eq!(packed["findings"], directory["findings"]);
    assert_eq!(directory["subject"]["kind"], "directory");
    assert!(sandbox.leftovers().is_empty());
}

#[cfg(unix)]
#[test]
fn directory_with_a_symlink_is_refused() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path("in/linked");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"x\"\nversion = \"0.1.0\"\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("src/lib.rs")).unwrap();
    let output = sandbox.scan(&dir, &[]);
    check_rejected(&sandbox, &output, "archive-link");
}

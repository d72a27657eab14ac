//! The command line's help, snapshotted so changes to flags and wording are reviewed like code.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use support::{Sandbox, exit_code};

fn help(args: &[&str]) -> String {
    let output = Sandbox::new().assay().args(args).arg("--help").output().unwrap();
    assert_eq!(exit_code(&output), 0);
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!("help", help(&[]));
}

#[test]
fn scan_help() {
    insta::assert_snapshot!("scan_help", help(&["scan"]));
}

#[test]
fn verify_help() {
    insta::assert_snapshot!("verify_help", help(&["verify"]));
}

#[test]
fn worker_help() {
    insta::assert_snapshot!("worker_help", help(&["worker"]));
}

//! Signed reports end to end: `assay keygen`, `assay scan --key`, `assay verify`, and interop with
//! OpenSSL (keys and raw Ed25519 signatures over the PAE) and securesystemslib.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use support::{Sandbox, exit_code, fixture};

const LISTING: &str = "https://marketplace.example/listings/demo";

fn keygen(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let output = sandbox.assay().args(["keygen", "--out"]).arg(sandbox.path("keys")).output().unwrap();
    assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    (sandbox.path("keys/assay-signing.key"), sandbox.path("keys/assay-signing.pub"))
}

/// Scans `asset` signed with `key`; returns the path of report.dsse.json.
fn signed_scan(sandbox: &Sandbox, asset: &Path, key: &Path) -> PathBuf {
    let output = sandbox.scan(asset, &["--key", key.to_str().unwrap(), "--listing", LISTING]);
    assert!(matches!(exit_code(&output), 0 | 1), "{}", String::from_utf8_lossy(&output.stderr));
    sandbox.path("out/report.dsse.json")
}

/// `assay verify ENVELOPES --trust TRUST EXTRA…`; unless EXTRA names the subject, the subject of the last
/// scan's report is the one expected (`--subject-sha256`).
fn verify(sandbox: &Sandbox, envelopes: &Path, trust: &Path, extra: &[&str]) -> Output {
    let mut command = sandbox.assay();
    command.arg("verify").arg(envelopes).arg("--trust").arg(trust).args(extra);
    if !extra.iter().any(|arg| ["--asset", "--subject-sha256", "--any-subject"].contains(arg)) {
        command.arg("--subject-sha256").arg(sandbox.report()["subject"]["sha256"].as_str().unwrap());
    }
    command.output().unwrap()
}

fn openssl() -> Option<&'static str> {
    let found = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have the openssl CLI");
        eprintln!("skipped: no openssl CLI");
    }
    found.then_some("openssl")
}

#[test]
fn a_signed_accepted_report_verifies_against_the_asset_listing_and_policy() {
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let asset = sandbox.input("demo-0.1.0.crate", &support::hostile_archive::clean());
    let envelopes = signed_scan(&sandbox, &asset, &key);
    let report = sandbox.report();
    assert_eq!(report["signature"]["status"], "signed");
    let policy = report["rules"]["sha256"].as_str().unwrap().to_owned();
    let output = verify(
        &sandbox,
        &envelopes,
        &public,
        &["--asset", asset.to_str().unwrap(), "--listing", LISTING, "--policy-digest", &policy],
    );
    assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("PASSED"));

    // The file is a JSON array: [VSA, detailed report], each an in-toto Statement about the archive.
    let list: Vec<Value> = serde_json::from_slice(&std::fs::read(&envelopes).unwrap()).unwrap();
    assert_eq!(list.len(), 2);
    let statement = |i: usize| -> Value {
        serde_json::from_slice(&STANDARD.decode(list[i]["payload"].as_str().unwrap()).unwrap()).unwrap()
    };
    assert_eq!(statement(0)["predicateType"], "https://slsa.dev/verification_summary/v1");
    assert_eq!(statement(0)["subject"][0]["name"], "demo-0.1.0.crate");
    assert_eq!(statement(0)["predicate"]["resourceUri"], LISTING);
    assert_eq!(statement(1)["predicateType"], "urn:assay:predicate:acceptance-report:v1");
    assert_eq!(statement(1)["predicate"]["report_id"], report["report_id"]);
}

#[test]
fn a_rejected_report_verifies_but_failed_and_exits_1() {
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let envelopes = signed_scan(&sandbox, &fixture("connectors/vulnerable"), &key);
    let output = verify(&sandbox, &envelopes, &public, &[]);
    assert_eq!(exit_code(&output), 1);
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("FAILED"));
}

#[test]
fn untrusted_reports_exit_4_naming_the_failed_check() {
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let asset = sandbox.input("demo-0.1.0.crate", &support::hostile_archive::clean());
    let envelopes = signed_scan(&sandbox, &asset, &key);
    let other = sandbox.input("other.crate", b"other bytes");
    let cases: [(&[&str], &str); 3] = [
        (&["--asset", other.to_str().unwrap()], "the subject digest is sha256:"),
        (&["--listing", "https://marketplace.example/listings/other"], "not the listing"),
        (&["--policy-digest", &"0".repeat(64)], "the policy digest is"),
    ];
    for (extra, words) in cases {
        let output = verify(&sandbox, &envelopes, &public, extra);
        assert_eq!(exit_code(&output), 4, "{extra:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("UNTRUSTED") && stderr.contains(words), "{extra:?}: {stderr}");
    }

    // A report signed by another key.
    let stranger = Sandbox::new();
    let (_, stranger_public) = keygen(&stranger);
    let output = verify(&sandbox, &envelopes, &stranger_public, &[]);
    assert_eq!(exit_code(&output), 4);
    assert!(String::from_utf8_lossy(&output.stderr).contains("not in the trust store"));

    // A tampered payload.
    let mut list: Vec<Value> = serde_json::from_slice(&std::fs::read(&envelopes).unwrap()).unwrap();
    let payload = String::from_utf8(STANDARD.decode(list[0]["payload"].as_str().unwrap()).unwrap()).unwrap();
    list[0]["payload"] = Value::from(STANDARD.encode(payload.replace(LISTING, "https://evil.example/")));
    let tampered = sandbox.path("in/tampered.dsse.json");
    std::fs::write(&tampered, serde_json::to_vec(&list).unwrap()).unwrap();
    let output = verify(&sandbox, &tampered, &public, &[]);
    assert_eq!(exit_code(&output), 4);
    assert!(String::from_utf8_lossy(&output.stderr).contains("was altered"));
}

#[test]
fn a_trust_store_with_a_revoked_key_refuses_its_reports() {
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let envelopes = signed_scan(&sandbox, &fixture("connectors/echo"), &key);
    let pem = std::fs::read_to_string(&public).unwrap();
    let id = sandbox.report()["signature"]["key_id"].as_str().unwrap().to_owned();
    let store = |status: &str| {
        let path = sandbox.path(&format!("in/trust-{status}.toml"));
        std::fs::write(
            &path,
            format!("[[key]]\nid = \"{id}\"\npublic-key = \"\"\"\n{pem}\"\"\"\nverifier-id = \"urn:assay:verifier\"\nnot-before = \"2026-01-01T00:00:00Z\"\nstatus = \"{status}\"\n"),
        )
        .unwrap();
        path
    };
    assert_eq!(exit_code(&verify(&sandbox, &envelopes, &store("active"), &[])), 0);
    let revoked = verify(&sandbox, &envelopes, &store("revoked"), &[]);
    assert_eq!(exit_code(&revoked), 4);
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("revoked"));
    let broken = verify(&sandbox, &envelopes, &store("lost"), &[]);
    assert_eq!(exit_code(&broken), 2, "a broken trust store is a configuration error");
    assert!(String::from_utf8_lossy(&broken.stderr).contains("trust-lost.toml:"), "names file and line");
}

#[test]
fn without_a_key_no_envelopes_are_written_and_the_report_says_unsigned() {
    let sandbox = Sandbox::new();
    let output = sandbox.scan(&fixture("connectors/echo"), &[]);
    assert_eq!(exit_code(&output), 0);
    assert!(!sandbox.path("out/report.dsse.json").exists());
    assert_eq!(sandbox.report()["signature"]["status"], "unsigned");
    assert!(String::from_utf8_lossy(&output.stderr).contains("the report is unsigned"));
}

#[test]
fn a_private_key_readable_by_others_is_refused() {
    let sandbox = Sandbox::new();
    let (key, _) = keygen(&sandbox);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = sandbox.scan(&fixture("connectors/echo"), &["--key", key.to_str().unwrap()]);
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("chmod 600"));
}

#[test]
fn openssl_verifies_the_signature_over_the_pae() {
    let Some(openssl) = openssl() else { return };
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let envelopes = signed_scan(&sandbox, &fixture("connectors/echo"), &key);
    let list: Vec<Value> = serde_json::from_slice(&std::fs::read(&envelopes).unwrap()).unwrap();
    for (i, envelope) in list.iter().enumerate() {
        let payload = STANDARD.decode(envelope["payload"].as_str().unwrap()).unwrap();
        let payload_type = envelope["payloadType"].as_str().unwrap();
        let mut pae = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
        pae.extend_from_slice(&payload);
        let (pae_file, sig_file) = (sandbox.path(&format!("in/pae{i}")), sandbox.path(&format!("in/sig{i}")));
        std::fs::write(&pae_file, &pae).unwrap();
        std::fs::write(&sig_file, STANDARD.decode(envelope["signatures"][0]["sig"].as_str().unwrap()).unwrap())
            .unwrap();
        let output = Command::new(openssl)
            .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
            .arg(&public)
            .arg("-in")
            .arg(&pae_file)
            .arg("-sigfile")
            .arg(&sig_file)
            .output()
            .unwrap();
        assert!(output.status.success(), "openssl: {}", String::from_utf8_lossy(&output.stdout));
        assert!(String::from_utf8_lossy(&output.stdout).contains("Signature Verified Successfully"));
    }
}

#[test]
fn a_key_made_by_openssl_signs_reports_that_assay_verifies() {
    let Some(openssl) = openssl() else { return };
    let sandbox = Sandbox::new();
    let (key, public) = (sandbox.path("in/openssl.key"), sandbox.path("in/openssl.pub"));
    let run = |args: &[&str]| {
        let output = Command::new(openssl).args(args).output().unwrap();
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    run(&["genpkey", "-algorithm", "ed25519", "-out", key.to_str().unwrap()]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    run(&["pkey", "-in", key.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()]);
    let envelopes = signed_scan(&sandbox, &fixture("connectors/echo"), &key);
    assert_eq!(exit_code(&verify(&sandbox, &envelopes, &public, &[])), 0);
}

#[test]
fn securesystemslib_verifies_every_envelope() {
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let envelopes = signed_scan(&sandbox, &fixture("connectors/echo"), &key);
    let Some(output) = support::run_python("verify_dsse.py", &[envelopes.as_os_str(), public.as_os_str()]) else {
        return;
    };
    assert!(output.status.success(), "securesystemslib: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn verify_needs_the_subject_or_an_explicit_any_subject() {
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let envelopes = signed_scan(&sandbox, &fixture("connectors/echo"), &key);
    let bare = sandbox.assay().arg("verify").arg(&envelopes).arg("--trust").arg(&public).output().unwrap();
    assert_eq!(exit_code(&bare), 2, "a PASSED report of some asset proves nothing about this one");
    assert!(String::from_utf8_lossy(&bare.stderr).contains("--asset"), "{}", String::from_utf8_lossy(&bare.stderr));

    let any = verify(&sandbox, &envelopes, &public, &["--any-subject"]);
    assert_eq!(exit_code(&any), 0);
    assert!(String::from_utf8_lossy(&any.stderr).contains("any subject: --any-subject, not checked"));

    let wrong = verify(&sandbox, &envelopes, &public, &["--subject-sha256", &"ab".repeat(32)]);
    assert_eq!(exit_code(&wrong), 4);
    let malformed = verify(&sandbox, &envelopes, &public, &["--subject-sha256", "not-hex"]);
    assert_eq!(exit_code(&malformed), 2);
}

#[test]
fn a_genuine_summary_beside_a_forged_detailed_report_is_untrusted() {
    let sandbox = Sandbox::new();
    let (key, public) = keygen(&sandbox);
    let first = std::fs::read(signed_scan(&sandbox, &fixture("connectors/echo"), &key)).unwrap();
    let second = std::fs::read(signed_scan(&sandbox, &fixture("connectors/echo"), &key)).unwrap();
    // Both genuine, same key and subject; the second scan's detailed report is not the one the first VSA pins.
    let (first, second): (Vec<Value>, Vec<Value>) =
        (serde_json::from_slice(&first).unwrap(), serde_json::from_slice(&second).unwrap());
    let mixed = sandbox.path("in/mixed.dsse.json");
    std::fs::write(&mixed, serde_json::to_vec(&[first[0].clone(), second[1].clone()]).unwrap()).unwrap();
    let output = verify(&sandbox, &mixed, &public, &[]);
    assert_eq!(exit_code(&output), 4);
    assert!(String::from_utf8_lossy(&output.stderr).contains("detailed report envelope"));
}

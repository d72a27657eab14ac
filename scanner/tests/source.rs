//! Source analysis end to end: undeclared capabilities at their lines, secrets (redacted), binaries,
//! scripts, build scripts, proc-macros and includes from outside src/ — and silence on clean assets.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use serde_json::Value;
use support::hostile_archive::{self as archive, Raw, TOP};
use support::{Sandbox, exit_code, fixture};

fn findings(report: &Value, code: &str) -> Vec<Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["code"] == code).cloned().collect()
}

fn line(finding: &Value) -> (String, u64) {
    (finding["location"]["path"].as_str().unwrap().to_owned(), finding["location"]["line"].as_u64().unwrap())
}

#[test]
fn undeclared_capabilities_are_found_at_the_line_that_uses_them() {
    let sandbox = Sandbox::new();
    assert_eq!(exit_code(&sandbox.scan(&fixture("connectors/sneaky"), &[])), 1);
    let report = sandbox.report();
    for (code, expected_line) in [
        ("undeclared-network", 8),
        ("undeclared-filesystem", 11),
        ("undeclared-process", 12),
        ("undeclared-env", 13),
        ("undeclared-unsafe", 15),
    ] {
        let found = findings(&report, code);
        assert_eq!(found.len(), 1, "{code}: {found:?}");
        assert_eq!(line(&found[0]), ("src/main.rs".to_owned(), expected_line), "{code}");
        assert_eq!(found[0]["severity"], "deny");
    }
    assert!(findings(&report, "undeclared-env")[0]["message"].as_str().unwrap().contains("ADMIN_TOKEN"));
    assert_eq!(line(&findings(&report, "shebang-script")[0]), ("scripts/install.sh".to_owned(), 1));
}

#[test]
fn clean_assets_have_no_source_findings() {
    for asset in ["connectors/echo", "connectors/vulnerable"] {
        let sandbox = Sandbox::new();
        sandbox.scan(&fixture(asset), &[]);
        let report = sandbox.report();
        let codes = support::codes(&report);
        for code in [
            "undeclared-network",
            "undeclared-filesystem",
            "undeclared-process",
            "undeclared-env",
            "undeclared-unsafe",
            "secret",
            "binary-file",
            "shebang-script",
            "build-script",
            "proc-macro",
            "include-outside-src",
            "source-unparsable",
        ] {
            assert!(!codes.contains(&code.to_owned()), "{asset}: unexpected {code}");
        }
        let stage = report["stages"].as_array().unwrap().iter().find(|s| s["name"] == "source").unwrap();
        assert_eq!(stage["status"], "ok");
    }
}

#[test]
fn secrets_binaries_and_outside_includes_are_reported_and_secrets_redacted() {
    let sandbox = Sandbox::new();
    let key_body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    let pem = format!("-----BEGIN {} KEY-----\n{key_body}\n-----END PRIVATE KEY-----\n", "PRIVATE");
    let elf = [b"\x7fELF\x02\x01\x01\x00".as_slice(), &[0u8; 56]].concat();
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &archive::clean_plus(vec![
            Raw::file(&format!("{TOP}/config/deploy.pem"), pem.as_bytes()),
            Raw::file(&format!("{TOP}/tools/helper"), &elf),
            Raw::file(
                &format!("{TOP}/src/data.rs"),
                b"pub static KEY: &[u8] = include_bytes!(\"../../../outside.bin\");\n",
            ),
            Raw::file(&format!("{TOP}/src/broken.rs"), b"fn oops( {\n"),
        ]),
    );
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 1);
    let report = sandbox.report();
    let secret = &findings(&report, "secret")[0];
    assert_eq!(line(secret), ("config/deploy.pem".to_owned(), 1));
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains(key_body), "secrets never appear in the report");
    assert_eq!(line(&findings(&report, "include-outside-src")[0]), ("src/data.rs".to_owned(), 1));
    assert!(findings(&report, "binary-file")[0]["message"].as_str().unwrap().contains("ELF"));
    assert_eq!(findings(&report, "source-unparsable")[0]["location"]["path"], "src/broken.rs");
}

#[test]
fn build_scripts_and_proc_macros_are_reported() {
    let sandbox = Sandbox::new();
    sandbox.scan(&fixture("components/real-deps"), &[]);
    assert_eq!(line_of_file(&findings(&sandbox.report(), "build-script")[0]), "build.rs");

    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n[lib]\nproc-macro = true\n\n[package.metadata.marketplace]\nkind = \"component\"\npublisher = \"tests\"\nsummary = \"macro\"\n";
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &archive::build(vec![
            Raw::file(&format!("{TOP}/Cargo.toml"), manifest.as_bytes()),
            Raw::file(
                &format!("{TOP}/Cargo.lock"),
                b"version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n",
            ),
        ]),
    );
    sandbox.scan(&input, &[]);
    assert_eq!(findings(&sandbox.report(), "proc-macro").len(), 1);
}

fn line_of_file(finding: &Value) -> String {
    finding["location"]["path"].as_str().unwrap().to_owned()
}

#[test]
fn a_deeply_nested_source_is_a_finding_not_a_crash() {
    let sandbox = Sandbox::new();
    // 3 KB compressed: once enough to overflow syn's stack and abort assay (exit 134).
    let deep = format!("pub fn f() -> u32 {{ {}1{} }}\n", "(".repeat(50_000), ")".repeat(50_000));
    let input = sandbox
        .input("deep.crate", &archive::clean_plus(vec![Raw::file(&format!("{TOP}/src/deep.rs"), deep.as_bytes())]));
    let output = sandbox.scan(&input, &[]);
    assert_eq!(exit_code(&output), 3, "{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    let not_analysed = findings(&report, "source-not-analysed");
    assert_eq!(not_analysed.len(), 1, "{not_analysed:?}");
    assert_eq!(not_analysed[0]["severity"], "review");
    assert_eq!(not_analysed[0]["location"]["path"], "src/deep.rs");
    assert!(not_analysed[0]["message"].as_str().unwrap().contains("50001 levels"), "{not_analysed:?}");
}

#[test]
fn nesting_just_under_the_limit_is_parsed_and_analysed() {
    let sandbox = Sandbox::new();
    // 500 levels inside a function that connects: parsed on the analysis thread's stack, the use is found.
    let nested = format!(
        "pub fn f() -> u32 {{ let _ = std::net::TcpStream::connect(\"10.0.0.1:1\"); {}1{} }}\n",
        "(".repeat(500),
        ")".repeat(500)
    );
    let input = sandbox.input(
        "nested.crate",
        &archive::clean_plus(vec![Raw::file(&format!("{TOP}/src/nested.rs"), nested.as_bytes())]),
    );
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 1);
    let report = sandbox.report();
    assert!(findings(&report, "source-not-analysed").is_empty());
    assert_eq!(line(&findings(&report, "undeclared-network")[0]), ("src/nested.rs".to_owned(), 1));
}

#[test]
fn a_file_padded_past_the_size_limit_is_never_accepted_unseen() {
    let sandbox = Sandbox::new();
    // The same undeclared egress that is rejected in a small file, hidden behind 3 MiB of comment (noise,
    // so the archive is not refused as a compression bomb first).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: String = (0..3 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"0123456789abcdef"[(state % 16) as usize])
        })
        .collect();
    let padded = format!("pub fn f() {{ let _ = std::net::TcpStream::connect(\"10.0.0.1:1\"); }}\n// {noise}\n");
    let input = sandbox.input(
        "padded.crate",
        &archive::clean_plus(vec![Raw::file(&format!("{TOP}/src/padded.rs"), padded.as_bytes())]),
    );
    let code = exit_code(&sandbox.scan(&input, &[]));
    assert_ne!(code, 0, "a file too large to analyse must not be accepted");
    let report = sandbox.report();
    let not_analysed = findings(&report, "source-not-analysed");
    assert_eq!(not_analysed.len(), 1, "{:#}", report["findings"]);
    assert!(not_analysed[0]["message"].as_str().unwrap().contains("analysis limit"));
}

//! The host trust boundary (SECURITY.md): no byte of a submission steers a program on the host. Each attack
//! that once worked is a regression test here, run through the real `assay` binary on real files.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::hostile_archive::{Raw, build};
use support::load_fixture::{assemble, bubblewrap};
use support::registry::{Answer, Registry, lock_entry, sha256, tiny_crate};
use support::{Sandbox, exit_code, finding};

const CONTRACT: &str =
    "\n[package.metadata.marketplace]\nkind = \"component\"\npublisher = \"tests\"\nsummary = \"x\"\n";

/// A crate archive with one top folder holding these files.
fn archive(top: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    build(files.iter().map(|(name, bytes)| Raw::file(&format!("{top}/{name}"), bytes)).collect())
}

/// A script at `path` that records its being run in `marker` (then fails, as a broken tool would).
fn marker_script(path: &Path, marker: &Path) {
    std::fs::write(path, format!("#!/bin/sh\necho \"$0 $*\" >> '{}'\nexit 1\n", marker.display())).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Stand-ins for every program a submission could steer, first on PATH: each records its call in `log`.
fn stand_ins(sandbox: &Sandbox) -> (String, PathBuf) {
    let dir = sandbox.path("stand-ins");
    std::fs::create_dir_all(&dir).unwrap();
    let log = sandbox.path("host-programs.log");
    for program in ["cargo", "rustc", "rustup", "git", "cc", "ld"] {
        marker_script(&dir.join(program), &log);
    }
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    (path, log)
}

/// Every byte `assay` wrote or printed for the last scan: report files, stdout, stderr.
fn everything_written(sandbox: &Sandbox, output: &std::process::Output) -> Vec<u8> {
    let mut all = output.stdout.clone();
    all.extend_from_slice(&output.stderr);
    for file in support::walk(&sandbox.path("out")) {
        if file.is_file() {
            all.extend(std::fs::read(file).unwrap());
        }
    }
    all
}

/// A C compiler for the preload library, or `None` (reason printed).
fn compile_preload_library(sandbox: &Sandbox, marker: &Path) -> Option<Vec<u8>> {
    let source = sandbox.path("evil.c");
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void run(void) {{ FILE *f = fopen(\"{}\", \"a\"); if (f) {{ fputs(\"preloaded\\n\", f); fclose(f); }} }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let library = sandbox.path("evil.so");
    match Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&library).arg(&source).output() {
        Ok(out) if out.status.success() => Some(std::fs::read(library).unwrap()),
        _ => {
            eprintln!("skipped part: no C compiler to build the preload library");
            None
        }
    }
}

#[test]
fn a_dot_cargo_top_folder_with_a_preloading_config_runs_nothing_on_the_host() {
    let sandbox = Sandbox::new();
    let marker = sandbox.path("PRELOADED");
    let wrapper_marker = sandbox.path("WRAPPED");
    let wrapper = sandbox.path("wrapper.sh");
    marker_script(&wrapper, &wrapper_marker);
    let library = compile_preload_library(&sandbox, &marker).unwrap_or_default();
    // The crate's folder is `.cargo`, so its `config.toml` is what cargo reads as `<parent>/.cargo/config.toml`
    // from the crate's directory: `[env]` preloads a library from the archive, a wrapper runs before rustc.
    let config = format!(
        "[env]\nLD_PRELOAD = {{ value = \".cargo/evil.so\", relative = true, force = true }}\n\n[build]\nrustc-wrapper = \"{}\"\n",
        wrapper.display()
    );
    let manifest = format!("[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{CONTRACT}");
    let lockfile = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n";
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &archive(
            ".cargo",
            &[
                ("Cargo.toml", manifest.as_bytes()),
                ("Cargo.lock", lockfile.as_bytes()),
                ("src/lib.rs", b"pub fn demo() {}\n"),
                ("config.toml", config.as_bytes()),
                ("evil.so", &library),
            ],
        ),
    );
    for extra in [&["--offline"][..], &[][..]] {
        let output = sandbox.scan(&input, extra);
        assert!(matches!(exit_code(&output), 0 | 1 | 3), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(!marker.exists(), "the archive's library was loaded on the host");
    assert!(!wrapper_marker.exists(), "the archive's config ran a rustc wrapper on the host");
}

#[test]
fn a_cargo_config_planted_above_the_scratch_directory_is_never_read() {
    let sandbox = Sandbox::new();
    let marker = sandbox.path("WRAPPED");
    marker_script(&sandbox.path("wrapper.sh"), &marker);
    // TMPDIR is `<sandbox>/tmp`: any local user could have written this config above a shared /tmp.
    std::fs::create_dir_all(sandbox.path(".cargo")).unwrap();
    std::fs::write(
        sandbox.path(".cargo/config.toml"),
        format!("[build]\nrustc-wrapper = \"{}\"\n", sandbox.path("wrapper.sh").display()),
    )
    .unwrap();
    let output = sandbox.scan(&support::fixture("components/real-deps"), &[]);
    assert_eq!(exit_code(&output), 1, "{}", String::from_utf8_lossy(&output.stderr));
    if bubblewrap() {
        let connector = assemble("fast", &sandbox.path("in"));
        let output = sandbox
            .scan_command(&connector, &support::synthetic_db())
            .env("ASSAY_NO_LOAD", "false")
            .args(["--out", sandbox.path("out").to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(!marker.exists(), "a cargo config above the scratch directory was applied");
}

#[test]
fn workspace_dependency_and_patch_paths_to_a_host_secret_are_refused_and_never_read() {
    let sandbox = Sandbox::online();
    let secret_dir = sandbox.path("host-secret");
    std::fs::create_dir_all(secret_dir.join("src")).unwrap();
    let secret = "TOP-SECRET-6f1b2c";
    std::fs::write(
        secret_dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"leak\"\nversion = \"0.1.0\"\ndescription = \"{secret}\"\nlicense = \"{secret}\"\n"
        ),
    )
    .unwrap();
    std::fs::write(secret_dir.join("src/lib.rs"), "").unwrap();
    let manifest = format!(
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[dependencies]\nleak = {{ workspace = true }}\n\n\
         [workspace.dependencies]\nleak = {{ path = \"{dir}\" }}\n\n[patch.crates-io]\nitoa = {{ path = \"{dir}\" }}\n{CONTRACT}",
        dir = secret_dir.display()
    );
    let lockfile = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"leak\"]\n\n[[package]]\nname = \"leak\"\nversion = \"0.1.0\"\n";
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &archive(
            "demo-0.1.0",
            &[("Cargo.toml", manifest.as_bytes()), ("Cargo.lock", lockfile.as_bytes()), ("src/lib.rs", b"")],
        ),
    );
    let output = sandbox.scan(&input, &[]);
    assert_eq!(exit_code(&output), 1);
    let report = sandbox.report();
    let mut keys: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "manifest-path-outside")
        .map(|f| f["location"]["key"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["patch.crates-io.itoa.path", "workspace.dependencies.leak.path"]);
    assert_eq!(finding(&report, "manifest-path-outside")["severity"], "deny");
    let written = String::from_utf8_lossy(&everything_written(&sandbox, &output)).into_owned();
    assert!(!written.contains(secret), "the host secret reached the output");
}

#[test]
fn a_git_file_url_dependency_is_refused_and_no_host_program_runs() {
    let sandbox = Sandbox::online();
    let (path, log) = stand_ins(&sandbox);
    let manifest = format!(
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[dependencies]\nlocal = {{ git = \"file://{}\" }}\n{CONTRACT}",
        sandbox.path("repo").display()
    );
    let lockfile = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"local\"]\n\n[[package]]\nname = \"local\"\nversion = \"0.1.0\"\nsource = \"git+file:///srv/repo#0123456789abcdef0123456789abcdef01234567\"\n";
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &archive(
            "demo-0.1.0",
            &[("Cargo.toml", manifest.as_bytes()), ("Cargo.lock", lockfile.as_bytes()), ("src/lib.rs", b"")],
        ),
    );
    let output = sandbox
        .scan_command(&input, &support::synthetic_db())
        .env("PATH", &path)
        .args(["--out", sandbox.path("out").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 1, "{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    let outside = finding(&report, "manifest-path-outside");
    assert_eq!(outside["location"]["key"], "dependencies.local.git");
    assert_eq!(outside["location"]["line"], 6);
    assert!(!log.exists(), "host programs ran: {}", std::fs::read_to_string(&log).unwrap_or_default());
}

#[test]
fn a_no_load_scan_starts_no_cargo_rustc_or_git_on_the_host() {
    let sandbox = Sandbox::online();
    let (path, log) = stand_ins(&sandbox);
    let cache = sandbox.path("empty-cache");
    for fixture in ["components/real-deps", "connectors/echo", "connectors/vulnerable"] {
        let output = sandbox
            .scan_command(&support::fixture(fixture), &support::synthetic_db())
            .env("PATH", &path)
            .args(["--no-load"])
            .args(["--cache-dir", cache.to_str().unwrap(), "--out", sandbox.path("out").to_str().unwrap()])
            .output()
            .unwrap();
        assert!(matches!(exit_code(&output), 0 | 1), "{fixture}: {}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(!log.exists(), "host programs ran: {}", std::fs::read_to_string(&log).unwrap_or_default());
    // The licences were still learnt: from the downloaded, verified crates' own manifests.
    let output = sandbox
        .scan_command(&support::fixture("components/real-deps"), &support::synthetic_db())
        .env("PATH", &path)
        .args(["--no-load", "--offline"])
        .args(["--cache-dir", cache.to_str().unwrap(), "--out", sandbox.path("out").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 1);
    assert_eq!(sandbox.report()["sbom"]["unknown_licenses"], 0);
}

#[test]
fn a_package_name_with_dot_dot_and_slash_writes_nothing_outside() {
    let sandbox = Sandbox::new();
    let manifest = format!("[package]\nname = \"../../escaped/x\"\nversion = \"0.1.0\"\n{CONTRACT}");
    let input = sandbox
        .input("demo-0.1.0.crate", &archive("demo-0.1.0", &[("Cargo.toml", manifest.as_bytes()), ("src/lib.rs", b"")]));
    let work = sandbox.path("work/deeper");
    std::fs::create_dir_all(&work).unwrap();
    let output = sandbox.scan_command(&input, &support::synthetic_db()).current_dir(&work).output().unwrap();
    assert_eq!(exit_code(&output), 1, "{}", String::from_utf8_lossy(&output.stderr));
    let written: Vec<PathBuf> = support::walk(sandbox.dir.path())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "report.json"))
        .collect();
    let digest = sha256(&std::fs::read(&input).unwrap());
    assert_eq!(written, [work.join(format!("assay-out/sha256-{}/report.json", &digest[..16]))]);
    assert!(support::walk(sandbox.dir.path()).iter().all(|p| !p.to_string_lossy().contains("escaped")));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&written[0]).unwrap()).unwrap();
    let invalid = finding(&report, "manifest-invalid");
    assert_eq!(invalid["location"]["key"], "package.name");
    assert!(invalid["message"].as_str().unwrap().contains("not a valid crate name"), "{invalid}");
}

#[test]
fn a_name_with_an_escape_sequence_is_printed_escaped() {
    let sandbox = Sandbox::new();
    let manifest = format!("[package]\nname = \"evil\\u001b[2J\\u001b[1;1HACCEPTED\"\nversion = \"0.1.0\"\n{CONTRACT}");
    let input = sandbox.input(
        "demo\u{1b}[31m-0.1.0.crate",
        &archive("demo-0.1.0", &[("Cargo.toml", manifest.as_bytes()), ("src/lib.rs", b"")]),
    );
    let output = sandbox.scan(&input, &[]);
    assert_eq!(exit_code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains('\u{1b}'), "a raw escape reached the terminal: {stderr:?}");
    assert!(stderr.contains("demo\\u{1b}[31m-0.1.0.crate"), "{stderr}");
    assert!(stderr.contains("evil\\u{1b}[2J\\u{1b}[1;1HACCEPTED"), "{stderr}");
    let summary = std::fs::read_to_string(sandbox.path("out/summary.md")).unwrap();
    assert!(!summary.contains('\u{1b}') && summary.contains("\\u{1b}"), "{summary}");
    // The report itself keeps the exact bytes (JSON escapes them) for machines.
    assert!(sandbox.report()["subject"]["name"].as_str().unwrap().contains('\u{1b}'));
}

#[test]
fn an_asset_locking_a_malicious_crate_is_denied_and_never_built() {
    let Some(db) = support::shared("advisory-db") else { return };
    let sandbox = Sandbox::new();
    let asset = assemble("fast", &sandbox.path("in"));
    // arrayref 0.3.10: published with a malicious dependency, removed 86 minutes later (RUSTSEC-2026-0260).
    let lockfile = std::fs::read_to_string(asset.join("Cargo.lock")).unwrap();
    let lockfile =
        lockfile.replacen("version = \"0.1.0\"\n", "version = \"0.1.0\"\ndependencies = [\"arrayref\"]\n", 1);
    std::fs::write(
        asset.join("Cargo.lock"),
        format!("{lockfile}\n{}", lock_entry("arrayref", "0.3.10", &"0".repeat(64))),
    )
    .unwrap();
    let output = sandbox
        .scan_command(&asset, &db)
        .env("ASSAY_NO_LOAD", "false")
        .args(["--max-db-age", "100000"])
        .args(["--out", sandbox.path("out").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 1, "{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    let malicious = finding(&report, "malicious-dependency");
    assert_eq!(malicious["severity"], "deny");
    assert_eq!(malicious["location"]["name"], "arrayref");
    assert!(malicious["message"].as_str().unwrap().contains("RUSTSEC-2026-0260"), "{malicious}");
    assert_eq!(report["options"]["load"], "refused-malicious");
    let load = report["stages"].as_array().unwrap().iter().find(|s| s["name"] == "load").unwrap();
    assert_eq!(load["status"], "skipped");
    assert!(load["note"].as_str().unwrap().contains("arrayref 0.3.10"), "{load}");
    assert!(report.get("load").is_none_or(serde_json::Value::is_null), "the service never ran");
}

/// An asset depending on `tiny 0.1.0` from the test registry, pinned to `checksum`.
fn asset_with_tiny(sandbox: &Sandbox, checksum: &str) -> PathBuf {
    let manifest =
        format!("[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[dependencies]\ntiny = \"0.1.0\"\n{CONTRACT}");
    let lockfile = format!(
        "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"tiny\"]\n\n{}",
        lock_entry("tiny", "0.1.0", checksum)
    );
    sandbox.input(
        "demo-0.1.0.crate",
        &archive(
            "demo-0.1.0",
            &[("Cargo.toml", manifest.as_bytes()), ("Cargo.lock", lockfile.as_bytes()), ("src/lib.rs", b"")],
        ),
    )
}

#[test]
fn a_dependency_whose_bytes_differ_from_the_lockfile_is_denied_and_not_kept() {
    let sandbox = Sandbox::online();
    let genuine = tiny_crate("tiny", "0.1.0");
    let mut tampered = tiny_crate("tiny", "0.1.0");
    tampered.extend_from_slice(b"appended by a compromised mirror");
    let registry =
        Registry::start(HashMap::from([("/crates/tiny/0.1.0/download".to_owned(), Answer::Bytes(tampered))]));
    let input = asset_with_tiny(&sandbox, &sha256(&genuine));
    let cache = sandbox.path("cache");
    let output =
        sandbox.scan(&input, &["--registry-url", &registry.url, "--cache-dir", cache.to_str().unwrap(), "--no-load"]);
    assert_eq!(exit_code(&output), 1, "{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    let mismatch = finding(&report, "dependency-checksum-mismatch");
    assert_eq!(mismatch["severity"], "deny");
    assert_eq!(mismatch["location"]["name"], "tiny");
    assert!(mismatch["message"].as_str().unwrap().contains(&sha256(&genuine)), "{mismatch}");
    assert_eq!(registry.requests(), ["/crates/tiny/0.1.0/download"], "no retry can fix a mismatch");
    let kept: Vec<PathBuf> = support::walk(&cache).into_iter().filter(|p| p.is_file()).collect();
    assert!(kept.iter().all(|p| !p.to_string_lossy().ends_with(".crate")), "nothing unverified is kept: {kept:?}");
}

#[test]
fn dependency_metadata_comes_from_the_verified_crate_and_a_flaky_registry_is_retried() {
    let sandbox = Sandbox::online();
    let genuine = tiny_crate("tiny", "0.1.0");
    let registry = Registry::start(HashMap::from([(
        "/crates/tiny/0.1.0/download".to_owned(),
        Answer::FlakyThen(1, genuine.clone()),
    )]));
    let input = asset_with_tiny(&sandbox, &sha256(&genuine));
    let cache = sandbox.path("cache");
    let args = ["--registry-url", &registry.url, "--cache-dir", cache.to_str().unwrap(), "--no-load"];
    let output = sandbox.scan(&input, &args);
    assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(registry.requests().len(), 2, "one 503, then the crate");
    let sbom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.path("out/sbom.cdx.json")).unwrap()).unwrap();
    let tiny = sbom["components"].as_array().unwrap().iter().find(|c| c["name"] == "tiny").unwrap();
    assert_eq!(tiny["licenses"][0]["expression"], "MIT");
    assert_eq!(tiny["description"], "tiny from the test registry");
    let cached = cache.join("crates").join(&sha256(&genuine)[..2]).join(format!("{}.crate", sha256(&genuine)));
    assert_eq!(std::fs::read(cached).unwrap(), genuine, "kept under its digest");
    // A second scan reads neither the registry nor the crate: the metadata cache answers.
    let output = sandbox.scan(&input, &args);
    assert_eq!(exit_code(&output), 0);
    assert_eq!(registry.requests().len(), 2);
    let sbom_stage =
        sandbox.report()["stages"].as_array().unwrap().iter().find(|s| s["name"] == "sbom").unwrap().clone();
    assert_eq!(sbom_stage["note"], "dependency metadata from cache");
}

#[test]
fn a_service_is_built_in_the_sandbox_from_vendored_verified_crates_only() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::online();
    let genuine = tiny_crate("tiny", "0.1.0");
    let registry =
        Registry::start(HashMap::from([("/crates/tiny/0.1.0/download".to_owned(), Answer::Bytes(genuine.clone()))]));
    let asset = assemble("fast", &sandbox.path("in"));
    let manifest = std::fs::read_to_string(asset.join("Cargo.toml")).unwrap();
    std::fs::write(
        asset.join("Cargo.toml"),
        manifest.replacen(
            "[package.metadata.marketplace]",
            "[dependencies]\ntiny = \"0.1.0\"\n\n[package.metadata.marketplace]",
            1,
        ),
    )
    .unwrap();
    let lockfile = std::fs::read_to_string(asset.join("Cargo.lock")).unwrap();
    let lockfile = lockfile.replacen("version = \"0.1.0\"\n", "version = \"0.1.0\"\ndependencies = [\"tiny\"]\n", 1);
    std::fs::write(asset.join("Cargo.lock"), format!("{lockfile}\n{}", lock_entry("tiny", "0.1.0", &sha256(&genuine))))
        .unwrap();
    // A build script that fails the build if it can see the host's cargo home (registry cache, credentials)
    // or anything of the host's HOME: the old sandbox mounted the host registry cache for the build.
    let home = std::env::var("HOME").unwrap();
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
    let probe = format!(
        "fn main() {{\n    for seen in [{cargo_home:?}, {home:?}, \"/home/sandbox/.cargo/registry\"] {{\n        \
         if std::path::Path::new(seen).exists() {{ panic!(\"the build can see {{seen}}\"); }}\n    }}\n}}\n"
    );
    std::fs::write(asset.join("build.rs"), probe).unwrap();
    let output = sandbox
        .scan_command(&asset, &support::synthetic_db())
        .env("ASSAY_NO_LOAD", "false")
        .args(["--registry-url", &registry.url])
        .args(["--cache-dir", sandbox.path("cache").to_str().unwrap(), "--out", sandbox.path("out").to_str().unwrap()])
        .output()
        .unwrap();
    let report = sandbox.report();
    assert!(matches!(exit_code(&output), 0 | 1), "{}", String::from_utf8_lossy(&output.stderr));
    let codes = support::codes(&report);
    assert!(!codes.iter().any(|c| c == "load-build-failed"), "{:#}", report["findings"]);
    assert!(report["load"]["overall"]["requests"].as_u64().unwrap() > 0, "{:#}", report["findings"]);
    let load = report["stages"].as_array().unwrap().iter().find(|s| s["name"] == "load").unwrap();
    assert!(load["note"].as_str().unwrap().starts_with("vendored 1 crate in "), "{load}");
    assert_eq!(registry.requests(), ["/crates/tiny/0.1.0/download"], "downloaded once, for the SBOM and the build");
    assert!(sandbox.leftovers().is_empty(), "scratch removed: {:?}", sandbox.leftovers());
}

#[test]
fn report_files_are_never_written_through_a_planted_link() {
    let sandbox = Sandbox::new();
    let victim = sandbox.path("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::create_dir_all(sandbox.path("out")).unwrap();
    for name in ["report.json", "summary.md"] {
        std::os::unix::fs::symlink(&victim, sandbox.path("out").join(name)).unwrap();
    }
    let input = sandbox.input("demo-0.1.0.crate", &support::hostile_archive::clean());
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let written = std::fs::symlink_metadata(sandbox.path("out/report.json")).unwrap();
    assert!(written.file_type().is_file(), "the link was replaced by the report, not followed");

    // An output directory that is itself a link is refused (exit 2), saying why.
    std::fs::create_dir_all(sandbox.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(sandbox.path("elsewhere"), sandbox.path("linked-out")).unwrap();
    let output = sandbox
        .scan_command(&input, &support::synthetic_db())
        .args(["--out", sandbox.path("linked-out").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("symbolic link"));
    assert!(support::walk(&sandbox.path("elsewhere")).is_empty());
}

#[test]
fn a_lockfile_package_name_with_a_path_is_never_fetched_or_unpacked() {
    let sandbox = Sandbox::online();
    let registry = Registry::start(HashMap::new());
    let manifest = format!("[package]\nname = \"demo\"\nversion = \"0.1.0\"\n{CONTRACT}");
    let lockfile = format!(
        "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"../../../escaped\"]\n\n{}",
        lock_entry("../../../escaped", "0.1.0", &"ab".repeat(32))
    );
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &archive(
            "demo-0.1.0",
            &[("Cargo.toml", manifest.as_bytes()), ("Cargo.lock", lockfile.as_bytes()), ("src/lib.rs", b"")],
        ),
    );
    let cache = sandbox.path("cache");
    let output = sandbox.scan(&input, &["--registry-url", &registry.url, "--cache-dir", cache.to_str().unwrap()]);
    assert!(matches!(exit_code(&output), 0 | 1 | 3), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(registry.requests().is_empty(), "asked for {:?}", registry.requests());
    let unknown = finding(&sandbox.report(), "sbom-metadata-unavailable")["message"].as_str().unwrap().to_owned();
    assert!(unknown.contains("not a valid crate name"), "{unknown}");
    assert!(support::walk(sandbox.dir.path()).iter().all(|p| !p.to_string_lossy().contains("escaped")));
}

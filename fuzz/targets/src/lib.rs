//! What each fuzz target feeds Assay's parsers of untrusted bytes, and the properties it checks.
//!
//! One function per target, `fn(&[u8])`, shared by two callers: the cargo-fuzz binaries in `../fuzz_targets`
//! (`bench/fuzz.sh` runs them) and `tests/corpus.rs`, which replays every committed seed and every input a
//! fuzzer ever crashed on (`../corpus/<target>/`) on each `cargo test`. A panic is a finding: either a parser
//! crashed on hostile input or a checked property (nothing fetched from outside the archive root, nothing
//! unpacked outside the scratch directory, a parsed message re-reads the same) does not hold.

mod archive;
mod crate_manifest;
mod fetch_uri;
mod gzip;
mod lockfile;
mod manifest;
mod registry_url;
mod rule_set;
mod source;
mod submission;
mod trace;
mod verify;

/// A fuzz target: its name (the folder of its corpus, the name of its cargo-fuzz binary) and its body.
pub struct Target {
    /// The corpus folder and binary name.
    pub name: &'static str,
    /// Feeds one input to the code under test; panics on a finding.
    pub run: fn(&[u8]),
}

/// Every fuzz target, by name.
pub const TARGETS: &[Target] = &[
    Target { name: "archive", run: archive::run },
    Target { name: "crate_manifest", run: crate_manifest::run },
    Target { name: "fetch_uri", run: fetch_uri::run },
    Target { name: "lockfile", run: lockfile::run },
    Target { name: "manifest", run: manifest::run },
    Target { name: "registry_url", run: registry_url::run },
    Target { name: "rule_set", run: rule_set::run },
    Target { name: "source", run: source::run },
    Target { name: "submission", run: submission::run },
    Target { name: "trace", run: trace::run },
    Target { name: "verify", run: verify::run },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}

/// A private temporary directory for one input; a harness that cannot make one cannot run at all.
fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("the fuzz harness needs a temporary directory")
}

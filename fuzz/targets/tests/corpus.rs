//! Replays every committed fuzz input (`fuzz/corpus/<target>/`: the seeds, and every input a fuzzer found a
//! problem with) through its target, so `cargo test` keeps what fuzzing established.

use std::fs;
use std::path::{Path, PathBuf};

use assay_fuzz_targets::{TARGETS, target};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

fn inputs(name: &str) -> Vec<PathBuf> {
    let dir = corpus_dir().join(name);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read the corpus {}: {err}", dir.display()))
        .map(|entry| entry.expect("a readable corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_seed_corpus_and_every_corpus_a_target() {
    for target in TARGETS {
        assert!(!inputs(target.name).is_empty(), "fuzz/corpus/{} has no seeds", target.name);
    }
    for entry in fs::read_dir(corpus_dir()).expect("fuzz/corpus exists") {
        let name = entry.expect("a readable entry").file_name().to_string_lossy().into_owned();
        assert!(target(&name).is_some(), "fuzz/corpus/{name} belongs to no target");
    }
}

/// One test per target, so a failure names the target and the input.
macro_rules! replay {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let target = target(stringify!($name)).expect("a target of that name");
            for input in inputs(target.name) {
                let bytes = fs::read(&input).expect("a readable corpus file");
                eprintln!("replaying {}", input.display());
                (target.run)(&bytes);
            }
        }
    )*};
}

replay!(
    archive,
    crate_manifest,
    fetch_uri,
    lockfile,
    manifest,
    registry_url,
    rule_set,
    source,
    submission,
    trace,
    verify
);

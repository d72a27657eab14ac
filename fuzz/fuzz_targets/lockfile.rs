//! cargo-fuzz entry point of the `lockfile` target (its body and input format: `targets/src/lockfile.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("lockfile").expect("a known target").run)(data));

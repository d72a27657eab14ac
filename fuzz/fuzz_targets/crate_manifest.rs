//! cargo-fuzz entry point of the `crate_manifest` target (its body and input format: `targets/src/crate_manifest.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("crate_manifest").expect("a known target").run)(data));

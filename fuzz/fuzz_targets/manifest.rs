//! cargo-fuzz entry point of the `manifest` target (its body and input format: `targets/src/manifest.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("manifest").expect("a known target").run)(data));

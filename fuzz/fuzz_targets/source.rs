//! cargo-fuzz entry point of the `source` target (its body and input format: `targets/src/source.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("source").expect("a known target").run)(data));

//! cargo-fuzz entry point of the `archive` target (its body and input format: `targets/src/archive.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("archive").expect("a known target").run)(data));

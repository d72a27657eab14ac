//! cargo-fuzz entry point of the `verify` target (its body and input format: `targets/src/verify.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("verify").expect("a known target").run)(data));

//! cargo-fuzz entry point of the `submission` target (its body and input format: `targets/src/submission.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("submission").expect("a known target").run)(data));

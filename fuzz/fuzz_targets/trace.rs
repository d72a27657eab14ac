//! cargo-fuzz entry point of the `trace` target (its body and input format: `targets/src/trace.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("trace").expect("a known target").run)(data));

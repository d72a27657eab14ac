//! cargo-fuzz entry point of the `fetch_uri` target (its body and input format: `targets/src/fetch_uri.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("fetch_uri").expect("a known target").run)(data));

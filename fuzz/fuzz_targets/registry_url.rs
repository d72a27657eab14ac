//! cargo-fuzz entry point of the `registry_url` target (its body and input format: `targets/src/registry_url.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("registry_url").expect("a known target").run)(data));

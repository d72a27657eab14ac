//! cargo-fuzz entry point of the `rule_set` target (its body and input format: `targets/src/rule_set.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| (assay_fuzz_targets::target("rule_set").expect("a known target").run)(data));

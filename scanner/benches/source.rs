//! Benchmark: source analysis (parse with syn, find capabilities, scan for secrets) of a 50,000-line crate.
//! Run: `cargo bench -p assay-scanner --bench source`.

use std::fmt::Write;
use std::hint::black_box;

use assay_scanner::stages::source;
use criterion::{Criterion, criterion_group, criterion_main};

/// 500 files of 100 lines: functions with arithmetic, matches, and a few capability uses.
fn crate_of_50k_lines(root: &std::path::Path) {
    std::fs::create_dir_all(root.join("src")).expect("src dir");
    for file in 0..500 {
        let mut text = String::from("use std::collections::HashMap;\n\n");
        for function in 0..12 {
            let _ = write!(
                text,
                "pub fn f{function}(input: &[u32]) -> u64 {{\n    let mut total = 0u64;\n    for value in input {{\n        total += u64::from(*value) * {function};\n    }}\n    let _port = std::env::var(\"PORT\");\n    total\n}}\n\n"
            );
        }
        while text.lines().count() < 100 {
            text.push_str("// padding comment line\n");
        }
        std::fs::write(root.join(format!("src/m{file:03}.rs")), text).expect("source file");
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    crate_of_50k_lines(dir.path());
    let facts = source::analyse(dir.path());
    assert_eq!(facts.rust_files, 500);
    c.bench_function("source_analysis_50k_lines", |b| b.iter(|| source::analyse(black_box(dir.path()))));
}

criterion_group!(benches, bench);
criterion_main!(benches);

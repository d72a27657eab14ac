//! Source analysis of the asset's own Rust code: a `src/lib.rs` with the input as its bytes, analysed as a
//! scan analyses it (nesting bound, `syn`, capability and secret scanners) on its own stack.

use std::fs;

use assay_scanner::stages::source::analyse;

pub fn run(data: &[u8]) {
    let dir = crate::workdir();
    fs::create_dir(dir.path().join("src")).expect("the harness makes src/");
    fs::write(dir.path().join("src/lib.rs"), data).expect("the harness writes its input");
    let facts = analyse(dir.path());
    for used in &facts.uses {
        assert_eq!(used.file, "src/lib.rs", "a use was attributed to a file that does not exist");
    }
}

//! Archive intake: a submitted `.crate` as bytes, unpacked with the worker's checks, then read as an asset.
//!
//! Input: one mode byte, then the archive. An even mode byte takes the rest as the file submitted; an odd one
//! as a tar stream, gzipped here. Properties: nothing is written outside the scratch directory, and the
//! unpacked bytes stay within the limits.

use std::fs;

use assay_scanner::asset::Asset;
use assay_scanner::intake::{IntakeLimits, intake};

use crate::gzip::gzip;

/// Small limits, so a run spends its time in the parsers rather than on writing large files.
const LIMITS: IntakeLimits = IntakeLimits {
    max_archive_bytes: 1024 * 1024,
    max_entries: 512,
    max_unpacked_bytes: 4 * 1024 * 1024,
    max_entry_bytes: 1024 * 1024,
    max_compression_ratio: 100,
};

pub fn run(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    let archive = if mode % 2 == 0 { body.to_vec() } else { gzip(body) };
    let dir = crate::workdir();
    let input = dir.path().join("asset-0.1.0.crate");
    fs::write(&input, archive).expect("the harness writes its input");
    let scratch = dir.path().join("scratch");
    fs::create_dir(&scratch).expect("the harness makes the scratch directory");

    // An error here is the harness's disk, not the archive: the archive's problems are findings.
    let Ok(intake) = intake(&input, &scratch, &LIMITS) else { return };
    let mut beside: Vec<_> = fs::read_dir(dir.path())
        .expect("the harness lists its directory")
        .map(|entry| entry.expect("readable entry").file_name())
        .collect();
    beside.sort();
    assert_eq!(beside, ["asset-0.1.0.crate", "scratch"], "intake wrote outside its scratch directory");
    assert!(intake.unpacked_bytes <= LIMITS.max_unpacked_bytes, "intake unpacked more than its limit");
    if let Some(root) = intake.root {
        assert!(root.starts_with(&scratch), "the asset root {} is outside the scratch directory", root.display());
        if let Ok(asset) = Asset::load(&root) {
            let _ = asset.facts(&intake.subject.sha256);
            let _ = asset.summary();
        }
    }
}

//! The asset's manifest and contract: `Cargo.toml` as a submission ships it, read the way a scan reads it,
//! and the same text through the reader of dependencies' packaged manifests.

use std::fs;

use assay_scanner::asset::{Asset, Manifest};

pub fn run(data: &[u8]) {
    let dir = crate::workdir();
    fs::write(dir.path().join("Cargo.toml"), data).expect("the harness writes its input");
    if let Ok(asset) = Asset::load(dir.path()) {
        let _ = asset.facts(&"0".repeat(64));
        let _ = asset.summary();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Manifest::parse(text);
    }
}

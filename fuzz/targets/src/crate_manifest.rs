//! A dependency's `.crate`, downloaded and checksum-verified but as untrusted as the asset: only its
//! `<name>-<version>/Cargo.toml` is unpacked and read for the SBOM's metadata.
//!
//! Input: one mode byte, then the `.crate` (even mode) or a tar stream gzipped here (odd mode).

use std::fs;

use assay_scanner::asset::parse_lockfile;
use assay_scanner::deps::metadata::from_crate;

use crate::gzip::gzip;

/// The package the `.crate` claims to be, as a lockfile names it.
const LOCKFILE: &str = r#"version = 4

[[package]]
name = "demo"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "0000000000000000000000000000000000000000000000000000000000000000"
"#;

pub fn run(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    let archive = if mode % 2 == 0 { body.to_vec() } else { gzip(body) };
    let lockfile = parse_lockfile(LOCKFILE).expect("the harness's lockfile parses");
    let dir = crate::workdir();
    let path = dir.path().join("demo-1.0.0.crate");
    fs::write(&path, archive).expect("the harness writes its input");
    let _ = from_crate(&path, &lockfile.packages[0], 1024 * 1024);
}

//! Gzips what a target generated as a tar stream, so that mutations reach the tar headers and the entries
//! instead of dying at the gzip checksum.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

/// `bytes`, gzipped (fastest level: the target's cost is the parser, not the compression).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

//! `Cargo.lock` as a submission ships it.

use assay_scanner::asset::parse_lockfile;

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_lockfile(text);
    }
}

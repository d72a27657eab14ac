//! The asset's files as source analysis sees them: every regular file, sorted, with binaries recognised
//! by their magic bytes.

use std::fs;
use std::path::Path;

/// One file of the asset.
pub struct AssetFile {
    /// `/`-separated path relative to the asset root.
    pub relative: String,
    /// Size in bytes.
    pub size: u64,
}

/// Every regular file below `root` (links are never followed; intake refuses them anyway), sorted.
pub fn list(root: &Path) -> Vec<AssetFile> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                let relative = entry
                    .path()
                    .strip_prefix(root)
                    .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
                if let Ok(relative) = relative {
                    files.push(AssetFile { relative, size: meta.len() });
                }
            }
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    files
}

/// The executable format of `bytes`, by magic number.
pub fn binary_kind(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x7f, b'E', b'L', b'F', ..] => Some("ELF"),
        [b'M', b'Z', ..] if bytes.len() > 64 => Some("PE (Windows)"),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => Some("Mach-O"),
        [0xca, 0xfe, 0xba, 0xbe, ..] => Some("Mach-O universal"),
        [0x00, b'a', b's', b'm', ..] => Some("WebAssembly"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_recognised_by_magic() {
        assert_eq!(binary_kind(b"\x7fELF\x02\x01"), Some("ELF"));
        assert_eq!(binary_kind(&[0xcf, 0xfa, 0xed, 0xfe, 7]), Some("Mach-O"));
        assert_eq!(binary_kind(b"MZ short"), None, "two letters alone are text");
        assert_eq!(binary_kind(b"fn main() {}"), None);
    }
}

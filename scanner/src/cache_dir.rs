//! Where Assay keeps what it learns between runs: the advisory database and dependency metadata.

use std::path::PathBuf;

/// `$ASSAY_CACHE_DIR`, else `$XDG_CACHE_HOME/assay`, else `~/.cache/assay` (the temp dir as a last resort).
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("ASSAY_CACHE_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("assay")
}

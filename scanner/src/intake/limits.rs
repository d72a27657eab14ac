//! Intake limits: how big, how many and how compressible an archive may be before it is refused.

use serde::{Deserialize, Serialize};

/// Bounds on what intake will read and write. Each breach is a finding that names the limit.
///
/// The defaults fit every crate on crates.io (whose upload limit is 10 MiB compressed) with room to spare,
/// and keep a worker's memory and disk use small whatever an archive claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct IntakeLimits {
    /// Largest archive file accepted, compressed.
    pub max_archive_bytes: u64,
    /// Most entries (files, directories and any other headers) in one archive.
    pub max_entries: u64,
    /// Largest sum of file sizes once unpacked.
    pub max_unpacked_bytes: u64,
    /// Largest single file once unpacked.
    pub max_entry_bytes: u64,
    /// Largest ratio of unpacked to compressed bytes; real source compresses 3–10x, bombs 1000x.
    pub max_compression_ratio: u64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        Self {
            max_archive_bytes: 32 * MIB,
            max_entries: 20_000,
            max_unpacked_bytes: 256 * MIB,
            max_entry_bytes: 64 * MIB,
            max_compression_ratio: 100,
        }
    }
}

const MIB: u64 = 1024 * 1024;

/// The ratio limit applies only past this many unpacked bytes: tiny archives of tar padding compress
/// far better than 100x without being bombs.
pub(crate) const RATIO_GRACE_BYTES: u64 = MIB;

/// Longest entry name accepted from GNU long-name or PAX records; read into memory, so it must be bounded.
pub(crate) const MAX_NAME_BYTES: u64 = 4096;

/// Largest PAX extended header read into memory.
pub(crate) const MAX_PAX_BYTES: u64 = 64 * 1024;

impl IntakeLimits {
    /// Cap on the raw tar stream: file contents plus headers, padding and name records for every entry.
    /// A stream longer than this cannot be a valid archive within the other limits.
    pub(crate) fn max_stream_bytes(&self) -> u64 {
        let per_entry_overhead = 3 * 512 + MAX_NAME_BYTES;
        self.max_unpacked_bytes.saturating_add(self.max_entries.saturating_mul(per_entry_overhead)).saturating_add(MIB)
    }
}

//! Scratch directories: one per scan or fetch, private to this user (0700), marked with the process that
//! owns it, and swept when that process is gone. A worker killed mid-scan (SIGKILL, OOM) leaves its
//! unpacked archives behind; the next worker on the machine removes them at start-up.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Prefix of every scratch directory Assay makes.
pub const PREFIX: &str = "assay-";

/// File naming the owning process inside a scratch directory.
const OWNER_FILE: &str = ".owner";

/// A directory without an owner file is left alone this long: it may be being created right now.
const UNMARKED_GRACE: Duration = Duration::from_secs(3600);

/// A fresh scratch directory under `parent`, named `assay-<kind>…`, mode 0700, owned by this process.
pub fn create(parent: &Path, kind: &str) -> io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{kind}"))
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)?;
    fs::write(dir.path().join(OWNER_FILE), std::process::id().to_string())?;
    Ok(dir)
}

/// Removes the scratch directories under `parent` whose owning process has exited (or that carry no owner
/// and are over an hour old); returns what was removed. Best effort: what cannot be removed stays.
pub fn sweep(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else { return Vec::new() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with(PREFIX);
        // Only real directories: a link named like ours is not followed, let alone removed through.
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if ours && is_dir && stale(&path) && fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

fn stale(dir: &Path) -> bool {
    match fs::read_to_string(dir.join(OWNER_FILE)) {
        Ok(owner) => owner.trim().parse::<u32>().is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()),
        Err(_) => fs::metadata(dir)
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| SystemTime::now().duration_since(modified).unwrap_or_default() > UNMARKED_GRACE),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn directories_of_exited_processes_are_swept_and_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let live = create(parent.path(), "scan-").unwrap();
        let mut exited = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = exited.id();
        exited.wait().unwrap();
        let orphan = parent.path().join("assay-scan-orphan");
        fs::create_dir(&orphan).unwrap();
        fs::write(orphan.join(OWNER_FILE), dead_pid.to_string()).unwrap();
        let fresh_unmarked = parent.path().join("assay-being-made");
        fs::create_dir(&fresh_unmarked).unwrap();
        let not_ours = parent.path().join("other-tool");
        fs::create_dir(&not_ours).unwrap();

        assert_eq!(sweep(parent.path()), [orphan]);
        assert!(live.path().is_dir() && fresh_unmarked.is_dir() && not_ours.is_dir());
        assert_eq!(fs::metadata(live.path()).unwrap().permissions().mode() & 0o777, 0o700);
    }
}

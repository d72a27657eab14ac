//! The host-wide measurement lock: a build holds it shared, a measured window (the service's start-up and
//! its load test) holds it exclusively, so no other scan on this machine — another thread of a worker or
//! another worker process — builds or loads while one scan measures. It is `flock` on one file the operator
//! chooses (under the cache directory by default), so other local users cannot take it.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};

use crate::cancel::Cancel;

/// How a lock is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// With other builds: a build may overlap another build, never a measured window.
    Shared,
    /// Alone: a measured window.
    Exclusive,
}

/// A held lock, released on drop (closing the file releases it).
#[derive(Debug)]
pub struct HostLock {
    _file: File,
    /// How long taking it waited.
    pub waited: Duration,
}

/// How often a waiting taker checks for cancellation.
const POLL: Duration = Duration::from_millis(50);

/// Takes the lock at `path` as `hold`, waiting as long as it takes unless `cancel` is raised.
pub fn take(path: &Path, hold: Hold, cancel: &Cancel) -> io::Result<Option<HostLock>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    let operation = match hold {
        Hold::Shared => FlockOperation::NonBlockingLockShared,
        Hold::Exclusive => FlockOperation::NonBlockingLockExclusive,
    };
    let started = Instant::now();
    loop {
        match flock(&file, operation) {
            Ok(()) => return Ok(Some(HostLock { _file: file, waited: started.elapsed() })),
            Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {
                if cancel.is_cancelled() {
                    return Ok(None);
                }
                std::thread::sleep(POLL);
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), when readable.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|field| field.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_share_and_a_measured_window_waits_for_them() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let path = dir.path().join("measurement.lock");
        let cancel = Cancel::default();
        let first = take(&path, Hold::Shared, &cancel).unwrap_or_else(|err| panic!("{err}"));
        let second = take(&path, Hold::Shared, &cancel).unwrap_or_else(|err| panic!("{err}"));
        assert!(first.is_some() && second.is_some(), "two builds overlap");
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || take(&path, Hold::Exclusive, &Cancel::default()))
        };
        std::thread::sleep(Duration::from_millis(200));
        drop((first, second));
        let window = waiter.join().unwrap_or_else(|_| panic!("panicked")).unwrap_or_else(|err| panic!("{err}"));
        let window = window.unwrap_or_else(|| panic!("not cancelled"));
        assert!(window.waited >= Duration::from_millis(150), "it waited for the builds: {:?}", window.waited);
        // While it is held, a build waits too, and gives up when cancelled.
        let cancelled = Cancel::default();
        cancelled.cancel();
        assert!(take(&path, Hold::Shared, &cancelled).unwrap_or_else(|err| panic!("{err}")).is_none());
    }
}

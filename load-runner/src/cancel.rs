//! Stopping a scan from outside: a flag the owner of a scan raises (a worker's scan timeout), which the
//! pipeline checks between stages and every sandboxed process's wait loop checks while it runs, killing the
//! process group. Abandoning a blocking task does not stop it (a tokio timeout only stops waiting); this does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A scan's stop flag; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks everything holding a clone to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether stopping was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

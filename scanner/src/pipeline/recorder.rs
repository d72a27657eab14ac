//! The stages of one scan as they run: progress shown as each starts, the owner's cancel checked before it,
//! and its status, duration and note recorded as it ends (the report's `stages`).

use std::time::Instant;

use assay_load_runner::cancel::Cancel;
use assay_report::{StageRecord, StageStatus};

use super::{Progress, ScanError};

/// Records the stages of one scan.
pub(super) struct StageRecorder<'a> {
    progress: &'a mut dyn Progress,
    cancel: &'a Cancel,
    records: Vec<StageRecord>,
}

/// A stage that has started.
#[must_use = "a started stage is recorded by `finish`"]
pub(super) struct Running {
    name: &'static str,
    clock: Instant,
}

impl<'a> StageRecorder<'a> {
    pub(super) fn new(progress: &'a mut dyn Progress, cancel: &'a Cancel) -> Self {
        Self { progress, cancel, records: Vec::new() }
    }

    /// Starts `name`, unless the scan's owner asked it to stop.
    pub(super) fn start(&mut self, name: &'static str) -> Result<Running, ScanError> {
        self.check()?;
        self.progress.stage(name);
        Ok(Running { name, clock: Instant::now() })
    }

    /// Stops the scan if its owner asked.
    pub(super) fn check(&self) -> Result<(), ScanError> {
        if self.cancel.is_cancelled() { Err(ScanError::Cancelled) } else { Ok(()) }
    }

    /// Records how a started stage ended.
    pub(super) fn finish(&mut self, running: Running, ok: bool, note: Option<String>) {
        self.records.push(StageRecord {
            name: running.name.to_owned(),
            status: if ok { StageStatus::Ok } else { StageStatus::Failed },
            duration_ms: u64::try_from(running.clock.elapsed().as_millis()).unwrap_or(u64::MAX),
            note,
        });
    }

    /// Records a started stage that decided not to run, and why.
    pub(super) fn finish_skipped(&mut self, running: Running, why: &str) {
        self.records.push(skipped(running.name, why));
    }

    /// Records a stage that did not run, and why.
    pub(super) fn skip(&mut self, name: &str, why: &str) {
        self.records.push(skipped(name, why));
    }

    /// Every stage, in the order they ran.
    pub(super) fn into_records(self) -> Vec<StageRecord> {
        self.records
    }
}

/// The record of a stage that did not run.
pub(super) fn skipped(name: &str, why: &str) -> StageRecord {
    StageRecord { name: name.to_owned(), status: StageStatus::Skipped, duration_ms: 0, note: Some(why.to_owned()) }
}

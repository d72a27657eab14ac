//! Running the harness in the sandbox with a plan: the job (pinned to the harness's CPUs when pinning is on)
//! and the answer read back from its stdout.

use std::io;
use std::path::{Path, PathBuf};

use assay_report::load::Pinning;

use crate::cancel::Cancel;
use crate::plan::{HarnessPlan, HarnessResult};
use crate::sandbox::bounded::{Finished, run_bounded};
use crate::sandbox::{Identity, Job, Limits, Sandbox};

/// Where and how the harness runs.
pub struct HarnessJob<'a> {
    /// The sandbox.
    pub sandbox: &'a Sandbox,
    /// The scratch directory (host path).
    pub scratch: &'a Path,
    /// The harness as the sandbox sees it.
    pub harness: PathBuf,
    /// Read-only binds that show it there.
    pub ro_binds: Vec<(PathBuf, PathBuf)>,
    /// Disjoint CPUs, and the `taskset` that applies them.
    pub pinning: Option<(Pinning, PathBuf)>,
    /// Limits of the harness and everything it starts.
    pub limits: &'a Limits,
}

impl HarnessJob<'_> {
    /// The prefix that pins a service to its CPUs (empty when not pinned).
    pub fn service_prefix(&self) -> Vec<String> {
        match &self.pinning {
            Some((pinning, taskset)) => {
                vec![taskset.display().to_string(), "-c".to_owned(), pinning.service_cpus.clone()]
            }
            None => Vec::new(),
        }
    }

    /// Runs the harness with `plan` on its stdin until it ends, the wall clock runs out or `cancel` is raised.
    pub fn run(&self, plan: &HarnessPlan, cancel: &Cancel) -> io::Result<Finished> {
        let plan_json = serde_json::to_vec(plan).map_err(io::Error::other)?;
        let (program, args) = match &self.pinning {
            Some((pinning, taskset)) => (
                taskset.clone(),
                vec!["-c".into(), pinning.harness_cpus.clone().into(), self.harness.clone().into_os_string()],
            ),
            None => (self.harness.clone(), Vec::new()),
        };
        let job = Job {
            scratch: self.scratch,
            cwd: self.sandbox.inside(self.scratch, self.scratch),
            program,
            args,
            env: Vec::new(),
            limits: self.limits,
            ro_binds: self.ro_binds.clone(),
            identity: Identity::Supervisor,
        };
        run_bounded(self.sandbox.command(&job), Some(plan_json), self.limits.wall_clock, self.limits.output.0, cancel)
    }
}

/// The harness's answer, when it finished and answered; else the end of what it said (its exit status is in
/// `finished`).
pub fn answer(finished: &Finished) -> Result<HarnessResult, String> {
    let parsed = serde_json::from_slice::<HarnessResult>(&finished.stdout);
    match parsed {
        Ok(result) if finished.status.is_some_and(|status| status.success()) => Ok(result),
        _ => {
            let unreadable = parsed.err().map(|err| format!("its answer is unreadable ({err}); ")).unwrap_or_default();
            Err(format!("{unreadable}{}", finished.stderr_tail(15)))
        }
    }
}

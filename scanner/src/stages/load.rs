//! The load stage in the pipeline: whether it can run on this machine, and running it on an unpacked asset.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_load_runner::sandbox::{Sandbox, SandboxKind, find_program};
use assay_load_runner::stage::{self, LoadOutcome, LoadRequest, LoadSettings, ServiceTarget};
use assay_load_runner::{Budget, LoadSpec};

use crate::asset::contract::Service;

/// Name of the harness binary, installed next to `assay`.
pub const HARNESS_BIN: &str = "assay-load-harness";

/// Whether scans load-test services, decided once per process.
#[derive(Clone, Debug)]
pub enum LoadSetup {
    /// `--no-load`: the stage is skipped and the report says so.
    Skipped,
    /// The sandbox and the harness are in place.
    Ready(Arc<LoadEnvironment>),
    /// The stage cannot run here (no bubblewrap, no harness); a scan of an asset with a service fails with
    /// this message instead of judging it untested.
    Unavailable(String),
}

/// What the stage runs with.
#[derive(Debug)]
pub struct LoadEnvironment {
    /// The sandbox.
    pub sandbox: Sandbox,
    /// Host path of `assay-load-harness`.
    pub harness: PathBuf,
    /// Limits and bounds.
    pub settings: LoadSettings,
}

impl LoadSetup {
    /// Prepares the stage: finds the harness and sets up the sandbox, or says why it cannot run.
    pub fn prepare(kind: SandboxKind, harness: Option<PathBuf>, settings: LoadSettings) -> Self {
        let harness = match locate_harness(harness) {
            Ok(harness) => harness,
            Err(why) => return LoadSetup::Unavailable(why),
        };
        match Sandbox::new(kind) {
            Ok(sandbox) => LoadSetup::Ready(Arc::new(LoadEnvironment { sandbox, harness, settings })),
            Err(err) => LoadSetup::Unavailable(err.to_string()),
        }
    }
}

/// The harness: `explicit` (`--harness`, `ASSAY_LOAD_HARNESS`), else next to the running `assay`, else on PATH.
pub fn locate_harness(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("the load harness {} does not exist", path.display()))
        };
    }
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join(HARNESS_BIN)));
    beside.filter(|path| path.is_file()).or_else(|| find_program(HARNESS_BIN)).ok_or_else(|| {
        format!(
            "the load harness `{HARNESS_BIN}` is neither next to assay nor on PATH; build it with \
             `cargo build --release -p assay-load-runner` (a plain `cargo build --release` of the workspace builds \
             it too), pass --harness FILE, or skip the load stage with --no-load"
        )
    })
}

/// Builds and load-tests `service` of the asset at `root` (inside `scratch`).
pub fn run(
    environment: &LoadEnvironment,
    scratch: &Path,
    root: &Path,
    service: &Service,
    spec: &LoadSpec,
    ceilings: &Budget,
) -> Result<LoadOutcome, stage::LoadError> {
    stage::run(
        &environment.sandbox,
        &LoadRequest {
            scratch,
            asset: root,
            service: ServiceTarget { bin: &service.bin, port_env: &service.port_env, ready: &service.ready },
            spec,
            ceilings,
            settings: &environment.settings,
            harness: &environment.harness,
        },
    )
}

/// The load spec of a contract that declares a service but no `[load]`: one user asking the ready path, so
/// the service is still built, started and checked for crashes.
pub fn default_spec(service: &Service) -> Option<LoadSpec> {
    let toml = format!(
        "users = 1\nramp = \"1/s\"\nduration = \"3s\"\n[[scenario]]\nname = \"ready\"\nrequest = {{ path = {:?} }}\n",
        service.ready
    );
    toml::from_str(&toml).ok()
}

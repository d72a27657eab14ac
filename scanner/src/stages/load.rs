//! The load stage in the pipeline: whether it can run on this machine, and running it on an unpacked asset:
//! the verified dependencies vendored, the asset moved under a fixed name into a working directory of its
//! own, then built and load-tested in the sandbox.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assay_load_runner::cancel::Cancel;
use assay_load_runner::sandbox::{Sandbox, SandboxKind, find_program};
use assay_load_runner::stage::{self, LoadError, LoadOutcome, LoadRequest, LoadSettings};
use assay_report::contract::{Budget, Capabilities, LoadSpec};
use assay_report::{Finding, codes};
use rustsec::Lockfile;

use crate::deps::{self, Dependencies};
use assay_report::contract::Service;

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
    pub fn prepare(kind: SandboxKind, harness: Option<PathBuf>, mut settings: LoadSettings) -> Self {
        // Once per process: the toolchain every sandboxed build of it uses, recorded with measured binaries.
        settings.toolchain = assay_load_runner::binary::Toolchain::probe();
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

/// The name the asset has in the build's working directory (and so at `/scratch/asset` in the sandbox):
/// fixed, so an archive's folder name (`.cargo`, say) can never make cargo read the asset's files as its
/// configuration.
pub const ASSET_DIR: &str = "asset";

/// What the load stage works on.
pub struct LoadInput<'a> {
    /// The scan's private scratch directory (mode 0700); the build gets `work/` and `vendor/` inside it.
    pub scratch: &'a Path,
    /// The unpacked asset, inside `scratch`; moved into the working directory (the load is its last reader).
    pub root: &'a Path,
    /// The lockfile whose crates.io packages are vendored.
    pub lockfile: Option<&'a Lockfile>,
    /// The declared service.
    pub service: &'a Service,
    /// The load to drive.
    pub spec: &'a LoadSpec,
    /// The rule set's ceilings.
    pub ceilings: &'a Budget,
    /// The contract's capabilities, which observed acts are judged against.
    pub capabilities: &'a Capabilities,
    /// Stops the build and the run when raised.
    pub cancel: &'a Cancel,
}

/// Vendors the asset's verified dependencies, then builds and load-tests its service in the sandbox.
pub fn run(
    environment: &LoadEnvironment,
    input: &LoadInput<'_>,
    dependencies: &mut Dependencies<'_>,
) -> Result<LoadOutcome, LoadError> {
    let io_error = |what: &'static str| move |source: io::Error| LoadError::Io { what, source };
    let not_built = |message: String| LoadOutcome {
        report: None,
        findings: vec![
            Finding::new(&codes::LOAD_BUILD_FAILED, message)
                .help("a service is built offline from Cargo.lock's crates.io packages, each verified by its checksum"),
        ],
        note: "the service was not built".to_owned(),
    };
    let Some(lockfile) = input.lockfile else {
        return Ok(not_built("the service cannot be built without a readable Cargo.lock".to_owned()));
    };
    let vendor_dir = input.scratch.join("vendor");
    let clock = std::time::Instant::now();
    let vendored = deps::vendor(dependencies, lockfile, &vendor_dir)
        .map_err(|err| LoadError::Io { what: "vendoring the dependencies", source: io::Error::other(err) })?;
    if !vendored.missing.is_empty() {
        let shown: Vec<&str> = vendored.missing.iter().take(5).map(String::as_str).collect();
        let more = vendored.missing.len() - shown.len();
        let more = if more > 0 { format!("; and {more} more") } else { String::new() };
        return Ok(not_built(format!(
            "the service cannot be built from verified sources only: {}{more}",
            shown.join("; ")
        )));
    }
    let plural = if vendored.crates == 1 { "" } else { "s" };
    let vendoring = format!("vendored {} crate{plural} in {} ms", vendored.crates, clock.elapsed().as_millis());
    let work = input.scratch.join("work");
    fs::create_dir(&work).map_err(io_error("creating the build's working directory"))?;
    let asset = work.join(ASSET_DIR);
    fs::rename(input.root, &asset).map_err(io_error("moving the asset into the build's working directory"))?;
    let mut outcome = stage::run(
        &environment.sandbox,
        &LoadRequest {
            scratch: &work,
            asset: &asset,
            vendor: &vendor_dir,
            service: input.service,
            spec: input.spec,
            ceilings: input.ceilings,
            capabilities: input.capabilities,
            settings: &environment.settings,
            harness: &environment.harness,
            cancel: input.cancel,
        },
    )?;
    outcome.note = format!("{vendoring}; {}", outcome.note);
    Ok(outcome)
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

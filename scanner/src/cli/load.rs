//! Options of the load stage and its sandbox, shared by `assay scan` and `assay worker`.

use std::path::PathBuf;

use assay_load_runner::sandbox::{Limits, SandboxKind};
use assay_load_runner::stage::LoadSettings;
use assay_report::quantity::{ByteSize, TimeSpan};
use assay_scanner::stages::load::LoadSetup;
use clap::Args;

/// How services are built and load-tested. Limits apply to the service; the build has its own, larger ones.
#[derive(Args)]
#[command(next_help_heading = "Load test and sandbox")]
pub(super) struct LoadArgs {
    /// Skip the load test (recorded in the report).
    #[arg(long, env = "ASSAY_NO_LOAD", hide_env_values = true, value_parser = clap::builder::FalseyValueParser::new())]
    no_load: bool,
    /// Where untrusted code runs: `bubblewrap`, or `none` for trusted local development only (stamped into
    /// the report as `sandbox-disabled`, so it can never be accepted).
    #[arg(long, value_name = "KIND", default_value = "bubblewrap")]
    sandbox: SandboxKind,
    /// The goose harness [default: assay-load-harness next to assay, else on PATH].
    #[arg(long, value_name = "FILE", env = "ASSAY_LOAD_HARNESS", hide_env_values = true)]
    harness: Option<PathBuf>,
    /// CPU time of the service (RLIMIT_CPU; SIGXCPU at the limit).
    #[arg(long, value_name = "TIME", default_value_t = TimeSpan(Limits::service().cpu))]
    limit_cpu: TimeSpan,
    /// Address space of the service (RLIMIT_AS; allocations fail beyond it).
    #[arg(long, value_name = "SIZE", default_value_t = Limits::service().address_space)]
    limit_memory: ByteSize,
    /// Tasks (processes and threads) of the service (RLIMIT_NPROC; forks fail at it).
    #[arg(long, value_name = "N", default_value_t = Limits::service().processes)]
    limit_processes: u64,
    /// Open files of the service (RLIMIT_NOFILE).
    #[arg(long, value_name = "N", default_value_t = Limits::service().open_files)]
    limit_open_files: u64,
    /// Largest file the service may write (RLIMIT_FSIZE).
    #[arg(long, value_name = "SIZE", default_value_t = Limits::service().file_size)]
    limit_file_size: ByteSize,
    /// Service output kept for the report; more is dropped and reported.
    #[arg(long, value_name = "SIZE", default_value_t = Limits::service().output)]
    limit_output: ByteSize,
    /// Wall-clock bound of the service's build.
    #[arg(long, value_name = "TIME", default_value_t = TimeSpan(Limits::build().wall_clock))]
    build_timeout: TimeSpan,
    /// The host-wide measurement lock: builds take it shared, each measured window exclusively, so scans on
    /// this machine (every thread and worker process using the same file) never measure during another's
    /// build or load [default: measurement.lock in the cache dir].
    #[arg(long, value_name = "FILE", env = "ASSAY_MEASUREMENT_LOCK", hide_env_values = true)]
    measurement_lock: Option<PathBuf>,
    /// CPUs of the measured window: `auto` gives the harness the last CPU and the service the others when
    /// there are two or more (recorded in load.json as `pinning`); `off` lets them share every CPU.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "off"])]
    pin_cpus: String,
    /// Build the service a second time in a fresh sandbox and compare the binaries' digests
    /// (`build-not-reproducible`, warn, when they differ); costs a second build.
    #[arg(long)]
    check_reproducible: bool,
}

impl LoadArgs {
    /// The load stage these options describe, prepared (sandbox probed, harness found) unless skipped.
    pub(super) fn setup(&self) -> LoadSetup {
        if self.no_load {
            return LoadSetup::Skipped;
        }
        let defaults = LoadSettings::default();
        let settings = LoadSettings {
            service: Limits {
                cpu: self.limit_cpu.0,
                address_space: self.limit_memory,
                open_files: self.limit_open_files,
                processes: self.limit_processes,
                file_size: self.limit_file_size,
                output: self.limit_output,
                ..defaults.service.clone()
            },
            build: Limits { wall_clock: self.build_timeout.0, ..defaults.build.clone() },
            measurement_lock: Some(
                self.measurement_lock
                    .clone()
                    .unwrap_or_else(|| assay_scanner::cache_dir::cache_root().join("measurement.lock")),
            ),
            pin_cpus: self.pin_cpus == "auto",
            check_reproducible: self.check_reproducible,
            ..defaults
        };
        LoadSetup::prepare(self.sandbox, self.harness.clone(), settings)
    }
}

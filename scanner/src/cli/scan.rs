//! `assay scan`: the whole gate on one asset, writing the report files.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use assay_load_runner::ByteSize;
use assay_rules::RuleSet;
use assay_scanner::intake::IntakeLimits;
use assay_scanner::pipeline::{self, Progress, ScanConfig};
use assay_scanner::stages::audit::AdvisoryDatabase;
use clap::Args;

use super::{DbArgs, Format, Outcome, render};

#[derive(Args)]
pub(super) struct ScanArgs {
    /// The asset: a .crate file, a .tar.gz, or a crate directory.
    path: PathBuf,
    #[command(flatten)]
    db: DbArgs,
    /// Directory for report.json and summary.md [default: assay-out/<name>-<version>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// `human` prints a summary on stderr; `json` prints report.json on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Skip the load test (recorded in the report).
    #[arg(long)]
    no_load: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Intake limits; each breach rejects the asset with a finding that names the limit.
#[derive(Args)]
#[command(next_help_heading = "Intake limits")]
struct LimitArgs {
    /// Largest archive accepted, compressed.
    #[arg(long, value_name = "SIZE", default_value = "32MiB")]
    max_archive_size: ByteSize,
    /// Most entries in an archive.
    #[arg(long, value_name = "N", default_value_t = IntakeLimits::default().max_entries)]
    max_entries: u64,
    /// Largest total size of the unpacked files.
    #[arg(long, value_name = "SIZE", default_value = "256MiB")]
    max_unpacked_size: ByteSize,
    /// Largest single unpacked file.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    max_entry_size: ByteSize,
    /// Largest ratio of unpacked to compressed size.
    #[arg(long, value_name = "RATIO", default_value_t = IntakeLimits::default().max_compression_ratio)]
    max_ratio: u64,
}

impl From<&LimitArgs> for IntakeLimits {
    fn from(args: &LimitArgs) -> Self {
        Self {
            max_archive_bytes: args.max_archive_size.0,
            max_entries: args.max_entries,
            max_unpacked_bytes: args.max_unpacked_size.0,
            max_entry_bytes: args.max_entry_size.0,
            max_compression_ratio: args.max_ratio,
        }
    }
}

/// Shows the running stage on a terminal; silent otherwise.
struct TerminalProgress {
    enabled: bool,
}

impl Progress for TerminalProgress {
    fn stage(&mut self, stage: &str) {
        if self.enabled {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K  {stage}…");
            let _ = stderr.flush();
        }
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

pub(super) fn run(args: ScanArgs) -> anyhow::Result<Outcome> {
    let db_path = args.db.location();
    let db = AdvisoryDatabase::open(&db_path)?;
    let config = ScanConfig {
        limits: IntakeLimits::from(&args.limits),
        no_load: args.no_load,
        max_db_age_days: args.db.max_db_age,
        scratch_parent: None,
    };
    let report = {
        let mut progress = TerminalProgress {
            enabled: std::io::stderr().is_terminal(),
        };
        pipeline::scan(&args.path, &db, &RuleSet::builtin(), &config, &mut progress)
            .with_context(|| format!("cannot scan {}", args.path.display()))?
    };
    let out = args.out.unwrap_or_else(|| {
        let folder = match &report.asset {
            Some(asset) => format!("{}-{}", asset.name, asset.version),
            None => report.subject.name.clone(),
        };
        PathBuf::from("assay-out").join(folder)
    });
    pipeline::write_report(&report, &out)?;
    match args.format {
        Format::Json => {
            let json =
                serde_json::to_string_pretty(&report).context("cannot serialise the report")?;
            println!("{json}");
        }
        Format::Human => eprint!("{}", render::scan_summary(&report, &out)),
    }
    Ok(Outcome::Verdict(report.verdict))
}

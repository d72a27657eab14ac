//! `assay diff OLD NEW`: what changed between two releases of an asset (contract, dependencies, performance,
//! metadata), for archives, directories or stored submissions; and the release lookup `scan --baseline` shares.

use std::path::Path;

use anyhow::Context;
use assay_report::lineage::{PreviousRelease, ReleaseDiff, render};
use assay_report::untrusted::escape;
use assay_scanner::lineage::Baseline;
use assay_scanner::pipeline::ScanConfig;
use assay_scanner::stages::load::LoadSetup;
use assay_scanner::store::{Store, valid_submission_id};
use clap::Args;
use serde::Serialize;

use super::scan::PipelineArgs;
use super::{Format, Outcome, block_on};

#[derive(Args)]
pub(super) struct DiffArgs {
    /// The earlier release: a .crate, .tar.gz or crate directory, or a submission id in --store.
    #[arg(value_name = "OLD")]
    old: String,
    /// The later release, named the same ways.
    #[arg(value_name = "NEW")]
    new: String,
    /// Report store (a directory or postgres:// URL) that submission ids are read from. Read only.
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
    /// `human` prints the changes by section on stdout; `json` prints `{previous, current, diff}`.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// `assay diff --format json`.
#[derive(Serialize)]
struct DiffOutput {
    previous: PreviousRelease,
    current: PreviousRelease,
    diff: ReleaseDiff,
}

pub(super) fn run(args: DiffArgs) -> anyhow::Result<Outcome> {
    // Archives and directories are read statically: only stored submissions carry load results.
    let config = args.pipeline.config(LoadSetup::Skipped)?;
    let store = args.store.as_deref().map(open_store).transpose()?;
    let old = release(&args.old, store.as_ref(), &args.pipeline, &config)?;
    let new = release(&args.new, store.as_ref(), &args.pipeline, &config)?;
    let diff = ReleaseDiff::between(&old.facts, &new.facts);
    match args.format {
        Format::Json => {
            let output = DiffOutput { previous: old.release, current: new.release, diff };
            println!("{}", serde_json::to_string_pretty(&output).context("cannot serialise the diff")?);
        }
        Format::Human => print!("{}", human(&old.release, &new.release, &diff)),
    }
    Ok(Outcome::Done)
}

/// Opens a report store for reading.
pub(super) fn open_store(location: &str) -> anyhow::Result<Store> {
    block_on(async { Store::open(location).await.with_context(|| format!("cannot open the store {location}")) })
}

/// A release named on the command line: an existing path is scanned with `config`; anything else is a
/// submission id in `store`.
pub(super) fn release(
    name: &str,
    store: Option<&Store>,
    pipeline: &PipelineArgs,
    config: &ScanConfig,
) -> anyhow::Result<Baseline> {
    let path = Path::new(name);
    if path.exists() {
        let output = pipeline.scan(path, config)?;
        return Baseline::scanned(&output)
            .with_context(|| format!("{name}: its Cargo.toml cannot be read, so there is nothing to compare"));
    }
    match store {
        Some(store) if valid_submission_id(name) => block_on(async {
            Baseline::stored(store, name).await.with_context(|| format!("cannot read submission {name} from the store"))
        }),
        Some(_) => anyhow::bail!("{name}: no such file or directory, and not a submission id"),
        None => anyhow::bail!("{name}: no such file or directory (give --store to name a stored submission)"),
    }
}

fn human(old: &PreviousRelease, new: &PreviousRelease, diff: &ReleaseDiff) -> String {
    let who = |release: &PreviousRelease| {
        let id = release.submission_id.as_ref().map_or(String::new(), |id| format!(", submission {id}"));
        format!("{} {} ({}{id})", escape(&release.name), escape(&release.version), release.verdict)
    };
    let mut out = format!("{} -> {}\n", who(old), who(new));
    let sections = render::sections(diff);
    if sections.is_empty() {
        out.push_str("no changes\n");
    }
    for (heading, lines) in sections {
        out.push_str(&format!("\n{heading}\n"));
        for line in lines {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

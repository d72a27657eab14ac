//! `assay sbom`: the CycloneDX SBOM of an asset, with its vulnerabilities, without the rest of the report.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Outcome;
use super::scan::PipelineArgs;

#[derive(Args)]
pub(super) struct SbomArgs {
    /// The asset: a .crate file, a .tar.gz, or a crate directory.
    path: PathBuf,
    /// Write the SBOM here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

pub(super) fn run(args: SbomArgs) -> anyhow::Result<Outcome> {
    let output =
        args.pipeline.scan(&args.path, &args.pipeline.config(assay_scanner::stages::load::LoadSetup::Skipped)?)?;
    let Some(sbom) = output.sbom else {
        let reasons: Vec<String> = output
            .report
            .findings
            .iter()
            .filter(|f| f.severity == assay_report::Severity::Deny)
            .map(|f| format!("{}: {}", f.code, f.message))
            .collect();
        anyhow::bail!("no SBOM: the asset could not be read ({})", reasons.join("; "));
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &sbom).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} ({} components)", path.display(), output.report.sbom.map_or(0, |s| s.components));
        }
        None => std::io::stdout().lock().write_all(&sbom).context("cannot write the SBOM to stdout")?,
    }
    Ok(Outcome::Done)
}

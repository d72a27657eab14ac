//! `assay audit`: a lockfile against the advisory database, without the rest of the gate.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use assay_report::Finding;
use assay_report::audit::{AuditResult, DatabaseIdentity};
use assay_rules::RuleSet;
use assay_scanner::asset::{Manifest, parse_lockfile};
use assay_scanner::stages::audit::{self, AdvisoryDatabase};
use clap::Args;
use serde::Serialize;

use super::{DbArgs, Format, Outcome, render};

#[derive(Args)]
pub(super) struct AuditArgs {
    /// A Cargo.lock, or a directory that holds one.
    path: PathBuf,
    #[command(flatten)]
    db: DbArgs,
    /// `human` prints a summary on stderr; `json` prints the result on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// `assay audit --format json` (schema `assay.audit/v1`).
#[derive(Serialize)]
struct AuditOutput<'a> {
    schema: &'static str,
    lockfile: String,
    advisory_db: &'a DatabaseIdentity,
    #[serde(flatten)]
    result: &'a AuditResult,
    findings: &'a [Finding],
}

pub(super) fn run(args: AuditArgs) -> anyhow::Result<Outcome> {
    let lockfile_path = if args.path.is_dir() { args.path.join("Cargo.lock") } else { args.path.clone() };
    let text =
        fs::read_to_string(&lockfile_path).with_context(|| format!("cannot read {}", lockfile_path.display()))?;
    let lockfile = parse_lockfile(&text).map_err(|finding| {
        let at = finding.location.map(|l| format!(" ({l})")).unwrap_or_default();
        anyhow::anyhow!("{}{at}: {}", lockfile_path.display(), finding.message)
    })?;
    let db = AdvisoryDatabase::open(&args.db.location())?;
    let root = sibling_package(&lockfile_path);
    let result = audit::audit(&db, &lockfile, root.as_ref().map(|(n, v)| (n.as_str(), v.as_str())));

    let mut findings = audit::findings(&result);
    findings.extend(db.staleness(jiff::Timestamp::now(), args.db.max_db_age));
    let verdict = RuleSet::builtin().judge(&mut findings, None);

    match args.format {
        Format::Json => {
            let output = AuditOutput {
                schema: "assay.audit/v1",
                lockfile: lockfile_path.display().to_string(),
                advisory_db: &db.identity,
                result: &result,
                findings: &findings,
            };
            println!("{}", serde_json::to_string_pretty(&output).context("cannot serialise the audit")?);
        }
        Format::Human => eprint!("{}", render::audit_summary(&result, &findings, &db.identity)),
    }
    Ok(Outcome::Verdict(verdict))
}

/// The package whose lockfile this is, from a `Cargo.toml` beside it, so it is not listed as a path dependency.
fn sibling_package(lockfile: &Path) -> Option<(String, String)> {
    let manifest = lockfile.parent()?.join("Cargo.toml");
    let text = fs::read_to_string(manifest).ok()?;
    let manifest = Manifest::parse(&text).ok()?;
    Some((manifest.name, manifest.version))
}

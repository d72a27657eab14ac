//! `assay rules test DIR`: rule-set regression cases, like `opa test` — each case names an asset, an
//! optional rule set, the expected verdict and the codes that must (and must not) appear.

use std::path::{Path, PathBuf};

use anyhow::Context;
use assay_scanner::lineage::{Baseline, LineageBasis};
use assay_scanner::pipeline;
use assay_scanner::stages::audit::AdvisoryDatabase;
use serde::Deserialize;

use super::Outcome;
use super::scan::PipelineArgs;

#[derive(clap::Args)]
pub(super) struct RulesTestArgs {
    /// Folder of case files (`*.toml`: asset, baseline, rules, verdict, codes, absent).
    dir: PathBuf,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    asset: PathBuf,
    /// An earlier release the asset is judged against (lineage checks).
    baseline: Option<PathBuf>,
    rules: Option<PathBuf>,
    verdict: String,
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
}

pub(super) fn run(args: RulesTestArgs) -> anyhow::Result<Outcome> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot read {}", args.dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    cases.sort();
    anyhow::ensure!(!cases.is_empty(), "{} holds no *.toml cases", args.dir.display());
    let db = AdvisoryDatabase::open(&args.pipeline.db_location())?;
    let config = args.pipeline.config(assay_scanner::stages::load::LoadSetup::Skipped)?;
    let (mut passed, mut failed) = (0, 0);
    for path in &cases {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        match run_case(path, &db, &config, &args.pipeline) {
            Ok(problems) if problems.is_empty() => {
                passed += 1;
                eprintln!("ok    {name}");
            }
            Ok(problems) => {
                failed += 1;
                eprintln!("FAIL  {name}\n        {}", problems.join("\n        "));
            }
            Err(err) => {
                failed += 1;
                eprintln!("FAIL  {name}\n        {err:#}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { Outcome::Done } else { Outcome::Problem })
}

fn run_case(
    path: &Path,
    db: &AdvisoryDatabase,
    config: &pipeline::ScanConfig,
    pipeline_args: &PipelineArgs,
) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let case: Case = toml::from_str(&text).with_context(|| format!("{}: not a test case", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let rules = match &case.rules {
        Some(rules) => super::rules::load(&base.join(rules))?,
        None => pipeline_args.rule_set()?,
    };
    let asset = base.join(&case.asset);
    let mut config = config.clone();
    if let Some(baseline) = &case.baseline {
        let baseline = base.join(baseline);
        let scanned = pipeline::scan(&baseline, db, &rules, &config, &mut ())
            .with_context(|| format!("cannot scan the baseline {}", baseline.display()))?;
        let baseline = Baseline::scanned(&scanned)
            .with_context(|| format!("the baseline {} has no readable Cargo.toml", baseline.display()))?;
        config.lineage = Some(LineageBasis { baseline: Some(baseline), listed: Vec::new() });
    }
    let output = pipeline::scan(&asset, db, &rules, &config, &mut ())
        .with_context(|| format!("cannot scan {}", asset.display()))?;
    let report = output.report;
    let present: Vec<&str> = report.findings.iter().map(|f| f.code.as_str()).collect();
    let mut problems = Vec::new();
    if report.verdict.as_str() != case.verdict {
        problems.push(format!(
            "verdict: expected {}, got {} (codes: {})",
            case.verdict,
            report.verdict,
            present.join(", ")
        ));
    }
    for code in &case.codes {
        if !present.contains(&code.as_str()) {
            problems.push(format!("expected a `{code}` finding"));
        }
    }
    for code in &case.absent {
        if present.contains(&code.as_str()) {
            problems.push(format!("unexpected `{code}` finding"));
        }
    }
    Ok(problems)
}

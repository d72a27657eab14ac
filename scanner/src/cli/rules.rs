//! `assay rules`: check a rule-set file, explain a finding code.

use std::path::{Path, PathBuf};

use assay_report::codes;
use assay_rules::{Level, RuleSet};
use clap::Subcommand;

use super::Outcome;

#[derive(Subcommand)]
pub(super) enum RulesCommand {
    /// Validate a rule-set file: print every diagnostic (the offending source marked, the key, a hint); exit 2
    /// on errors.
    Check {
        /// The rule-set file.
        file: PathBuf,
    },
    /// Run rule-set test cases: each `*.toml` in DIR names an asset, a rule set and the expected outcome.
    Test(super::rules_test::RulesTestArgs),
    /// Print the JSON Schema of facts.json (the `input` of Rego rules).
    FactsSchema,
    /// Show which stored verdicts a new rule set would change, and the findings that make the difference;
    /// changes nothing.
    Impact(ImpactArgs),
    /// Explain a finding code (or list them all): what it means and its level in a rule set.
    Explain {
        /// The code, e.g. `undeclared-network`; omit to list every code.
        code: Option<String>,
        /// Rule set whose level to show [default: the bundled one].
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub(super) struct ImpactArgs {
    #[command(flatten)]
    store: super::store::StoreArg,
    /// The rule set to try.
    #[arg(long, value_name = "FILE")]
    rules: PathBuf,
    /// Audit the stored dependencies against this advisory database too [default: each report's own audit].
    #[arg(long, value_name = "DIR")]
    advisory_db: Option<PathBuf>,
    /// `human` prints a table; `json` the list `assay rejudge --format json` prints.
    #[arg(long, value_enum, default_value = "human")]
    format: super::Format,
}

/// `rules impact`: a dry-run re-judgement by another rule set.
fn impact(args: ImpactArgs) -> anyhow::Result<Outcome> {
    use assay_scanner::rejudge::{Basis, Rejudger, sweep};
    let rules = load(&args.rules)?;
    let db = args.advisory_db.as_deref().map(assay_scanner::stages::audit::AdvisoryDatabase::open).transpose()?;
    let basis = db.as_ref().map_or(Basis::AsStored, Basis::Database);
    let rejudger = Rejudger { rules: &rules, basis, signer: None };
    super::block_on(async {
        let store = args.store.open().await?;
        let swept = sweep(&store, &rejudger, true, None).await?;
        super::changes::print(&swept, args.format, true)?;
        Ok(Outcome::Done)
    })
}

/// Loads a rule-set file, turning its diagnostics into one error that lists them all.
pub(super) fn load(path: &Path) -> anyhow::Result<RuleSet> {
    RuleSet::load(path).map_err(|diagnostics| super::diagnostics::InvalidRuleSet::new(path, &diagnostics).into())
}

pub(super) fn run(command: RulesCommand) -> anyhow::Result<Outcome> {
    match command {
        RulesCommand::Check { file } => {
            let rules = load(&file)?;
            let identity = rules.identity();
            println!("{}: ok (sha256 {})", file.display(), identity.sha256);
            Ok(Outcome::Done)
        }
        RulesCommand::Test(args) => super::rules_test::run(args),
        RulesCommand::Impact(args) => impact(args),
        RulesCommand::FactsSchema => {
            let schema = serde_json::to_string_pretty(&assay_report::facts::facts_schema())?;
            println!("{schema}");
            Ok(Outcome::Done)
        }
        RulesCommand::Explain { code, rules } => {
            let rules = match &rules {
                Some(path) => load(path)?,
                None => RuleSet::builtin(),
            };
            let level = |id: &str| match rules.level(id) {
                Some(Level::Allow) => "allow".to_owned(),
                Some(Level::At(severity)) => severity.to_string(),
                None => "unknown".to_owned(),
            };
            match code {
                None => {
                    for code in codes::ALL {
                        println!("{:<28} {:<7} {}", code.id, level(code.id), code.summary);
                    }
                    Ok(Outcome::Done)
                }
                Some(id) => {
                    let Some(code) = codes::lookup(&id) else {
                        anyhow::bail!("`{id}` is not a finding code; `assay rules explain` lists them");
                    };
                    println!(
                        "{}\n  {}\n  built-in level: {}\n  level in this rule set: {}",
                        code.id,
                        code.summary,
                        code.default_severity,
                        level(code.id)
                    );
                    println!("  change it with:  [levels] {} = \"allow|warn|review|deny\"", code.id);
                    Ok(Outcome::Done)
                }
            }
        }
    }
}

//! `assay rejudge`: judge every stored submission again against a newer advisory database and/or rule set;
//! record, sign and (with `--amqp`) publish each verdict that changes.

use std::path::PathBuf;

use anyhow::Context;
use assay_scanner::pipeline::Signer;
use assay_scanner::rejudge::{Basis, Publisher, Rejudger, sweep};
use assay_scanner::stages::audit::AdvisoryDatabase;
use clap::Args;

use super::store::StoreArg;
use super::{Format, Outcome};

#[derive(Args)]
pub(super) struct RejudgeArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The advisory database to judge by [default: $ASSAY_ADVISORY_DB, else the cache dir's advisory-db/].
    #[arg(long, value_name = "DIR")]
    advisory_db: Option<PathBuf>,
    /// The rule set to judge by [default: the bundled one].
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Ed25519 private key (PKCS#8 PEM) to sign the new reports with (not needed with --dry-run).
    #[arg(long, value_name = "FILE", env = "ASSAY_SIGNING_KEY", hide_env_values = true)]
    key: Option<PathBuf>,
    /// The VSA's verifier.id.
    #[arg(long, value_name = "URI", env = "ASSAY_VERIFIER_ID", hide_env_values = true, default_value = assay_report::intoto::DEFAULT_VERIFIER_ID)]
    verifier_id: String,
    /// Publish each changed verdict to RabbitMQ (`<prefix>.reports`, routing key `report.<verdict>`).
    #[arg(long, value_name = "URL", env = "ASSAY_AMQP_URL", hide_env_values = true)]
    amqp: Option<String>,
    /// Prefix of the queue and exchange names.
    #[arg(long, value_name = "PREFIX", default_value = "assay", requires = "amqp")]
    prefix: String,
    /// Show what would change; record and publish nothing.
    #[arg(long, conflicts_with = "amqp")]
    dry_run: bool,
    /// `human` prints a table; `json` a list of `{submission_id, asset, previous_verdict, verdict, reasons}`.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub(super) fn run(args: RejudgeArgs) -> anyhow::Result<Outcome> {
    let signer = match (&args.key, args.dry_run) {
        (Some(path), _) => {
            Some(Signer { key: assay_report::keys::read_signing_key(path)?, verifier_id: args.verifier_id.clone() })
        }
        (None, true) => None,
        (None, false) => anyhow::bail!(
            "rejudge signs the reports it records: give --key FILE (or ASSAY_SIGNING_KEY), or look first with --dry-run"
        ),
    };
    let location = args.advisory_db.clone().unwrap_or_else(assay_scanner::stages::audit::default_location);
    let db = AdvisoryDatabase::open(&location)?;
    let rules = match &args.rules {
        Some(path) => super::rules::load(path)?,
        None => assay_rules::RuleSet::builtin(),
    };
    let rejudger = Rejudger { rules: &rules, basis: Basis::Database(&db), signer: signer.as_ref() };
    super::block_on(async {
        let store = args.store.open().await?;
        let connected = match &args.amqp {
            Some(amqp) => {
                Some(Publisher::connect(amqp, &args.prefix).await.context("cannot publish the changed verdicts")?)
            }
            None => None,
        };
        let publisher = connected.as_ref().map(|(_connection, publisher)| publisher);
        let swept = sweep(&store, &rejudger, args.dry_run, publisher).await?;
        super::changes::print(&swept, args.format, args.dry_run)?;
        Ok(Outcome::Done)
    })
}

//! `assay scan`: the whole gate on one asset, writing the report files.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use assay_report::Verdict;
use assay_report::quantity::ByteSize;
use assay_rules::RuleSet;
use assay_scanner::deps::RegistryUrl;
use assay_scanner::intake::IntakeLimits;
use assay_scanner::lineage::LineageBasis;
use assay_scanner::pipeline::{self, Progress, ScanConfig, ScanOutput, Signer};
use assay_scanner::stages::audit::AdvisoryDatabase;
use assay_scanner::stages::load::LoadSetup;
use assay_scanner::store::Store;
use clap::Args;

use super::load::LoadArgs;
use super::{DbArgs, Format, Outcome, render};

#[derive(Args)]
pub(super) struct ScanArgs {
    /// The assets: .crate files, .tar.gz archives or crate directories. Several are scanned in a row by one
    /// process (the advisory database and the rule set loaded once), as the worker does.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Directory for the report files (report.json, summary.md, sbom.cdx.json, findings.sarif, facts.json,
    /// load.json, report.dsse.json when signed) [default: assay-out/<name>-<version>; with several assets,
    /// DIR/<name>-<version>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print each asset's scan time (ms, report files included) and, at the end, this process's peak memory
    /// on stderr.
    #[arg(long)]
    timings: bool,
    /// `human` prints a summary on stderr; `json` prints report.json on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    lineage: LineageArgs,
    #[command(flatten)]
    signing: SigningArgs,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// What each asset is judged against (lineage checks run only with one of these).
#[derive(Args)]
#[command(next_help_heading = "Lineage")]
struct LineageArgs {
    /// The earlier release to judge the asset against: a .crate, .tar.gz or crate directory (scanned first,
    /// with the same options), or a submission id in --store.
    #[arg(long, value_name = "PATH|ID")]
    baseline: Option<String>,
    /// Report store (a directory or postgres:// URL), read only: without --baseline, the asset is judged
    /// against the store's newest accepted release of its name, as the worker does; its name is checked
    /// against every listed asset of other publishers.
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
}

impl LineageArgs {
    /// The lineage basis of the asset at `path`, if --baseline or --store asks for one.
    fn basis(
        &self,
        path: &std::path::Path,
        store: Option<&Store>,
        pipeline: &PipelineArgs,
        config: &ScanConfig,
    ) -> anyhow::Result<Option<LineageBasis>> {
        if self.baseline.is_none() && store.is_none() {
            return Ok(None);
        }
        let identity = pipeline::identify(path, config).with_context(|| format!("cannot read {}", path.display()))?;
        let mut basis = match (store, &identity) {
            (Some(store), Some((name, _, _))) => super::block_on(async {
                LineageBasis::from_store(store, name, None).await.context("cannot read the report store")
            })?,
            _ => LineageBasis::default(),
        };
        if let Some(baseline) = &self.baseline {
            // The baseline is only compared with: it is neither signed nor judged against anything itself.
            let plain = ScanConfig { signer: None, lineage: None, ..config.clone() };
            basis.baseline = Some(super::diff::release(baseline, store, pipeline, &plain)?);
        }
        Ok(Some(basis))
    }
}

/// How reports are signed.
#[derive(Args)]
#[command(next_help_heading = "Signing")]
struct SigningArgs {
    /// Ed25519 private key (PKCS#8 PEM, mode 0600) to sign report.dsse.json with.
    #[arg(long, value_name = "FILE", env = "ASSAY_SIGNING_KEY", hide_env_values = true)]
    key: Option<PathBuf>,
    /// The VSA's verifier.id.
    #[arg(long, value_name = "URI", env = "ASSAY_VERIFIER_ID", hide_env_values = true, default_value = assay_report::intoto::DEFAULT_VERIFIER_ID)]
    verifier_id: String,
    /// The marketplace listing the VSA's resourceUri names [default: the asset's file:// URI].
    #[arg(long, value_name = "URI")]
    listing: Option<String>,
}

impl SigningArgs {
    fn signer(&self) -> anyhow::Result<Option<Signer>> {
        let Some(path) = &self.key else { return Ok(None) };
        let key = assay_report::keys::read_signing_key(path)?;
        Ok(Some(Signer { key, verifier_id: self.verifier_id.clone() }))
    }
}

/// Options every command that runs the pipeline shares.
#[derive(Args)]
#[command(next_help_heading = "Advisories, caches and rules")]
pub(super) struct PipelineArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Never use the network: dependency crates come from the cache only (their licences are unknown and
    /// the service is not built otherwise).
    #[arg(long, env = "ASSAY_OFFLINE", hide_env_values = true, value_parser = clap::builder::FalseyValueParser::new())]
    offline: bool,
    /// Cache of verified dependency crates and their metadata [default: $ASSAY_CACHE_DIR, else ~/.cache/assay].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Where dependency crates are downloaded from: a base URL (`/{crate}/{version}/download` is appended) or
    /// a template with cargo's `dl` markers, e.g. a marketplace mirror. Every crate is checked against
    /// Cargo.lock's checksum before it is kept.
    #[arg(long, value_name = "URL", env = "ASSAY_REGISTRY_URL", default_value = assay_scanner::deps::CRATES_IO_DOWNLOAD)]
    registry_url: RegistryUrl,
    /// Rule-set file [default: the bundled marketplace rule set, rules/policies/default.toml].
    #[arg(long, value_name = "FILE", env = "ASSAY_RULES", hide_env_values = true)]
    rules: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

impl PipelineArgs {
    /// The scan configuration these options describe.
    pub(super) fn config(&self, load: LoadSetup) -> anyhow::Result<ScanConfig> {
        let mut config = ScanConfig {
            limits: IntakeLimits::from(&self.limits),
            load,
            max_db_age_days: self.db.max_db_age,
            sbom_timestamp: source_date_epoch()?,
            ..ScanConfig::default()
        };
        config.dependencies.offline = self.offline;
        config.dependencies.registry = self.registry_url.clone();
        if let Some(dir) = &self.cache_dir {
            config.dependencies.cache_dir.clone_from(dir);
        }
        Ok(config)
    }

    /// The rule set to judge by; a broken file is an error listing every diagnostic.
    pub(super) fn rule_set(&self) -> anyhow::Result<RuleSet> {
        match &self.rules {
            None => Ok(RuleSet::builtin()),
            Some(path) => super::rules::load(path),
        }
    }

    /// Where the advisory database is.
    pub(super) fn db_location(&self) -> PathBuf {
        self.db.location()
    }

    /// Opens the advisory database and runs the pipeline on `path`.
    pub(super) fn scan(&self, path: &std::path::Path, config: &ScanConfig) -> anyhow::Result<ScanOutput> {
        let db = AdvisoryDatabase::open(&self.db.location())?;
        scan_one(path, &db, &self.rule_set()?, config)
    }
}

/// Runs the pipeline on `path`, showing progress on a terminal.
fn scan_one(
    path: &std::path::Path,
    db: &AdvisoryDatabase,
    rules: &RuleSet,
    config: &ScanConfig,
) -> anyhow::Result<ScanOutput> {
    let mut progress = TerminalProgress { enabled: std::io::stderr().is_terminal() };
    pipeline::scan(path, db, rules, config, &mut progress).with_context(|| format!("cannot scan {}", path.display()))
}

/// `SOURCE_DATE_EPOCH` (seconds since the epoch), as reproducible-build tools set it.
fn source_date_epoch() -> anyhow::Result<Option<jiff::Timestamp>> {
    let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH") else {
        return Ok(None);
    };
    let text = value.to_string_lossy();
    let seconds: i64 =
        text.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={text} is not a whole number of seconds"))?;
    let timestamp =
        jiff::Timestamp::from_second(seconds).with_context(|| format!("SOURCE_DATE_EPOCH={text} is out of range"))?;
    Ok(Some(timestamp))
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
    let mut config = args.pipeline.config(args.load.setup())?;
    config.signer = args.signing.signer()?;
    config.resource_uri.clone_from(&args.signing.listing);
    let db = AdvisoryDatabase::open(&args.pipeline.db_location())?;
    let rules = args.pipeline.rule_set()?;
    let store = args.lineage.store.as_deref().map(super::diff::open_store).transpose()?;
    let several = args.paths.len() > 1;
    let mut worst = Verdict::Accepted;
    for path in &args.paths {
        config.lineage = args.lineage.basis(path, store.as_ref(), &args.pipeline, &config)?;
        let clock = std::time::Instant::now();
        let output = scan_one(path, &db, &rules, &config)?;
        let report = &output.report;
        let folder = pipeline::report_folder(report);
        let out = match &args.out {
            Some(out) if several => out.join(folder),
            Some(out) => out.clone(),
            None => PathBuf::from("assay-out").join(folder),
        };
        pipeline::write_report(&output, &out)?;
        if args.timings {
            eprintln!(
                "timing: {} {:.3} ms",
                assay_report::untrusted::escape(&path.display().to_string()),
                clock.elapsed().as_secs_f64() * 1000.0
            );
        }
        match args.format {
            Format::Json => {
                let json = serde_json::to_string_pretty(report).context("cannot serialise the report")?;
                println!("{json}");
            }
            Format::Human => eprint!("{}", render::scan_summary(report, &out)),
        }
        worst = worst.max(report.verdict);
    }
    if args.timings
        && let Some(kib) = assay_load_runner::proc_status::memory_kib("self", "VmHWM")
    {
        eprintln!("memory: peak RSS {kib} KiB (assay itself; the sandboxed build and service are other processes)");
    }
    if config.signer.is_none() {
        eprintln!("note: the report is unsigned (no report.dsse.json); sign with --key FILE or ASSAY_SIGNING_KEY");
    }
    Ok(Outcome::Verdict(worst))
}

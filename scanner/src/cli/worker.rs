//! `assay worker`: the distributed mode — consume submissions from RabbitMQ, publish signed reports.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use assay_report::quantity::TimeSpan;
use assay_scanner::pipeline::Signer;
use assay_scanner::stages::audit::AdvisoryDatabase;
use assay_scanner::worker::{self, FetchPolicy, Metrics, Topology, WorkerConfig};
use clap::{Args, ValueEnum};

use super::Outcome;
use super::load::LoadArgs;
use super::scan::PipelineArgs;

/// The broker every command talks to unless told otherwise.
pub(super) const DEFAULT_AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

#[derive(Args)]
pub(super) struct WorkerArgs {
    /// AMQP URL of the broker.
    #[arg(long, value_name = "URL", env = "ASSAY_AMQP_URL", hide_env_values = true, default_value = DEFAULT_AMQP)]
    amqp: String,
    /// Ed25519 signing key (required: the worker's reports gate approval).
    #[arg(long, value_name = "FILE", env = "ASSAY_SIGNING_KEY", hide_env_values = true)]
    key: Option<PathBuf>,
    /// The VSA's verifier.id.
    #[arg(long, value_name = "URI", env = "ASSAY_VERIFIER_ID", hide_env_values = true, default_value = assay_report::intoto::DEFAULT_VERIFIER_ID)]
    verifier_id: String,
    /// Report store: a directory (reports in STORE/<name>/<version>/<submission id>/), or a postgres:// URL
    /// shared by workers on many machines.
    #[arg(long, value_name = "DIR|URL", default_value = "assay-store")]
    store: String,
    /// Scans in parallel.
    #[arg(long, value_name = "N", default_value_t = 2)]
    concurrency: usize,
    /// Unacknowledged submissions the broker may push ahead [default: 2 × concurrency].
    #[arg(long, value_name = "N")]
    prefetch: Option<u16>,
    /// Prefix of queue and exchange names (<prefix>.submissions, <prefix>.reports, …).
    #[arg(long, value_name = "NAME", default_value = "assay")]
    prefix: String,
    /// Deliveries before the broker dead-letters a submission.
    #[arg(long, value_name = "N", default_value_t = 5)]
    delivery_limit: u32,
    /// Upper bound on one submission (fetch and scan); past it the scan is stopped (its processes killed) and
    /// judged `scan-timeout` [default: the sum of the bounds it is made of — --fetch-timeout, every dependency
    /// download (3 attempts), the build's --build-timeout, and 10 min for the load run]
    #[arg(long, value_name = "TIME")]
    scan_timeout: Option<TimeSpan>,
    /// How long SIGTERM/SIGINT waits for in-flight scans.
    #[arg(long, value_name = "TIME", default_value = "60s")]
    shutdown_timeout: TimeSpan,
    /// Timeout of an http(s) archive download.
    #[arg(long, value_name = "TIME", default_value = "60s")]
    fetch_timeout: TimeSpan,
    /// file:// archives are fetched only when they are regular files below this directory (links are not
    /// followed out of it); without it, file:// URIs are refused.
    #[arg(long, value_name = "DIR", env = "ASSAY_ARCHIVE_ROOT", hide_env_values = true)]
    archive_root: Option<PathBuf>,
    /// Let http(s) archives come from loopback, private, link-local and multicast addresses (tests, a
    /// private mirror); by default only public addresses are fetched from.
    #[arg(long)]
    allow_private_fetch: bool,
    /// How often to read the advisory database again (after a cron'd `assay db fetch`): a new one starts a
    /// re-judgement round of every stored verdict on <prefix>.rejudge; `0s` never looks.
    #[arg(long, value_name = "TIME", default_value = "5m")]
    db_check_interval: TimeSpan,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Log lines as human text or JSON (every line carries the submission id).
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

/// Logs go to stderr; `RUST_LOG` filters them (default `info`).
pub(super) fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    use std::io::IsTerminal;
    // Colour only on a terminal: log files and collectors get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

pub(super) fn run(args: WorkerArgs) -> anyhow::Result<Outcome> {
    init_logging(matches!(args.log_format, LogFormat::Json));
    let Some(key_path) = &args.key else {
        anyhow::bail!("the worker needs a signing key: --key FILE or ASSAY_SIGNING_KEY (make one with `assay keygen`)");
    };
    let key = assay_report::keys::read_signing_key(key_path)?;
    let mut scan = args.pipeline.config(args.load.setup())?;
    // Every submission with a service would fail and be retried; better to refuse to start, saying why.
    if let assay_scanner::stages::load::LoadSetup::Unavailable(why) = &scan.load {
        anyhow::bail!("the worker cannot load-test services: {why}");
    }
    scan.signer = Some(Signer { key, verifier_id: args.verifier_id.clone() });
    let scan_timeout = args.scan_timeout.map_or_else(|| derived_scan_timeout(&args, &scan), |timeout| timeout.0);
    // A worker's scans must finish inside the scan timeout, dependency downloads included.
    let downloads = &mut scan.dependencies.limits;
    downloads.timeout = downloads.timeout.min(scan_timeout / 4);
    let db = AdvisoryDatabase::open(&args.pipeline.db_location())?;
    let rules = args.pipeline.rule_set()?;
    // Canonical, so a file's resolved path can be compared with it.
    let archive_root = match &args.archive_root {
        Some(root) => Some(
            std::fs::canonicalize(root)
                .with_context(|| format!("--archive-root {} is not a directory", root.display()))?,
        ),
        None => None,
    };
    let config = WorkerConfig {
        amqp: args.amqp.clone(),
        topology: Topology::new(&args.prefix, args.delivery_limit),
        store: args.store.clone(),
        db_location: args.pipeline.db_location(),
        db_check_interval: Some(args.db_check_interval.0).filter(|interval| !interval.is_zero()),
        concurrency: args.concurrency.max(1),
        prefetch: args.prefetch.unwrap_or_else(|| u16::try_from(args.concurrency.max(1) * 2).unwrap_or(u16::MAX)),
        scan_timeout,
        shutdown_timeout: args.shutdown_timeout.0,
        fetch: FetchPolicy {
            max_bytes: scan.limits.max_archive_bytes,
            timeout: args.fetch_timeout.0,
            archive_root,
            allow_private: args.allow_private_fetch,
        },
        scan,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let metrics = Arc::new(Metrics::default());
        if let Some(addr) = args.metrics {
            let listener =
                tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
            tokio::spawn(worker::metrics::serve(listener, Arc::clone(&metrics)));
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            let _ = stop_tx.send(true);
        });
        worker::run(config, db, rules, metrics, stop_rx).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Outcome::Done)
}

async fn wait_for_signal() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// The scan timeout when none is given: every bound a legitimate scan may use, end to end, so a slow but
/// honest build still gets its verdict instead of a timeout.
fn derived_scan_timeout(args: &WorkerArgs, scan: &assay_scanner::pipeline::ScanConfig) -> std::time::Duration {
    /// The load run: startup (up to twice its budget), ramp-up, the measured window and teardown.
    const LOAD_RUN: std::time::Duration = std::time::Duration::from_secs(600);
    let downloads = scan.dependencies.limits.timeout * scan.dependencies.limits.attempts;
    let build = match &scan.load {
        assay_scanner::stages::load::LoadSetup::Ready(environment) => environment.settings.build.wall_clock + LOAD_RUN,
        _ => std::time::Duration::ZERO,
    };
    args.fetch_timeout.0 + downloads + build
}

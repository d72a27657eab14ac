//! The RabbitMQ worker: consumes submissions, scans them, stores and publishes signed reports, and acks
//! only after both. At-least-once delivery plus an idempotent store give one verdict per submission.

mod address;
mod disposition;
mod fetch;
pub mod message;
pub mod metrics;
mod process;
pub mod publish;
pub mod rejudging;
pub mod topology;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use assay_rules::RuleSet;
use futures_lite::StreamExt;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

pub use fetch::{FetchError, FetchPolicy, Fetched, fetch};
pub use metrics::Metrics;
pub use topology::Topology;

use crate::pipeline::ScanConfig;
use crate::stages::audit::AdvisoryDatabase;
use crate::store::Store;

/// How a worker runs.
pub struct WorkerConfig {
    /// AMQP URL.
    pub amqp: String,
    /// Queue and exchange names.
    pub topology: Topology,
    /// Report store: a directory, or a `postgres://` URL shared by many workers.
    pub store: String,
    /// Where the advisory database is read from again, to notice a new one.
    pub db_location: PathBuf,
    /// How often to look for a new advisory database (`None`: never).
    pub db_check_interval: Option<Duration>,
    /// Scans in parallel.
    pub concurrency: usize,
    /// Unacknowledged deliveries the broker may push ahead.
    pub prefetch: u16,
    /// Upper bound on one submission (fetch + scan); well under the broker's consumer timeout.
    pub scan_timeout: Duration,
    /// How long shutdown waits for in-flight scans.
    pub shutdown_timeout: Duration,
    /// Fetch bounds.
    pub fetch: FetchPolicy,
    /// The scan configuration (its signer is required).
    pub scan: ScanConfig,
}

/// The worker could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// No signing key: a worker's reports gate approvals, so they must be signed.
    #[error("the worker needs a signing key (--key FILE or ASSAY_SIGNING_KEY): its reports gate approval")]
    NoKey,
    /// The store is not usable.
    #[error("cannot use the report store {location}: {source}")]
    Store {
        /// Where it is.
        location: String,
        /// The cause.
        source: crate::store::StoreError,
    },
}

/// What every in-flight submission shares.
struct Shared {
    config: WorkerConfig,
    /// Replaced when a newer database appears; a scan keeps the one it started with.
    db: RwLock<Arc<AdvisoryDatabase>>,
    rules: RuleSet,
    store: Store,
    metrics: Arc<Metrics>,
}

impl Shared {
    /// The advisory database scans and re-judgements use now.
    fn db(&self) -> Arc<AdvisoryDatabase> {
        Arc::clone(&self.db.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Opens the database again; `true` when it is another one than before (then it is the one used from now).
    fn reload_db(&self) -> Result<bool, crate::stages::audit::DatabaseError> {
        let fresh = AdvisoryDatabase::open(&self.config.db_location)?;
        if fresh.identity.label() == self.db().identity.label() {
            return Ok(false);
        }
        info!(advisory_db = %fresh.identity.label(), "a new advisory database");
        *self.db.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
        Ok(true)
    }
}

/// Runs until `stop` turns true (SIGTERM/SIGINT), reconnecting with backoff whenever the broker goes away.
/// On stop: stops consuming, lets in-flight scans finish and ack (up to the shutdown timeout), returns.
pub async fn run(
    config: WorkerConfig,
    db: AdvisoryDatabase,
    rules: RuleSet,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), WorkerError> {
    if config.scan.signer.is_none() {
        return Err(WorkerError::NoKey);
    }
    let store = Store::open(&config.store)
        .await
        .map_err(|source| WorkerError::Store { location: config.store.clone(), source })?;
    // Scratch left by a worker killed mid-scan (its process gone) would otherwise fill the disk.
    let scratch_parent = config.scan.scratch_parent.clone().unwrap_or_else(std::env::temp_dir);
    let swept = crate::scratch::sweep(&scratch_parent);
    if !swept.is_empty() {
        info!(removed = swept.len(), parent = %scratch_parent.display(), "swept stale scratch directories");
    }
    let shared = Arc::new(Shared { config, db: RwLock::new(Arc::new(db)), rules, store, metrics });
    let permits = Arc::new(Semaphore::new(shared.config.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut backoff = Duration::from_millis(250);
    let mut connected_before = false;
    // Never fires without --db-check-interval.
    let mut db_check =
        tokio::time::interval(shared.config.db_check_interval.unwrap_or(Duration::from_secs(86_400 * 365)));
    db_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    db_check.reset();

    'connection: while !*stop.borrow() {
        let session = match connect(&shared).await {
            Ok(session) => session,
            Err(err) => {
                warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "cannot reach the broker");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        backoff = Duration::from_millis(250);
        if connected_before {
            shared.metrics.reconnects();
        }
        connected_before = true;
        info!(queue = %shared.config.topology.submissions, "consuming");
        let Session { connection, publisher, consume_channel, mut consumer, mut rejudge_consumer, tag } = session;
        if let Err(err) = rejudging::start_round(&shared, &publisher).await {
            warn!(error = %err, "cannot start the re-judgement round; trying again at the next database check");
        }
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = consume_channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()).await;
                    let rejudge_tag = format!("{tag}-rejudge");
                    let _ = consume_channel.basic_cancel(rejudge_tag.as_str().into(), BasicCancelOptions::default()).await;
                    drain(&mut tasks, shared.config.shutdown_timeout).await;
                    let _ = connection.close(200, "worker stopping".into()).await;
                    info!("stopped");
                    return Ok(());
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break 'connection };
                        let shared = Arc::clone(&shared);
                        let publisher = publisher.clone();
                        tasks.spawn(async move {
                            process::handle(delivery, &shared, &publisher).await;
                            drop(permit);
                        });
                    }
                    Some(Err(err)) => {
                        warn!(error = %err, "lost the broker; reconnecting");
                        break;
                    }
                    None => {
                        warn!("the consumer was cancelled by the broker; reconnecting");
                        break;
                    }
                },
                next = rejudge_consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break 'connection };
                        let shared = Arc::clone(&shared);
                        let publisher = publisher.clone();
                        tasks.spawn(async move {
                            rejudging::handle(delivery, &shared, &publisher).await;
                            drop(permit);
                        });
                    }
                    Some(Err(err)) => {
                        warn!(error = %err, "lost the broker; reconnecting");
                        break;
                    }
                    None => {
                        warn!("the re-judgement consumer was cancelled by the broker; reconnecting");
                        break;
                    }
                },
                _ = db_check.tick() => {
                    let reloading = Arc::clone(&shared);
                    match tokio::task::spawn_blocking(move || reloading.reload_db()).await {
                        Ok(Ok(true)) => {
                            if let Err(err) = rejudging::start_round(&shared, &publisher).await {
                                warn!(error = %err, "cannot start the re-judgement round; trying again at the next check");
                            }
                        }
                        Ok(Ok(false)) => {}
                        Ok(Err(err)) => warn!(error = %err, "cannot read the advisory database again; keeping the one in use"),
                        Err(err) => warn!(error = %err, "the advisory database check failed"),
                    }
                }
            }
        }
    }
    drain(&mut tasks, shared.config.shutdown_timeout).await;
    Ok(())
}

struct Session {
    connection: Connection,
    publisher: lapin::Channel,
    consume_channel: lapin::Channel,
    consumer: lapin::Consumer,
    rejudge_consumer: lapin::Consumer,
    tag: String,
}

async fn connect(shared: &Shared) -> lapin::Result<Session> {
    let connection = Connection::connect(&shared.config.amqp, ConnectionProperties::default()).await?;
    let setup = connection.create_channel().await?;
    shared.config.topology.declare(&setup).await?;
    let publisher = connection.create_channel().await?;
    publisher.confirm_select(ConfirmSelectOptions::default()).await?;
    let consume_channel = connection.create_channel().await?;
    consume_channel.basic_qos(shared.config.prefetch.max(1), BasicQosOptions::default()).await?;
    let tag = format!(
        "assay-worker-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, jiff::Timestamp::now().to_string().as_bytes())
    );
    let consumer = consume_channel
        .basic_consume(
            shared.config.topology.submissions.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let rejudge_consumer = consume_channel
        .basic_consume(
            shared.config.topology.rejudge.as_str().into(),
            format!("{tag}-rejudge").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(Session { connection, publisher, consume_channel, consumer, rejudge_consumer, tag })
}

/// Waits for in-flight submissions to finish (they ack themselves).
async fn drain(tasks: &mut JoinSet<()>, timeout: Duration) {
    info!(in_flight = tasks.len(), "stopping: finishing in-flight scans");
    let finished = tokio::time::timeout(timeout, async { while tasks.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        warn!(abandoned = tasks.len(), "shutdown timeout: unfinished submissions will be redelivered");
        tasks.abort_all();
    }
}

//! The real RabbitMQ broker on 127.0.0.1:5672 for worker tests: unique names per test, workers as child
//! processes, and polling with deadlines (never sleeps standing in for synchronisation).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Whether a broker answers; without one, a test skips (CI always starts one).
pub fn available() -> bool {
    let up = std::net::TcpStream::connect_timeout(&"127.0.0.1:5672".parse().unwrap(), Duration::from_secs(1)).is_ok();
    if !up {
        assert!(std::env::var_os("CI").is_none(), "CI must start RabbitMQ (.ci/run)");
        eprintln!("skipped: no RabbitMQ on 127.0.0.1:5672");
    }
    up
}

/// Worker tests share one broker (and one restarts it): they run one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A test's own topology prefix; its queues and exchanges are deleted when it drops, so a failing test
/// leaves nothing behind on the broker either.
pub struct Prefix(String);

impl std::ops::Deref for Prefix {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        cleanup(&self.0);
    }
}

/// A unique topology prefix, cleaned up on drop.
pub fn prefix(test: &str) -> Prefix {
    Prefix(format!("assay-test-{test}-{}", uuid::Uuid::new_v4().simple()))
}

/// Deletes every queue and exchange of `prefix`.
fn cleanup(prefix: &str) {
    runtime().block_on(async {
        let Ok(connection) = Connection::connect(AMQP, ConnectionProperties::default()).await else { return };
        let Ok(channel) = connection.create_channel().await else { return };
        for queue in ["submissions", "submissions.dlq", "rejudge", "rejudge.dlq", "reports.all"] {
            let _ =
                channel.queue_delete(format!("{prefix}.{queue}").as_str().into(), QueueDeleteOptions::default()).await;
        }
        for exchange in ["dlx", "reports"] {
            let _ = channel
                .exchange_delete(format!("{prefix}.{exchange}").as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
        let _ = connection.close(200, "cleanup".into()).await;
    });
}

/// Publishes raw bodies to `<prefix>.submissions` with confirms (declaring the topology first via
/// `assay submit`'s declarations is not needed: the worker declares it; tests start a worker first).
pub fn publish(prefix: &str, bodies: &[Vec<u8>]) {
    runtime().block_on(async {
        let connection = Connection::connect(AMQP, ConnectionProperties::default()).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
        let mut confirms = Vec::new();
        for body in bodies {
            confirms.push(
                channel
                    .basic_publish(
                        "".into(),
                        format!("{prefix}.submissions").as_str().into(),
                        BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                        body,
                        BasicProperties::default().with_delivery_mode(2),
                    )
                    .await
                    .unwrap(),
            );
        }
        for confirm in confirms {
            assert!(confirm.await.unwrap().is_ack());
        }
        let _ = connection.close(200, "published".into()).await;
    });
}

/// A v1 submission message of `archive`, claiming `name`, `version` and `publisher`.
pub fn submission(id: &str, archive: &Path, name: &str, version: &str, publisher: &str) -> Vec<u8> {
    let bytes = std::fs::read(archive).unwrap();
    serde_json::to_vec(&serde_json::json!({
        "schema": "assay.submission/v1",
        "submission_id": id,
        "asset": { "name": name, "version": version, "publisher": publisher },
        "archive": {
            "uri": format!("file://{}", archive.display()),
            "sha256": assay_report::digest::sha256_hex(&bytes),
            "size": bytes.len()
        },
        "listing": format!("https://marketplace.example/listings/{name}"),
    }))
    .unwrap()
}

/// A message taken from a queue.
pub struct Taken {
    pub body: Vec<u8>,
    pub headers: Option<FieldTable>,
    pub routing_key: String,
    pub message_id: Option<String>,
}

/// Takes every message now in `queue` (basic.get until empty).
pub fn drain(queue: &str) -> Vec<Taken> {
    runtime().block_on(async {
        let connection = Connection::connect(AMQP, ConnectionProperties::default()).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        let mut taken = Vec::new();
        while let Some(message) = channel.basic_get(queue.into(), BasicGetOptions::default()).await.unwrap() {
            message.ack(BasicAckOptions::default()).await.unwrap();
            taken.push(Taken {
                body: message.data.clone(),
                headers: message.properties.headers().clone(),
                routing_key: message.routing_key.to_string(),
                message_id: message.properties.message_id().as_ref().map(ToString::to_string),
            });
        }
        let _ = connection.close(200, "drained".into()).await;
        taken
    })
}

/// Drains `queue` until it has given `count` messages (and whatever came with them), or fails at `timeout`.
pub fn drain_until(queue: &str, count: usize, timeout: Duration) -> Vec<Taken> {
    let deadline = Instant::now() + timeout;
    let mut taken = Vec::new();
    loop {
        taken.extend(drain(queue));
        if taken.len() >= count {
            return taken;
        }
        assert!(Instant::now() < deadline, "only {} of {count} messages arrived on {queue}", taken.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How to start a worker: its store (a directory or a postgres:// URL), the directory holding its archives
/// (its archive root), its own directory (its cache and scratch go there), its advisory database and key.
pub struct WorkerSetup<'a> {
    pub prefix: &'a str,
    pub store: &'a str,
    pub archive_root: &'a Path,
    pub home: &'a Path,
    pub db: &'a Path,
    pub key: &'a Path,
    pub log: PathBuf,
    pub extra: &'a [&'a str],
}

/// A worker child process, killed on drop.
pub struct Worker {
    pub child: Child,
    pub log: PathBuf,
}

impl Worker {
    pub fn start(prefix: &str, store: &Path, key: &Path, log: PathBuf, extra: &[&str]) -> Self {
        let store_location = store.display().to_string();
        // The test's own directory holds the archives its messages name; cache and scratch go beside the store.
        Self::start_in(
            &WorkerSetup {
                prefix,
                store: &store_location,
                archive_root: store.parent().unwrap(),
                home: store.parent().unwrap(),
                db: &super::synthetic_db(),
                key,
                log,
                extra,
            },
            store,
        )
    }

    /// A worker as `setup` says, its cache and scratch in `home` (`worker.cache/`, `worker.tmp/`).
    pub fn start_at(setup: &WorkerSetup<'_>) -> Self {
        Self::start_in(setup, &setup.home.join("worker"))
    }

    /// A worker as `setup` says that load-tests services (needs bubblewrap).
    pub fn start_loading(setup: &WorkerSetup<'_>) -> Self {
        Self::start_with(setup, &setup.home.join("worker"), "false")
    }

    fn start_in(setup: &WorkerSetup<'_>, beside: &Path) -> Self {
        Self::start_with(setup, beside, "true")
    }

    fn start_with(setup: &WorkerSetup<'_>, beside: &Path, no_load: &str) -> Self {
        let stderr = std::fs::File::create(&setup.log).unwrap();
        let scratch = Self::scratch_parent(beside);
        std::fs::create_dir_all(&scratch).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_assay"))
            .args(["worker", "--amqp", AMQP, "--prefix", setup.prefix, "--advisory-db"])
            .arg(setup.db)
            .args(["--store", setup.store, "--key"])
            .arg(setup.key)
            .args(["--offline", "--delivery-limit", "5"])
            .arg("--archive-root")
            .arg(setup.archive_root)
            .args(setup.extra)
            .env("ASSAY_CACHE_DIR", beside.with_extension("cache"))
            .env("ASSAY_NO_LOAD", no_load)
            // Fetches and scans get their scratch directories here, where a test can see what is left.
            .env("TMPDIR", &scratch)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let worker = Self { child, log: setup.log.clone() };
        worker.wait_for_log("consuming", Duration::from_secs(30));
        worker
    }

    /// Where a worker started for `store` makes its scratch directories.
    pub fn scratch_parent(store: &Path) -> PathBuf {
        store.with_extension("tmp")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls the log until it contains `words`.
    pub fn wait_for_log(&self, words: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log_text().contains(words) {
            assert!(Instant::now() < deadline, "worker log never said `{words}`:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "worker did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Report directories in a store: `<name>/<version>/<submission id>` with a report.json.
pub fn stored_reports(store: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(names) = std::fs::read_dir(store) else { return found };
    for name in names.flatten() {
        for version in std::fs::read_dir(name.path()).into_iter().flatten().flatten() {
            for id in std::fs::read_dir(version.path()).into_iter().flatten().flatten() {
                // `.staging-*`: a report being written (or left by a killed worker), never a stored one.
                let staging = id.file_name().to_string_lossy().starts_with('.');
                if !staging && id.path().join("report.json").is_file() {
                    found.push(id.path());
                }
            }
        }
    }
    found.sort();
    found
}

/// Polls until the store holds `count` reports.
pub fn wait_for_reports(store: &Path, count: usize, timeout: Duration) -> Vec<PathBuf> {
    let deadline = Instant::now() + timeout;
    loop {
        let reports = stored_reports(store);
        if reports.len() >= count {
            return reports;
        }
        assert!(Instant::now() < deadline, "only {} of {count} reports stored", reports.len());
        std::thread::sleep(Duration::from_millis(25));
    }
}

//! The real PostgreSQL on 127.0.0.1:5432 for store tests: each test gets a database of its own, dropped
//! when the test ends (pass or fail).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The server tests create their databases on (trust authentication, as on the project's machines and CI).
const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// Whether PostgreSQL answers; without one, a test skips (CI always starts one).
pub fn available() -> bool {
    let up = std::net::TcpStream::connect_timeout(&"127.0.0.1:5432".parse().unwrap(), Duration::from_secs(1)).is_ok();
    if !up {
        assert!(std::env::var_os("CI").is_none(), "CI must start PostgreSQL (.ci/run)");
        eprintln!("skipped: no PostgreSQL on 127.0.0.1:5432");
    }
    up
}

/// A database of the test's own.
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    /// Creates `assay_<test>_<pid>_<n>`.
    pub fn create(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("assay_{test}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        admin(&format!("CREATE DATABASE {name}"));
        Self { name }
    }

    /// Its URL, as `--store` takes it.
    pub fn url(&self) -> String {
        format!("{SERVER}/{}", self.name)
    }

    /// Runs SQL statements in it.
    pub fn execute(&self, sql: &str) {
        run(&self.url(), sql);
    }

    /// The rows of a query, each column as text.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let url = self.url();
        super::broker::runtime().block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let messages = client.simple_query(sql).await.unwrap();
            messages
                .into_iter()
                .filter_map(|message| match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .collect()
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn admin(sql: &str) {
    run(&format!("{SERVER}/postgres"), sql);
}

fn run(url: &str, sql: &str) {
    super::broker::runtime().block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    });
}

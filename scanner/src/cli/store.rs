//! `assay store`: read what a report store holds (a directory or PostgreSQL): a submission's current report
//! files, its verdict history (and whether the history's hash chain holds), and the judged submissions.

use std::path::PathBuf;

use anyhow::Context;
use assay_report::Verdict;
use assay_scanner::pipeline::{ReportFiles, write_files};
use assay_scanner::store::{self, Store};
use clap::{Args, Subcommand};

use super::{Format, Outcome};

#[derive(Subcommand)]
pub(super) enum StoreCommand {
    /// Write a submission's current report files (report.json, report.dsse.json, …) into DIR.
    Get {
        /// The submission id.
        id: String,
        #[command(flatten)]
        store: StoreArg,
        /// Directory to write the files to (created if needed).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// A submission's verdict events, oldest first: revision, verdict, previous verdict, reason, time.
    History {
        /// The submission id.
        id: String,
        #[command(flatten)]
        store: StoreArg,
        /// Check the events' hash chain: exit 1 naming the first event that was edited, removed or reordered.
        #[arg(long)]
        check: bool,
        /// `human` prints a table; `json` a list of events.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Every judged submission with its current verdict, by id.
    List {
        #[command(flatten)]
        store: StoreArg,
        /// Only submissions with this verdict (accepted, needs-review, rejected).
        #[arg(long, value_parser = parse_verdict)]
        verdict: Option<Verdict>,
        /// `human` prints a table; `json` a list.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
}

/// Where the report store is.
#[derive(Args, Clone)]
pub(super) struct StoreArg {
    /// The report store: a directory, or a postgres:// URL.
    #[arg(long = "store", value_name = "DIR|URL", env = "ASSAY_STORE")]
    pub(super) location: String,
}

impl StoreArg {
    /// Opens the store.
    pub(super) async fn open(&self) -> anyhow::Result<Store> {
        Store::open(&self.location).await.with_context(|| format!("cannot open the report store {}", self.location))
    }
}

/// A verdict as `accepted`, `needs-review` or `rejected`.
pub(super) fn parse_verdict(text: &str) -> Result<Verdict, String> {
    Verdict::parse(text).ok_or_else(|| format!("{text:?} is not a verdict: accepted, needs-review or rejected"))
}

pub(super) fn run(command: StoreCommand) -> anyhow::Result<Outcome> {
    super::block_on(async move {
        match command {
            StoreCommand::Get { id, store, out } => get(&store.open().await?, &id, &out).await,
            StoreCommand::History { id, store, check, format } => {
                history(&store.open().await?, &id, check, format).await
            }
            StoreCommand::List { store, verdict, format } => list(&store.open().await?, verdict, format).await,
        }
    })
}

async fn get(store: &Store, id: &str, out: &std::path::Path) -> anyhow::Result<Outcome> {
    let stored = store.current(id).await?.with_context(|| format!("the store has no report of submission {id}"))?;
    let files: ReportFiles = stored.files;
    write_files(&files, out).with_context(|| format!("cannot write the report files to {}", out.display()))?;
    eprintln!(
        "{} {} (submission {id}, revision {}): {} written to {}",
        stored.name,
        stored.version,
        stored.revision,
        stored.report.verdict.headline(),
        out.display()
    );
    Ok(Outcome::Done)
}

async fn history(store: &Store, id: &str, check: bool, format: Format) -> anyhow::Result<Outcome> {
    let events = store.history(id).await?;
    if events.is_empty() {
        anyhow::bail!("the store has no verdict events of submission {id}");
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&events)?),
        Format::Human => {
            println!("{:<9} {:<13} {:<13} {:<24} reason", "revision", "verdict", "previous", "at");
            for event in &events {
                let previous = event.previous_verdict.map_or("-", Verdict::as_str);
                println!(
                    "{:<9} {:<13} {:<13} {:<24} {}",
                    event.revision, event.verdict, previous, event.at, event.reason
                );
            }
        }
    }
    if !check {
        return Ok(Outcome::Done);
    }
    match store::events::check(&events) {
        Ok(()) => {
            eprintln!("history of {id}: {} events, hash chain intact", events.len());
            Ok(Outcome::Done)
        }
        Err(broken) => {
            eprintln!("history of {id} does not check: {broken}");
            Ok(Outcome::Problem)
        }
    }
}

async fn list(store: &Store, verdict: Option<Verdict>, format: Format) -> anyhow::Result<Outcome> {
    let listed: Vec<_> =
        store.list().await?.into_iter().filter(|l| verdict.is_none_or(|verdict| l.verdict == verdict)).collect();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&listed)?),
        Format::Human => {
            println!("{:<38} {:<32} {:<13} {:<9} at", "submission", "asset", "verdict", "revision");
            for l in &listed {
                let asset = format!("{} {}", l.name, l.version);
                println!("{:<38} {:<32} {:<13} {:<9} {}", l.submission_id, asset, l.verdict, l.revision, l.at);
            }
        }
    }
    Ok(Outcome::Done)
}

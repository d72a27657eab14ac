//! Command-line parsing and dispatch; exit codes are the contract of ARCHITECTURE.md.

mod audit;
mod changes;
mod db;
mod diagnostics;
mod diff;
mod keygen;
mod load;
mod rejudge;
mod render;
mod rules;
mod rules_test;
mod sbom;
mod scan;
mod serve;
mod store;
mod submit;
mod verify;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use assay_report::Verdict;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit code when the command could not run (usage, configuration, I/O).
const EXIT_COULD_NOT_RUN: u8 = 2;
/// Exit code of `verify` when the report cannot be trusted (as opposed to 1: trusted, but FAILED).
const EXIT_UNTRUSTED: u8 = 4;

#[derive(Parser)]
#[command(
    name = "assay",
    version,
    about = "Acceptance gate for marketplace Rust assets: audit, inspect and judge a packaged crate",
    after_help = "Exit codes: 0 accepted, 1 rejected, 3 needs review, 2 could not run (verify: 0 passed, 1 failed, 4 untrusted)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan an asset (.crate, .tar.gz or directory) and write its acceptance report.
    Scan(scan::ScanArgs),
    /// Write the CycloneDX 1.5 SBOM of an asset, with its vulnerabilities.
    Sbom(sbom::SbomArgs),
    /// Audit a Cargo.lock (or a directory holding one) against the RustSec advisory database.
    Audit(audit::AuditArgs),
    /// Consume submissions from RabbitMQ; store and publish signed reports.
    Worker(worker::WorkerArgs),
    /// Publish a submission of a local asset to RabbitMQ (optionally wait for its verdict).
    Submit(submit::SubmitArgs),
    /// Verify a signed report (report.dsse.json) against trusted keys before approving a listing.
    Verify(verify::VerifyArgs),
    /// Generate an Ed25519 key pair for signing reports.
    Keygen(keygen::KeygenArgs),
    /// Check rule-set files and explain finding codes.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Manage the advisory database.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Read the report store: a submission's report files, its verdict history, the judged submissions.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Show what changed between two releases of an asset: contract, dependencies, performance, metadata.
    Diff(diff::DiffArgs),
    /// Serve a read-only web console over a report store: submissions, report pages, verdict history.
    Serve(serve::ServeArgs),
    /// Judge stored verdicts again (a newer advisory database or rule set); record, sign and publish changes.
    Rejudge(rejudge::RejudgeArgs),
}

/// Where the advisory database is and how old it may be.
#[derive(Args, Clone)]
struct DbArgs {
    /// Advisory database directory [default: $ASSAY_ADVISORY_DB, else advisory-db/ in the cache dir ($ASSAY_CACHE_DIR or ~/.cache/assay)].
    #[arg(long, value_name = "DIR")]
    advisory_db: Option<PathBuf>,
    /// Days after which the database counts as stale (a `db-stale` finding).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    max_db_age: u32,
}

impl DbArgs {
    fn location(&self) -> PathBuf {
        self.advisory_db.clone().unwrap_or_else(assay_scanner::stages::audit::default_location)
    }
}

/// Output format of `scan` and `audit`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A short summary on stderr.
    Human,
    /// JSON on stdout.
    Json,
}

/// What a command concluded.
enum Outcome {
    /// A verdict, mapped to 0, 1 or 3.
    Verdict(Verdict),
    /// A plain success.
    Done,
    /// The command ran and found a problem (exit 1), e.g. a stale database or a FAILED verification.
    Problem,
    /// A signed report cannot be trusted (exit 4).
    Untrusted,
}

/// Parses the command line, runs the command and maps the outcome to the exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Sbom(args) => sbom::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Submit(args) => submit::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Rules(command) => rules::run(command),
        Command::Db(command) => db::run(command),
        Command::Store(command) => store::run(command),
        Command::Rejudge(args) => rejudge::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Serve(args) => serve::run(args),
    };
    if let Err(err) = &result {
        match err.downcast_ref::<diagnostics::InvalidRuleSet>() {
            Some(invalid) => eprintln!("error: {}", invalid.shown()),
            // Error chains quote paths, names and messages a submission may control.
            None => eprintln!("error: {}", assay_report::untrusted::escape(&format!("{err:#}"))),
        }
    }
    ExitCode::from(exit_code(&result))
}

/// Runs `future` to completion on a single-threaded runtime (the store and broker clients are async).
fn block_on<T>(future: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    use anyhow::Context;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(future)
}

/// The exit-code contract: 0 accepted, 1 rejected (or a problem found), 3 needs review, 2 could not run.
fn exit_code(result: &anyhow::Result<Outcome>) -> u8 {
    match result {
        Ok(Outcome::Done | Outcome::Verdict(Verdict::Accepted)) => 0,
        Ok(Outcome::Verdict(Verdict::Rejected) | Outcome::Problem) => 1,
        Ok(Outcome::Verdict(Verdict::NeedsReview)) => 3,
        Ok(Outcome::Untrusted) => EXIT_UNTRUSTED,
        Err(_) => EXIT_COULD_NOT_RUN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(exit_code(&Ok(Outcome::Verdict(Verdict::Accepted))), 0);
        assert_eq!(exit_code(&Ok(Outcome::Verdict(Verdict::Rejected))), 1);
        assert_eq!(exit_code(&Ok(Outcome::Verdict(Verdict::NeedsReview))), 3);
        assert_eq!(exit_code(&Ok(Outcome::Problem)), 1);
        assert_eq!(exit_code(&Err(anyhow::anyhow!("broken"))), 2);
        assert_eq!(exit_code(&Ok(Outcome::Untrusted)), 4);
    }
}

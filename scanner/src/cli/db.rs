//! `assay db`: fetch the advisory database and show which one is in use.

use std::path::PathBuf;

use anyhow::Context;
use assay_scanner::stages::audit::{self, AdvisoryDatabase};
use clap::Subcommand;

use super::{DbArgs, Outcome};

#[derive(Subcommand)]
pub(super) enum DbCommand {
    /// Clone the official RustSec advisory database, or update a clone (uses the system `git`).
    Fetch {
        /// Target directory [default: $ASSAY_ADVISORY_DB, else advisory-db/ in the cache dir ($ASSAY_CACHE_DIR or ~/.cache/assay)].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Repository to clone.
        #[arg(long, value_name = "URL", default_value = audit::OFFICIAL_URL)]
        url: String,
    },
    /// Print the database's identity and age; exits 1 when it is stale.
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
}

pub(super) fn run(command: DbCommand) -> anyhow::Result<Outcome> {
    match command {
        DbCommand::Fetch { dir, url } => {
            let dir = dir.unwrap_or_else(audit::default_location);
            audit::fetch(&dir, &url)
                .with_context(|| format!("cannot fetch the advisory database into {}", dir.display()))?;
            let db = AdvisoryDatabase::open(&dir)?;
            eprintln!(
                "advisory database at {}: {} advisories, commit {}",
                dir.display(),
                db.identity.advisory_count,
                db.identity.commit.as_deref().unwrap_or("unknown")
            );
            Ok(Outcome::Done)
        }
        DbCommand::Status { db: args } => {
            let path = args.location();
            let db = AdvisoryDatabase::open(&path)?;
            let now = jiff::Timestamp::now();
            let identity = &db.identity;
            println!("path:        {}", path.display());
            println!("kind:        {}", identity.kind);
            println!("advisories:  {}", identity.advisory_count);
            println!("commit:      {}", identity.commit.as_deref().unwrap_or("unknown"));
            println!("date:        {}", identity.date.as_deref().unwrap_or("unknown"));
            if let Some(digest) = &identity.content_sha256 {
                println!("sha256:      {digest}");
            }
            match db.age_days(now) {
                Some(age) => println!("age:         {age} days (limit {})", args.max_db_age),
                None => println!("age:         unknown"),
            }
            match db.staleness(now, args.max_db_age) {
                Some(finding) => {
                    eprintln!("stale: {}", finding.message);
                    if let Some(help) = finding.help {
                        eprintln!("  help: {help}");
                    }
                    Ok(Outcome::Problem)
                }
                None => Ok(Outcome::Done),
            }
        }
    }
}

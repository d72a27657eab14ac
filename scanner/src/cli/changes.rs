//! The output `rejudge` and `rules impact` share: the verdicts that change, as a table or as JSON.

use assay_scanner::rejudge::Sweep;

use super::Format;

/// Prints the changes on stdout (a table, or `--format json`: a list of changes) and the counts on stderr.
pub(super) fn print(sweep: &Sweep, format: Format, dry_run: bool) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&sweep.changes)?),
        Format::Human => {
            if !sweep.changes.is_empty() {
                println!("{:<38} {:<32} {:<28} reasons", "submission", "asset", "verdict");
            }
            for change in &sweep.changes {
                let asset = format!("{} {}", change.asset.name, change.asset.version);
                let verdicts = format!("{} -> {}", change.previous_verdict, change.verdict);
                println!("{:<38} {:<32} {:<28} {}", change.submission_id, asset, verdicts, change.reasons.join("; "));
                for line in &change.difference.added {
                    println!(
                        "    + {} {}: {}",
                        line.severity,
                        line.code,
                        assay_report::untrusted::escape(&line.message)
                    );
                }
                for line in &change.difference.removed {
                    println!(
                        "    - {} {}: {}",
                        line.severity,
                        line.code,
                        assay_report::untrusted::escape(&line.message)
                    );
                }
            }
        }
    }
    let verb = if dry_run { "would change" } else { "changed" };
    eprintln!(
        "{} {verb}, {} unchanged, {} skipped{}",
        sweep.changes.len(),
        sweep.unchanged,
        sweep.skipped.len(),
        if sweep.superseded > 0 {
            format!(", {} revised meanwhile by another process", sweep.superseded)
        } else {
            String::new()
        }
    );
    for (id, why) in &sweep.skipped {
        eprintln!("skipped {id}: {why}");
    }
    Ok(())
}

//! `assay verify`: whether a signed report lets a backend approve a listing.

use std::path::PathBuf;

use anyhow::Context;
use assay_report::trust::TrustStore;
use assay_report::untrusted::escape;
use assay_report::verify::{self, Expectations};
use assay_scanner::intake::sha256_file;
use clap::Args;

use super::Outcome;

/// Which asset the report must be about is not optional: a PASSED report of another asset proves nothing.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["asset", "subject_sha256", "any_subject"])))]
pub(super) struct VerifyArgs {
    /// report.dsse.json: the JSON array of DSSE envelopes `assay scan --key` writes.
    envelopes: PathBuf,
    /// A trusted SPKI PEM public key, or a TOML trust store of [[key]] entries.
    #[arg(long, value_name = "TRUST")]
    trust: PathBuf,
    /// The asset file; its sha256 must equal the VSA's subject digest.
    #[arg(long, value_name = "FILE")]
    asset: Option<PathBuf>,
    /// The asset's sha256 (hex), when the file is not at hand; must equal the VSA's subject digest.
    #[arg(long, value_name = "HEX", value_parser = parse_sha256)]
    subject_sha256: Option<String>,
    /// Accept a report about any asset (the subject is not checked, and the result says so).
    #[arg(long)]
    any_subject: bool,
    /// The listing URI; must equal the VSA's resourceUri.
    #[arg(long, value_name = "URI")]
    listing: Option<String>,
    /// The rule-set digest (hex sha256); must equal the VSA's policy digest.
    #[arg(long, value_name = "HEX")]
    policy_digest: Option<String>,
}

pub(super) fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let trust = TrustStore::load(&args.trust)?;
    let bytes = std::fs::read(&args.envelopes).with_context(|| format!("cannot read {}", args.envelopes.display()))?;
    let asset_sha256 = match &args.asset {
        Some(path) => {
            let (digest, _) = sha256_file(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(digest)
        }
        None => args.subject_sha256.clone(),
    };
    let expect = Expectations {
        asset_sha256,
        any_subject: args.any_subject,
        listing: args.listing.clone(),
        policy_sha256: args.policy_digest.as_ref().map(|d| d.to_ascii_lowercase()),
    };
    let result = verify::parse_envelopes(&bytes).and_then(|envelopes| verify::verify(&envelopes, &trust, &expect));
    match result {
        Err(untrusted) => {
            eprintln!("UNTRUSTED: {}", escape(&untrusted.to_string()));
            Ok(Outcome::Untrusted)
        }
        Ok(verified) => {
            let summary = &verified.summary;
            let unchecked = if args.any_subject { " (any subject: --any-subject, not checked)" } else { "" };
            let line = format!(
                "signed by key {} for {} at {}; subject sha256:{}{unchecked}",
                verified.key_id, summary.verifier.id, summary.time_verified, verified.subject_sha256
            );
            if verified.passed {
                eprintln!("PASSED: {}", escape(&line));
                Ok(Outcome::Done)
            } else {
                eprintln!("FAILED: verified, but the asset did not pass: {}", escape(&line));
                Ok(Outcome::Problem)
            }
        }
    }
}

/// A sha256 in hex, as `--subject-sha256` takes it (lowercased).
fn parse_sha256(text: &str) -> Result<String, String> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!("`{text}` is not a sha256: 64 hexadecimal digits"))
    }
}

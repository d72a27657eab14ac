//! `assay keygen`: an Ed25519 key pair for signing reports.

use std::path::PathBuf;

use clap::Args;

use super::Outcome;

#[derive(Args)]
pub(super) struct KeygenArgs {
    /// Directory for assay-signing.key (PKCS#8 PEM, mode 0600) and assay-signing.pub (SPKI PEM).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub(super) fn run(args: KeygenArgs) -> anyhow::Result<Outcome> {
    let generated = assay_report::keys::generate(&args.out)?;
    println!("{}", generated.key_id);
    eprintln!(
        "wrote {} (keep it secret) and {}; key id {}",
        generated.private_key.display(),
        generated.public_key.display(),
        generated.key_id
    );
    Ok(Outcome::Done)
}

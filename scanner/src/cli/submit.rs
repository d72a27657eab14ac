//! `assay submit`: publish a v1 submission for a local asset (for backends and demos), optionally
//! waiting for its signed report.

use std::path::PathBuf;

use anyhow::Context;
use assay_report::Verdict;
use assay_report::quantity::TimeSpan;
use assay_scanner::intake::sha256_file;
use assay_scanner::pipeline;
use assay_scanner::worker::message::{Archive, SUBMISSION_SCHEMA, Submission, SubmittedAsset};
use assay_scanner::worker::topology::{Topology, header_text};
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};

use super::Outcome;
use super::worker::DEFAULT_AMQP;

#[derive(clap::Args)]
pub(super) struct SubmitArgs {
    /// The asset file (.crate or .tar.gz) to submit.
    asset: PathBuf,
    /// AMQP URL of the broker.
    #[arg(long, value_name = "URL", env = "ASSAY_AMQP_URL", hide_env_values = true, default_value = DEFAULT_AMQP)]
    amqp: String,
    /// The marketplace listing (the VSA's resourceUri).
    #[arg(long, value_name = "URI")]
    listing: Option<String>,
    /// Submission id [default: a new random UUID].
    #[arg(long, value_name = "ID")]
    submission_id: Option<String>,
    /// Prefix of queue and exchange names.
    #[arg(long, value_name = "NAME", default_value = "assay")]
    prefix: String,
    /// Wait for the report and exit with its verdict (0 accepted, 1 rejected, 3 needs review).
    #[arg(long)]
    wait: bool,
    /// How long --wait waits.
    #[arg(long, value_name = "TIME", default_value = "300s", requires = "wait")]
    timeout: TimeSpan,
}

pub(super) fn run(args: SubmitArgs) -> anyhow::Result<Outcome> {
    let path = std::path::absolute(&args.asset).with_context(|| format!("cannot resolve {}", args.asset.display()))?;
    let (sha256, size) = sha256_file(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let identity = pipeline::identify(&path, &pipeline::ScanConfig::default())
        .with_context(|| format!("cannot read {}", path.display()))?;
    let Some((name, version, publisher)) = identity else {
        anyhow::bail!("{} is not a readable crate (no valid Cargo.toml); `assay scan` it to see why", path.display());
    };
    let submission = Submission {
        schema: SUBMISSION_SCHEMA.to_owned(),
        submission_id: args.submission_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        asset: SubmittedAsset { name, version, publisher: publisher.unwrap_or_default() },
        archive: Archive { uri: format!("file://{}", path.display()), sha256, size },
        listing: args.listing.clone(),
        rules: "default".to_owned(),
    };
    let body = serde_json::to_vec(&submission).context("cannot serialise the submission")?;
    let topology = Topology::new(&args.prefix, 5);
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let connection = Connection::connect(&args.amqp, ConnectionProperties::default())
            .await
            .with_context(|| format!("cannot connect to {}", redact(&args.amqp)))?;
        let channel = connection.create_channel().await?;
        topology.declare(&channel).await.context("cannot declare the queues")?;
        // Bind the reply queue before publishing, so a fast worker's report cannot be missed.
        let replies = if args.wait {
            let queue = channel
                .queue_declare(
                    "".into(),
                    QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() },
                    FieldTable::default(),
                )
                .await?;
            channel
                .queue_bind(
                    queue.name().clone(),
                    topology.reports.as_str().into(),
                    "report.#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            Some(
                channel
                    .basic_consume(
                        queue.name().clone(),
                        "assay-submit".into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?,
            )
        } else {
            None
        };
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        let confirm = channel
            .basic_publish(
                "".into(),
                topology.submissions.as_str().into(),
                BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                &body,
                BasicProperties::default()
                    .with_message_id(submission.submission_id.as_str().into())
                    .with_content_type("application/json".into())
                    .with_delivery_mode(2),
            )
            .await?
            .await?;
        anyhow::ensure!(
            confirm.is_ack() && confirm.take_message().is_none(),
            "the broker did not accept the submission"
        );
        println!("{}", submission.submission_id);
        let Some(mut replies) = replies else { return Ok(Outcome::Done) };
        let wait = async {
            while let Some(delivery) = replies.next().await {
                let delivery = delivery?;
                let _ = delivery.ack(BasicAckOptions::default()).await;
                let headers = delivery.properties.headers().as_ref();
                if header_text(headers, "submission_id").as_deref() == Some(submission.submission_id.as_str()) {
                    return Ok::<_, anyhow::Error>(header_text(headers, "verdict"));
                }
            }
            anyhow::bail!("the broker closed the reply queue")
        };
        let verdict = tokio::time::timeout(args.timeout.0, wait)
            .await
            .map_err(|_| anyhow::anyhow!("no report within {}", args.timeout))??;
        let _ = connection.close(200, "done".into()).await;
        let verdict = match verdict.as_deref() {
            Some("accepted") => Verdict::Accepted,
            Some("rejected") => Verdict::Rejected,
            Some("needs-review") => Verdict::NeedsReview,
            other => anyhow::bail!("the report has an unknown verdict {other:?}"),
        };
        eprintln!("{}: {}", submission.submission_id, verdict);
        Ok(Outcome::Verdict(verdict))
    })
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

//! Publishing with publisher confirms: signed reports to the reports exchange, refused submissions to
//! the dead-letter exchange with their reason.

use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel};

use assay_report::Verdict;

use super::topology::Topology;

/// A message the broker did not take.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The publish itself failed (connection, channel).
    #[error("cannot publish to {exchange}")]
    Send {
        /// The exchange.
        exchange: String,
        /// The cause.
        #[source]
        source: lapin::Error,
    },
    /// No confirm arrived.
    #[error("no confirm from {exchange}")]
    Confirm {
        /// The exchange.
        exchange: String,
        /// The cause.
        #[source]
        source: lapin::Error,
    },
    /// The broker nacked the message.
    #[error("the broker refused the message to {exchange}")]
    Refused {
        /// The exchange.
        exchange: String,
    },
    /// The message matched no queue (returned as `mandatory`).
    #[error("the message to {exchange} with key {routing_key} was unroutable")]
    Unroutable {
        /// The exchange.
        exchange: String,
        /// Its routing key.
        routing_key: String,
    },
}

/// Which verdict of which submission a report message carries.
#[derive(Clone, Copy, Debug)]
pub struct ReportMessage<'a> {
    /// The submission.
    pub submission_id: &'a str,
    /// Its verdict as of this revision.
    pub verdict: Verdict,
    /// The verdict before (`None` for the first).
    pub previous_verdict: Option<Verdict>,
    /// The verdict revision (0 for the first).
    pub revision: u32,
}

impl ReportMessage<'_> {
    /// The message id: the submission id for the first verdict, `<submission id>#<revision>` after it, so a
    /// consumer de-duplicates re-publications and never mistakes a re-judgement for one.
    pub fn message_id(&self) -> String {
        match self.revision {
            0 => self.submission_id.to_owned(),
            revision => format!("{}#{revision}", self.submission_id),
        }
    }
}

/// Publishes a report's envelopes on `<prefix>.reports` with routing key `report.<verdict>`, `mandatory`, and
/// waits for the broker's confirm. Headers: `submission_id`, `verdict`, `revision`, and `previous_verdict`
/// once there is one.
pub async fn report(
    channel: &Channel,
    topology: &Topology,
    message: &ReportMessage<'_>,
    envelopes: &[u8],
) -> Result<(), PublishError> {
    let mut headers = FieldTable::default();
    headers.insert("submission_id".into(), text(message.submission_id));
    headers.insert("verdict".into(), text(message.verdict.as_str()));
    headers.insert("revision".into(), AMQPValue::LongLongInt(i64::from(message.revision)));
    if let Some(previous) = message.previous_verdict {
        headers.insert("previous_verdict".into(), text(previous.as_str()));
    }
    let properties = BasicProperties::default()
        .with_message_id(message.message_id().into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_headers(headers);
    confirmed(channel, &topology.reports, &format!("report.{}", message.verdict), envelopes, properties).await
}

/// Sends a refused submission to the dead-letter exchange with `x-assay-error`, as the broker would
/// have, but with the reason attached.
pub async fn dead_letter(
    channel: &Channel,
    topology: &Topology,
    body: &[u8],
    reason: &str,
    message_id: Option<&str>,
) -> Result<(), PublishError> {
    let mut headers = FieldTable::default();
    headers.insert("x-assay-error".into(), text(reason));
    let mut properties = BasicProperties::default().with_delivery_mode(2).with_headers(headers);
    if let Some(id) = message_id {
        properties = properties.with_message_id(id.into());
    }
    confirmed(channel, &topology.dead_letter_exchange, &topology.dead_letter_queue, body, properties).await
}

async fn confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), PublishError> {
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
            body,
            properties,
        )
        .await
        .map_err(|source| PublishError::Send { exchange: exchange.to_owned(), source })?
        .await
        .map_err(|source| PublishError::Confirm { exchange: exchange.to_owned(), source })?;
    if !confirm.is_ack() {
        return Err(PublishError::Refused { exchange: exchange.to_owned() });
    }
    if confirm.take_message().is_some() {
        return Err(PublishError::Unroutable { exchange: exchange.to_owned(), routing_key: routing_key.to_owned() });
    }
    Ok(())
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

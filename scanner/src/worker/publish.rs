//! Publishing with publisher confirms: signed reports to the reports exchange, refused submissions to
//! the dead-letter exchange with their reason.

use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel};

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

/// Publishes a report's envelopes, `mandatory`, and waits for the broker's confirm.
pub async fn report(
    channel: &Channel,
    topology: &Topology,
    submission_id: &str,
    verdict: &str,
    envelopes: &[u8],
) -> Result<(), PublishError> {
    let mut headers = FieldTable::default();
    headers.insert("submission_id".into(), text(submission_id));
    headers.insert("verdict".into(), text(verdict));
    let properties = BasicProperties::default()
        .with_message_id(submission_id.into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_headers(headers);
    confirmed(channel, &topology.reports, &format!("report.{verdict}"), envelopes, properties).await
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

//! Queue topology: the submissions and re-judgement quorum queues with their dead-letter paths, and the
//! reports exchange.
//! Declared idempotently by every worker (and by `assay submit`), so any of them can start first.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

/// The names of everything a worker uses, all derived from one prefix (`assay` by default), so tests and
/// separate deployments can share a broker without sharing queues.
#[derive(Clone, Debug)]
pub struct Topology {
    /// `<prefix>.submissions`: durable quorum queue of submission messages.
    pub submissions: String,
    /// `<prefix>.dlx`: where rejected submissions go.
    pub dead_letter_exchange: String,
    /// `<prefix>.submissions.dlq`: the dead-letter queue.
    pub dead_letter_queue: String,
    /// `<prefix>.reports`: topic exchange of signed reports, routing key `report.<verdict>`.
    pub reports: String,
    /// `<prefix>.reports.all`: durable queue bound to `report.#`.
    pub reports_all: String,
    /// `<prefix>.rejudge`: durable quorum queue of re-judgement work (rounds and submissions), consumed by
    /// every worker.
    pub rejudge: String,
    /// `<prefix>.rejudge.dlq`: where re-judgement messages that keep failing go.
    pub rejudge_dead_letter_queue: String,
    /// Deliveries before the broker dead-letters a message by itself.
    pub delivery_limit: u32,
}

impl Topology {
    /// Names under `prefix`.
    pub fn new(prefix: &str, delivery_limit: u32) -> Self {
        Self {
            submissions: format!("{prefix}.submissions"),
            dead_letter_exchange: format!("{prefix}.dlx"),
            dead_letter_queue: format!("{prefix}.submissions.dlq"),
            reports: format!("{prefix}.reports"),
            reports_all: format!("{prefix}.reports.all"),
            rejudge: format!("{prefix}.rejudge"),
            rejudge_dead_letter_queue: format!("{prefix}.rejudge.dlq"),
            delivery_limit,
        }
    }

    /// Declares everything (idempotent when the arguments match).
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable_exchange = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(
                self.dead_letter_exchange.as_str().into(),
                ExchangeKind::Direct,
                durable_exchange,
                FieldTable::default(),
            )
            .await?;
        self.declare_with_dead_letters(channel, &self.submissions, &self.dead_letter_queue).await?;
        self.declare_with_dead_letters(channel, &self.rejudge, &self.rejudge_dead_letter_queue).await?;
        self.declare_reports(channel).await
    }

    /// Declares the work queue `queue` and its dead-letter queue `dead_letters`, bound to the dead-letter
    /// exchange (declared first).
    async fn declare_with_dead_letters(&self, channel: &Channel, queue: &str, dead_letters: &str) -> lapin::Result<()> {
        let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        channel.queue_declare(dead_letters.into(), durable, quorum()).await?;
        channel
            .queue_bind(
                dead_letters.into(),
                self.dead_letter_exchange.as_str().into(),
                dead_letters.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        // RabbitMQ 3.10 counts nacks towards x-delivery-limit too; the limit and the dead-letter exchange
        // are set explicitly so a poison message always ends in the DLQ instead of cycling.
        let mut arguments = quorum();
        arguments
            .insert("x-delivery-limit".into(), AMQPValue::LongInt(i32::try_from(self.delivery_limit).unwrap_or(5)));
        arguments.insert("x-dead-letter-exchange".into(), long_string(&self.dead_letter_exchange));
        arguments.insert("x-dead-letter-routing-key".into(), long_string(dead_letters));
        channel.queue_declare(queue.into(), durable, arguments).await?;
        Ok(())
    }

    /// Declares the reports exchange and its `report.#` queue: all a publisher of reports needs.
    pub async fn declare_reports(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        let durable_exchange = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(
                self.reports.as_str().into(),
                ExchangeKind::Topic,
                durable_exchange,
                FieldTable::default(),
            )
            .await?;
        channel.queue_declare(self.reports_all.as_str().into(), durable, quorum()).await?;
        channel
            .queue_bind(
                self.reports_all.as_str().into(),
                self.reports.as_str().into(),
                "report.#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(())
    }
}

fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert("x-queue-type".into(), long_string("quorum"));
    arguments
}

fn long_string(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes().to_vec()))
}

/// A header value as text, when it is a string or an integer.
pub fn header_text(headers: Option<&FieldTable>, name: &str) -> Option<String> {
    let value = headers?.inner().get(&ShortString::from(name))?;
    match value {
        AMQPValue::LongString(text) => Some(String::from_utf8_lossy(text.as_bytes()).into_owned()),
        AMQPValue::ShortString(text) => Some(text.as_str().to_owned()),
        AMQPValue::LongLongInt(number) => Some(number.to_string()),
        AMQPValue::LongInt(number) => Some(number.to_string()),
        _ => None,
    }
}

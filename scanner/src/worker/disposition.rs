//! What becomes of a delivery: acked, returned to the queue for a failure that may pass, or dead-lettered
//! with its reason. Every path through the worker ends in exactly one of them.

use std::error::Error;

use super::message::Refused;
use super::publish::PublishError;
use crate::pipeline::ScanError;
use crate::store::StoreError;

/// The end of one delivery.
#[derive(Debug)]
pub(super) enum Disposition {
    /// Its report is stored and published (or was already): ack.
    Ack,
    /// It gets no (further) verdict: publish it to the dead-letter exchange with the reason, then ack.
    DeadLetter(Refused),
}

/// A failure that may pass on a later delivery: the message goes back to the queue (or, on its last
/// delivery, the submission is judged `scan-abandoned`). The cause chain is kept for the log and the
/// dead letter.
#[derive(Debug, thiserror::Error)]
pub(super) enum Retry {
    /// The report store could not be read.
    #[error("cannot read the store")]
    ReadStore(#[source] StoreError),
    /// The report could not be stored.
    #[error("cannot store the report")]
    Store(#[source] StoreError),
    /// A report or dead letter could not be published.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The archive could not be fetched yet (network, timeout, not uploaded yet, disk).
    #[error("{0}")]
    Fetch(String),
    /// The scan could not run for a reason that is not the asset's.
    #[error("the scan could not run")]
    Scan(#[source] ScanError),
    /// The scan's task ended abnormally.
    #[error("the scan task failed")]
    Task(#[source] tokio::task::JoinError),
    /// The fetched file changed between the fetch and the scan.
    #[error("the scratch copy changed during the scan")]
    ScratchChanged,
}

/// `error` and its causes as one line, `outer: inner: …`; a cause whose text the message before it already
/// quotes is not repeated.
pub(super) fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn a_chain_names_every_cause_once() {
        let full = StoreError::Io { path: "/store".into(), source: io::Error::other("disk full") };
        assert_eq!(chain(&Retry::Store(full)), "cannot store the report: /store: disk full");
        let quoted = ScanError::Scratch { path: "/scratch".into(), source: io::Error::other("no space") };
        let retry = Retry::Scan(quoted);
        assert_eq!(chain(&retry), "the scan could not run: cannot create a scratch directory in /scratch: no space");
    }
}

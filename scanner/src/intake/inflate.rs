//! Decompression bounded as it happens: the stream cap and the compression ratio are checked on every read.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use assay_report::{Finding, codes};

use super::limits::{IntakeLimits, RATIO_GRACE_BYTES};

/// A stream limit that stopped decompression.
#[derive(Clone, Copy, Debug)]
pub(super) enum Breach {
    Ratio { inflated: u64, compressed: u64 },
    Stream { inflated: u64 },
}

impl Breach {
    pub(super) fn finding(self, limits: &IntakeLimits) -> Finding {
        match self {
            Self::Ratio { inflated, compressed } => Finding::new(
                &codes::ARCHIVE_COMPRESSION_RATIO,
                format!(
                    "{compressed} compressed bytes expanded to over {inflated}, a ratio above the limit of {}:1",
                    limits.max_compression_ratio
                ),
            ),
            Self::Stream { inflated } => Finding::new(
                &codes::ARCHIVE_TOO_LARGE,
                format!(
                    "the archive stream exceeds {inflated} bytes, more than {} bytes of files can need",
                    limits.max_unpacked_bytes
                ),
            ),
        }
    }
}

/// Sits between the gzip decoder and the tar reader and stops decompression the moment the stream grows
/// past the stream cap or the compression ratio: this bounds memory and time even for headers that
/// `tar` reads before we see an entry.
pub(super) struct InflateGuard<R> {
    pub(super) inner: R,
    inflated: u64,
    compressed: Rc<Cell<u64>>,
    max_stream: u64,
    max_ratio: u64,
    pub(super) breach: Rc<Cell<Option<Breach>>>,
}

impl<R> InflateGuard<R> {
    pub(super) fn new(inner: R, compressed: Rc<Cell<u64>>, limits: &IntakeLimits) -> Self {
        Self {
            inner,
            inflated: 0,
            compressed,
            max_stream: limits.max_stream_bytes(),
            max_ratio: limits.max_compression_ratio,
            breach: Rc::default(),
        }
    }
}

impl<R: Read> Read for InflateGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.inflated += n as u64;
        let compressed = self.compressed.get().max(1);
        let breach = if self.inflated > self.max_stream {
            Some(Breach::Stream { inflated: self.max_stream })
        } else if self.inflated > RATIO_GRACE_BYTES && self.inflated / compressed > self.max_ratio {
            Some(Breach::Ratio { inflated: self.inflated, compressed })
        } else {
            None
        };
        if let Some(breach) = breach {
            self.breach.set(Some(breach));
            return Err(io::Error::other("intake limit exceeded"));
        }
        Ok(n)
    }
}

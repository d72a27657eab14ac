//! Digests of submitted bytes: a reader that hashes and counts what passes through it.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use sha2::{Digest, Sha256};

pub use assay_report::digest::hex;

/// sha256 (hex) and size of a file, read in one streaming pass.
pub fn sha256_file(path: &std::path::Path) -> io::Result<(String, u64)> {
    SourceReader::new(std::fs::File::open(path)?).finish()
}

/// Hashes and counts every byte read from the submitted file, so one pass both identifies the
/// archive and unpacks it; the count feeds the compression-ratio check while unpacking.
pub struct SourceReader<R> {
    inner: R,
    hasher: Sha256,
    read: Rc<Cell<u64>>,
    /// Set when the underlying read itself failed: then a broken archive is our I/O problem,
    /// not the publisher's, and intake reports an error instead of a finding.
    io_failure: Rc<Cell<Option<io::ErrorKind>>>,
}

impl<R: Read> SourceReader<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> Self {
        Self { inner, hasher: Sha256::new(), read: Rc::default(), io_failure: Rc::default() }
    }

    /// A live view of how many bytes have been read so far.
    pub fn counter(&self) -> Rc<Cell<u64>> {
        Rc::clone(&self.read)
    }

    /// A live view of whether an underlying read failed.
    pub fn io_failure(&self) -> Rc<Cell<Option<io::ErrorKind>>> {
        Rc::clone(&self.io_failure)
    }

    /// Reads whatever is left (an unpack may stop early) and returns the hex sha256 and size of the whole input.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((hex(&self.hasher.finalize()), self.read.get()))
    }
}

impl<R: Read> Read for SourceReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.read.set(self.read.get() + n as u64);
                Ok(n)
            }
            Err(err) => {
                if err.kind() != io::ErrorKind::Interrupted {
                    self.io_failure.set(Some(err.kind()));
                }
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_hashes_all_bytes_even_after_a_partial_read() {
        let data = b"hello world";
        let mut reader = SourceReader::new(&data[..]);
        let mut first = [0u8; 4];
        reader.read_exact(&mut first).unwrap();
        let (digest, size) = reader.finish().unwrap();
        assert_eq!(size, 11);
        assert_eq!(digest, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
    }
}

//! The scanning stage on its own thread: reads one input, cuts it into lines, and sends on
//! only the candidate lines (the prefilter's hits), so reading, decompression and the SIMD
//! scan overlap with parsing.
//!
//! Memory stays bounded: one read buffer plus a few batches in the channel.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, sync_channel};

use crate::detect::Prefilter;
use crate::source::LineChunks;

/// The candidate lines of one chunk of input.
#[derive(Debug, Default)]
pub struct CandidateBatch {
    /// Candidate lines, each followed by `\n` (a line never holds one).
    pub lines: Vec<u8>,
    /// Lines of input the chunk held, candidates or not.
    pub line_count: u64,
    /// Bytes of input consumed up to the end of this chunk (from where reading started): a
    /// checkpoint offset, never inside a line.
    pub position: u64,
}

impl CandidateBatch {
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        memchr::memchr_iter(b'\n', &self.lines).map(move |end| {
            let line = &self.lines[start..end];
            start = end + 1;
            line
        })
    }
}

/// What the scanning thread reports.
pub enum Scanned {
    Batch(CandidateBatch),
    /// The input is over: how far it was consumed (decompressed bytes, never inside a line),
    /// lines dropped for being longer than the read buffer, and the read error that ended it
    /// early, if any.
    End {
        position: u64,
        oversized: u64,
        error: Option<io::Error>,
    },
}

/// Batches in flight per input.
const DEPTH: usize = 4;

/// Starts scanning `reader` on a new thread. With `hold_partial`, an unterminated last line
/// is left for later (a live log may be mid-write).
pub fn spawn(reader: Box<dyn Read + Send>, hold_partial: bool) -> Receiver<Scanned> {
    let (tx, rx) = sync_channel(DEPTH);
    let spawned = std::thread::Builder::new()
        .name("mls-scan".into())
        .spawn(move || {
            let prefilter = Prefilter::default();
            let mut chunks = LineChunks::new(reader, 1 << 20);
            if hold_partial {
                chunks = chunks.holding_partial_line();
            }
            let error = loop {
                match chunks.next_chunk() {
                    Ok(Some(chunk)) => {
                        let mut batch = scan_chunk(&prefilter, chunk);
                        batch.position = chunks.position();
                        if tx.send(Scanned::Batch(batch)).is_err() {
                            return; // the pipeline stopped listening
                        }
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            let _ = tx.send(Scanned::End {
                position: chunks.position(),
                oversized: chunks.oversized,
                error,
            });
        });
    spawned.expect("spawning the scan thread");
    rx
}

/// The candidate lines of one chunk of whole lines.
pub fn scan_chunk(prefilter: &Prefilter, chunk: &[u8]) -> CandidateBatch {
    let mut batch = CandidateBatch {
        lines: Vec::with_capacity(chunk.len() / 8),
        line_count: bytecount::count(chunk, b'\n') as u64,
        position: 0,
    };
    if !chunk.is_empty() && !chunk.ends_with(b"\n") {
        batch.line_count += 1;
    }
    prefilter.for_each_candidate(chunk, |line| {
        batch.lines.extend_from_slice(line);
        batch.lines.push(b'\n');
    });
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_only_candidates_and_count_every_line() {
        let data = b"benign\nSASL one\n\nplain\nLogin two\nlast auth".to_vec();
        let rx = spawn(Box::new(io::Cursor::new(data)), false);
        let mut lines = Vec::new();
        let mut count = 0;
        for s in rx {
            match s {
                Scanned::Batch(b) => {
                    count += b.line_count;
                    lines.extend(b.iter().map(<[u8]>::to_vec));
                }
                Scanned::End {
                    error, position, ..
                } => {
                    assert!(error.is_none());
                    assert_eq!(position, 42);
                }
            }
        }
        assert_eq!(count, 6);
        assert_eq!(
            lines,
            vec![
                b"SASL one".to_vec(),
                b"Login two".to_vec(),
                b"last auth".to_vec()
            ]
        );
    }

    #[test]
    fn holding_the_partial_line_stops_the_position_before_it() {
        let rx = spawn(Box::new(io::Cursor::new(b"SASL a\nSASL b".to_vec())), true);
        let mut lines = 0;
        let mut end = None;
        for s in rx {
            match s {
                Scanned::Batch(b) => lines += b.iter().count(),
                Scanned::End { position, .. } => end = Some(position),
            }
        }
        assert_eq!((lines, end), (1, Some(7)));
    }

    #[test]
    fn an_empty_batch_has_no_lines() {
        assert_eq!(CandidateBatch::default().iter().count(), 0);
    }
}

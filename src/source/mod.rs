//! Sources: where log bytes come from. Opens files (plain or gzip, told apart by magic bytes,
//! not by name) and stdin, and cuts the byte stream into chunks of whole lines.
//!
//! Not here: parsing lines, or remembering how far a file was read between runs.

pub(crate) mod files;
pub(crate) mod journal;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use flate2::read::MultiGzDecoder;

/// Errors of a source, naming the input they concern.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: cannot open: {source}")]
    Open { path: PathBuf, source: io::Error },
}

/// One input of a run: a file path or standard input (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    pub fn from_arg(arg: &Path) -> Input {
        if arg == Path::new("-") {
            Input::Stdin
        } else {
            Input::File(arg.to_path_buf())
        }
    }

    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_owned(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// An opened input: decompressed bytes, plus the file's modification time (the latest
/// instant its lines can have, used to infer years).
pub struct OpenInput {
    pub reader: Box<dyn Read + Send>,
    pub modified: Option<SystemTime>,
    pub gzip: bool,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub fn open(input: &Input) -> Result<OpenInput, SourceError> {
    let (raw, modified): (Box<dyn Read + Send>, _) = match input {
        Input::Stdin => (Box::new(io::stdin()), None),
        Input::File(path) => {
            let f = File::open(path).map_err(|source| SourceError::Open {
                path: path.clone(),
                source,
            })?;
            let modified = f.metadata().and_then(|m| m.modified()).ok();
            (Box::new(f), modified)
        }
    };
    let mut buffered = BufReader::with_capacity(64 * 1024, raw);
    let head = buffered.fill_buf().map_err(|source| SourceError::Open {
        path: PathBuf::from(input.name()),
        source,
    })?;
    let gzip = head.starts_with(&GZIP_MAGIC);
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    Ok(OpenInput {
        reader,
        modified,
        gzip,
    })
}

/// Lines longer than this are skipped (syslog daemons cut at 8 KiB by default; anything this
/// long is garbage or an attack on the parser).
pub const MAX_LINE: usize = 64 * 1024;

/// Whether `line` (without its newline) is longer than [`MAX_LINE`], not counting the NUL
/// padding that a crash can leave before a line.
#[inline]
pub fn is_too_long(line: &[u8]) -> bool {
    line.len() > MAX_LINE && line.len() - line.iter().take_while(|&&b| b == 0).count() > MAX_LINE
}

/// Cuts a byte stream into chunks that end on a line boundary, with a fixed-size buffer.
pub struct LineChunks<R> {
    reader: R,
    buf: Vec<u8>,
    /// Valid bytes are `buf[..filled]`; `buf[..consumed]` was handed out already.
    filled: usize,
    consumed: usize,
    /// Inside a line longer than the buffer: drop bytes up to its end.
    discarding: bool,
    /// Lines dropped for being longer than the buffer.
    pub oversized: u64,
    /// Decompressed bytes read so far (from where the reader started).
    pub offset: u64,
    /// Where the oversized line being dropped started (its end is not read yet).
    discard_start: Option<u64>,
    /// Keep an unterminated last line back (it may still be being written).
    hold_partial: bool,
    eof: bool,
}

impl<R: Read> LineChunks<R> {
    pub fn new(reader: R, capacity: usize) -> LineChunks<R> {
        LineChunks {
            reader,
            buf: vec![0; capacity.max(MAX_LINE + 1)],
            filled: 0,
            consumed: 0,
            discarding: false,
            oversized: 0,
            offset: 0,
            discard_start: None,
            hold_partial: false,
            eof: false,
        }
    }

    /// Never hands out a last line without its `\n`: a log being written may end mid-line,
    /// and that line is only consumed once complete (see [`LineChunks::position`]).
    pub fn holding_partial_line(mut self) -> Self {
        self.hold_partial = true;
        self
    }

    /// Bytes handed out (or dropped as oversized) so far: where the next run resumes. It
    /// never points inside a line.
    pub fn position(&self) -> u64 {
        self.discard_start
            .unwrap_or(self.offset - (self.filled - self.consumed) as u64)
    }

    /// [`LineChunks::next_chunk`] as `chunk`'s new contents, read into `chunk`'s own buffer:
    /// the buffers change hands around the read, so the bytes are neither copied after it nor
    /// written into a buffer that another thread (the previous caller) has in its cache,
    /// which cost `anonymize` 0.35 s of system time a GiB on two cores. Only the partial line
    /// after the chunk is copied, to stay here. `Ok(false)` at the end.
    pub fn next_chunk_into(&mut self, chunk: &mut Vec<u8>) -> io::Result<bool> {
        self.hand_over_to(chunk);
        let len = self.next_chunk()?.map(<[u8]>::len);
        self.hand_over_to(chunk);
        Ok(len.is_some_and(|len| {
            chunk.truncate(len);
            true
        }))
    }

    /// Makes `buffer` the one read into next, with the bytes not handed out yet at its front,
    /// and gives the current one to `buffer`.
    fn hand_over_to(&mut self, buffer: &mut Vec<u8>) {
        let tail = self.consumed..self.filled;
        buffer.resize(self.buf.len(), 0);
        buffer[..tail.len()].copy_from_slice(&self.buf[tail.clone()]);
        std::mem::swap(&mut self.buf, buffer);
        (self.filled, self.consumed) = (tail.len(), 0);
    }

    /// The next chunk of whole lines, each ending in `\n` except maybe the last line of the
    /// input. `Ok(None)` at the end.
    pub fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            // Move the partial line left over to the front.
            if self.consumed > 0 {
                self.buf.copy_within(self.consumed..self.filled, 0);
                self.filled -= self.consumed;
                self.consumed = 0;
            }
            if self.eof {
                if self.filled == 0 || self.discarding {
                    return Ok(None);
                }
                // Whole lines left after an oversized one ended: hand them out now, not next run.
                self.consumed = match memchr::memrchr(b'\n', &self.buf[..self.filled]) {
                    _ if !self.hold_partial => self.filled,
                    Some(i) => i + 1,
                    None => return Ok(None),
                };
                return Ok(Some(&self.buf[..self.consumed]));
            }
            let n = match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.offset += n as u64;
            if n == 0 {
                self.eof = true;
                continue;
            }
            let new = self.filled..self.filled + n;
            self.filled += n;
            if self.discarding {
                match memchr::memchr(b'\n', &self.buf[new.clone()]) {
                    Some(i) => {
                        self.discarding = false;
                        self.discard_start = None;
                        self.consumed = new.start + i + 1;
                    }
                    None => self.consumed = self.filled,
                }
                continue;
            }
            // The whole buffer: after an oversized line, whole lines may precede the new bytes.
            match memchr::memrchr(b'\n', &self.buf[..self.filled]) {
                Some(i) => {
                    self.consumed = i + 1;
                    return Ok(Some(&self.buf[..i + 1]));
                }
                None if self.filled == self.buf.len() => {
                    // No newline in a full buffer: this line is too long to keep.
                    self.oversized += 1;
                    self.discarding = true;
                    self.discard_start = Some(self.position());
                    self.consumed = self.filled;
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[u8], cap: usize) -> (Vec<u8>, u64) {
        let mut c = LineChunks::new(data, cap);
        c.buf.truncate(cap);
        let mut out = Vec::new();
        while let Some(chunk) = c.next_chunk().unwrap() {
            out.extend_from_slice(chunk);
        }
        (out, c.oversized)
    }

    #[test]
    fn chunks_reassemble_the_input() {
        let data: Vec<u8> = (0..5000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        assert_eq!(chunks(&data, 64).0, data);
        let mut partial = data.clone();
        partial.extend_from_slice(b"no newline at end");
        assert_eq!(chunks(&partial, 64).0, partial);
    }

    #[test]
    fn chunks_handed_over_are_the_chunks_read() {
        let mut data: Vec<u8> = (0..500)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        data.extend(std::iter::repeat_n(b'x', 1000));
        data.extend_from_slice(b"\nafter\nno newline at end");
        let mut read = LineChunks::new(&data[..], 100);
        read.buf.truncate(100);
        let (mut expected, mut handed) = (Vec::new(), Vec::new());
        while let Some(chunk) = read.next_chunk().unwrap() {
            expected.push(chunk.to_vec());
        }
        let mut over = LineChunks::new(&data[..], 100);
        over.buf.truncate(100);
        let mut chunk = Vec::with_capacity(100);
        chunk.extend_from_slice(b"left from before");
        let own = chunk.as_ptr();
        while over.next_chunk_into(&mut chunk).unwrap() {
            assert_eq!(chunk.as_ptr(), own, "read into the caller's own buffer");
            handed.push(chunk.clone());
        }
        assert_eq!(handed, expected);
        assert_eq!((over.oversized, over.position()), (1, data.len() as u64));
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_dropped_and_counted() {
        let mut data = b"before\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 1000));
        data.extend_from_slice(b"\nafter\n");
        let (out, oversized) = chunks(&data, 100);
        assert_eq!(out, b"before\nafter\n");
        assert_eq!(oversized, 1);
    }

    #[test]
    fn lines_after_an_oversized_one_come_out_before_the_end() {
        let mut data = b"before\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 1000));
        data.extend_from_slice(b"\nafter\nlast\nparti");
        let mut c = LineChunks::new(&data[..], 100).holding_partial_line();
        c.buf.truncate(100);
        let mut out = Vec::new();
        while let Some(chunk) = c.next_chunk().unwrap() {
            out.extend_from_slice(chunk);
        }
        assert_eq!(out, b"before\nafter\nlast\n");
        assert_eq!(c.position(), data.len() as u64 - 5);
        assert_eq!(c.oversized, 1);
    }

    #[test]
    fn position_stops_before_an_unfinished_line() {
        let data = b"one\ntwo\nthr".to_vec();
        let mut c = LineChunks::new(&data[..], 64).holding_partial_line();
        let mut out = Vec::new();
        while let Some(chunk) = c.next_chunk().unwrap() {
            out.extend_from_slice(chunk);
        }
        assert_eq!(out, b"one\ntwo\n");
        assert_eq!(c.position(), 8);
    }

    #[test]
    fn position_does_not_move_into_an_unfinished_oversized_line() {
        let mut data = b"ok\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 300));
        let mut c = LineChunks::new(&data[..], 100).holding_partial_line();
        c.buf.truncate(100);
        while c.next_chunk().unwrap().is_some() {}
        assert_eq!(c.position(), 3);
    }

    #[test]
    fn gzip_is_detected_by_magic_not_name() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.log.1");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello\n").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let mut opened = open(&Input::File(path)).unwrap();
        assert!(opened.gzip);
        let mut s = String::new();
        opened.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\n");
    }
}

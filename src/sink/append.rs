//! An append-only export file that is exactly-once with the store: its committed length is
//! stored in the same transaction as the events, and bytes past it (written by a run that died
//! before committing) are cut at the next start.
//!
//! Not here: what the rows look like (CSV, JSON Lines).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What opening did to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Nothing to do.
    None,
    /// The file did not exist and was created.
    Created,
    /// Uncommitted bytes at the end (a torn tail) were cut.
    CutTail { bytes: u64 },
    /// The file is shorter than its committed length (edited or truncated by someone): kept,
    /// appended to from its current end.
    Shorter { committed: u64, actual: u64 },
    /// No committed length was known (a file from before, e.g. the old tool's): its length was
    /// adopted, cutting an unterminated last line if any.
    Adopted { cut: u64 },
}

pub struct AppendFile {
    path: PathBuf,
    file: File,
    len: u64,
}

impl AppendFile {
    /// Opens (or creates, mode 0640) `path`, repairing it against `committed`.
    pub fn open(path: &Path, committed: Option<u64>) -> io::Result<(AppendFile, Repair)> {
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o640)
            .open(path)?;
        let actual = file.metadata()?.len();
        let (len, repair) = match committed {
            _ if !existed => (0, Repair::Created),
            Some(c) if actual > c => (c, Repair::CutTail { bytes: actual - c }),
            Some(c) if actual < c => (
                actual,
                Repair::Shorter {
                    committed: c,
                    actual,
                },
            ),
            Some(c) => (c, Repair::None),
            None => {
                let end = end_of_last_line(&mut file, actual)?;
                (end, Repair::Adopted { cut: actual - end })
            }
        };
        if len < actual {
            file.set_len(len)?;
            file.sync_data()?;
        }
        file.seek(SeekFrom::Start(len))?;
        Ok((
            AppendFile {
                path: path.to_path_buf(),
                file,
                len,
            },
            repair,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Committed-to-be length: what to store once the bytes are appended.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes`, syncs them to disk, and returns the new length to commit.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<u64> {
        if !bytes.is_empty() {
            self.file.write_all(bytes)?;
            self.file.sync_data()?;
            self.len += bytes.len() as u64;
        }
        Ok(self.len)
    }

    /// Cuts the file back to `len` (the length last committed) after a failed commit, so that
    /// no row the store does not hold stays in the file.
    /// A failed append may have written part of its bytes past [`AppendFile::len`].
    pub fn cut_back(&mut self, len: u64) -> io::Result<()> {
        if self.file.metadata()?.len() > len {
            self.file.set_len(len)?;
            self.file.sync_data()?;
        }
        self.len = len;
        self.file.seek(SeekFrom::Start(len))?;
        Ok(())
    }

    /// The committed bytes of the file (for a one-time reconciliation).
    pub fn read_committed(&mut self) -> io::Result<Vec<u8>> {
        let mut text = Vec::with_capacity(self.len as usize);
        self.file.seek(SeekFrom::Start(0))?;
        (&mut self.file).take(self.len).read_to_end(&mut text)?;
        self.file.seek(SeekFrom::Start(self.len))?;
        Ok(text)
    }

    /// The first line of the file (its header), if any.
    pub fn first_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; 4096];
        self.file.seek(SeekFrom::Start(0))?;
        let n = self.file.read(&mut buf)?;
        self.file.seek(SeekFrom::Start(self.len))?;
        buf.truncate(n);
        Ok(memchr::memchr(b'\n', &buf).map(|i| buf[..i].to_vec()))
    }
}

/// Offset just past the last `\n` among the first `len` bytes of `file` (0 when none).
pub fn end_of_last_line(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        file.seek(SeekFrom::Start(start))?;
        let chunk = &mut buf[..(end - start) as usize];
        file.read_exact(chunk)?;
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_with_mode_0640_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (mut f, repair) = AppendFile::open(&p, None).unwrap();
        assert_eq!(repair, Repair::Created);
        assert_eq!(f.append(b"a\n").unwrap(), 2);
        assert_eq!(f.append(b"bc\n").unwrap(), 5);
        assert_eq!(std::fs::read(&p).unwrap(), b"a\nbc\n");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn torn_tail_is_cut_to_the_committed_length() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"a\nb\nhalf a ro").unwrap();
        let (mut f, repair) = AppendFile::open(&p, Some(4)).unwrap();
        assert_eq!(repair, Repair::CutTail { bytes: 9 });
        f.append(b"c\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"a\nb\nc\n");
    }

    #[test]
    fn unknown_length_is_adopted_without_a_partial_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"old;rows\nmore;rows\npartial").unwrap();
        let (f, repair) = AppendFile::open(&p, None).unwrap();
        assert_eq!(repair, Repair::Adopted { cut: 7 });
        assert_eq!(f.len(), 19);
    }

    #[test]
    fn a_shorter_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"a\n").unwrap();
        let (f, repair) = AppendFile::open(&p, Some(100)).unwrap();
        assert_eq!(
            repair,
            Repair::Shorter {
                committed: 100,
                actual: 2
            }
        );
        assert_eq!(f.len(), 2);
    }
}

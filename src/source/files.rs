//! The live log and its rotated siblings: discovery in rotation order, file identity by
//! content, and reading a file from a checkpoint offset.
//!
//! A file is identified by a fingerprint of its first stamped line of *decompressed* content
//! (see [`identity_content`]), never by name or inode: `mail.log` that becomes `mail.log.1` and then `mail.log.2.gz` is one file,
//! and a new `mail.log` after rotation is another. Offsets count decompressed bytes.
//! Not here: deciding what to read (the run loop) or storing checkpoints (the store).

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::envelope::timestamp::{Clock, YearRule, parse_leading};

/// Bytes of the first line that the fingerprint covers (a longer first line is cut here).
const FINGERPRINT_SPAN: usize = 64 * 1024;

/// One member of a rotation set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub path: PathBuf,
    /// Rotated files no longer grow: once read to the end they are finished.
    pub rotated: bool,
}

/// Where a sibling sits in the rotation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    /// `mail.log-20251123[.gz]`: larger stamps are newer. Sorted first, oldest first.
    Dated(u64),
    /// `mail.log.N[.gz]`: larger N is older.
    Numbered(u64),
}

fn sibling_age(base: &str, name: &str) -> Option<Age> {
    let rest = name.strip_prefix(base)?;
    let rest = rest.strip_suffix(".gz").unwrap_or(rest);
    let digits = |s: &str| {
        let ok = !s.is_empty() && s.len() <= 14 && s.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| s.parse().ok()).flatten()
    };
    if let Some(n) = rest.strip_prefix('.').and_then(digits) {
        return Some(Age::Numbered(n));
    }
    rest.strip_prefix('-').and_then(digits).map(Age::Dated)
}

/// The live log `live` and its rotated siblings in its directory, oldest first (the live file
/// last, when it exists). Compressions other than gzip are not read.
pub fn discover(live: &Path) -> io::Result<Vec<LogFile>> {
    let dir = match live.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let base = live
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "log path has no file name"))?;
    let mut rotated: Vec<(Age, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(age) = sibling_age(base, name)
            && entry.file_type()?.is_file()
        {
            rotated.push((age, entry.path()));
        }
    }
    // Dated first (oldest date first), then numbered from the highest N down.
    rotated.sort_by(|a, b| match (a.0, b.0) {
        (Age::Numbered(x), Age::Numbered(y)) => y.cmp(&x),
        (x, y) => x.cmp(&y),
    });
    let mut files: Vec<LogFile> = rotated
        .into_iter()
        .map(|(_, path)| LogFile {
            path,
            rotated: true,
        })
        .collect();
    if live.is_file() {
        files.push(LogFile {
            path: live.to_path_buf(),
            rotated: false,
        });
    }
    Ok(files)
}

/// Why the configured mail log cannot be read at all: a run that meets one fails (exit 66, or
/// 77 for a permission) instead of succeeding with nothing read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputProblem {
    Missing,
    Directory,
    /// A character or block device, FIFO or socket: refused, it would be read forever.
    NotRegular,
    SymlinkLoop,
    PermissionDenied,
}

impl InputProblem {
    /// The cause, as said after the path.
    pub fn cause(self) -> &'static str {
        match self {
            InputProblem::Missing => "does not exist",
            InputProblem::Directory => "is a directory, not a log file",
            InputProblem::NotRegular => {
                "is not a regular file (a device, FIFO or socket): refused, it would be read forever"
            }
            InputProblem::SymlinkLoop => "is a symbolic link loop",
            InputProblem::PermissionDenied => "cannot be read: Permission denied",
        }
    }

    /// The way out, for the user `user`.
    pub fn fix(self, user: &str) -> String {
        match self {
            InputProblem::PermissionDenied => format!(
                "add {user} to the log's group (usually adm): `sudo usermod -aG adm {user}`, then run again"
            ),
            InputProblem::SymlinkLoop => "repair the link, or set [paths] mail_log to the file itself".into(),
            _ => "set [paths] mail_log to the file your syslog daemon writes (e.g. /var/log/mail.log), or to `journal`; `maillogsentinel check-config` shows what it finds".into(),
        }
    }

    /// The problem an open or stat error stands for, if it is one of these.
    pub fn of(e: &io::Error) -> Option<InputProblem> {
        match e.kind() {
            io::ErrorKind::NotFound => Some(InputProblem::Missing),
            io::ErrorKind::PermissionDenied => Some(InputProblem::PermissionDenied),
            _ if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
                Some(InputProblem::SymlinkLoop)
            }
            _ => None,
        }
    }
}

/// Checks that the live log `live` is a regular file this process can open. A missing live
/// log is fine when rotated siblings exist (between a rotation and the daemon's reopen).
pub fn check_live(live: &Path, siblings: &[LogFile]) -> Result<(), InputProblem> {
    let meta = match fs::metadata(live) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !siblings.is_empty() => return Ok(()),
        Err(e) => return Err(InputProblem::of(&e).unwrap_or(InputProblem::Missing)),
    };
    if meta.is_dir() {
        return Err(InputProblem::Directory);
    }
    if !meta.is_file() {
        return Err(InputProblem::NotRegular);
    }
    match File::open(live) {
        Ok(_) => Ok(()),
        Err(e) => match InputProblem::of(&e) {
            Some(p) => Err(p),
            None => Ok(()), // other errors surface when the file is read
        },
    }
}

/// A file opened for reading: its identity and a reader of its decompressed bytes positioned
/// at the requested offset.
pub struct OpenedLog {
    pub fingerprint: String,
    pub gzip: bool,
    /// Decompressed bytes in the file when that is cheap to know (plain files).
    pub plain_len: Option<u64>,
    pub modified: Option<std::time::SystemTime>,
    file: File,
}

/// FNV-1a 64 of the first line, with its length: stable across runs and versions.
fn fingerprint_of(first_line: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in first_line {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}-{}", first_line.len())
}

/// Lines of leading banners the fingerprint may cover before the first stamped line.
const FINGERPRINT_LINES: usize = 8;

/// The content a file is identified by: after leading NUL bytes and empty lines (what a file
/// system leaves after a crash, or a blank first line, is the same in every file), the first
/// complete line that starts with a timestamp, with the unstamped lines before it (a fixed
/// banner is the same in every file too), at most `FINGERPRINT_LINES` lines or
/// `FINGERPRINT_SPAN` bytes. A file that starts with a stamped line is identified by that line
/// alone, as before; a file without a stamped line so far (a banner alone, a log without
/// stamps) by its first line alone, so that its identity stays put as it grows. `None` while
/// that content is not complete yet: such a file cannot be identified, and is read once it can.
fn identity_content(reader: impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut r = BufReader::with_capacity(64 * 1024, reader);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let blank = buf
            .iter()
            .take_while(|&&b| matches!(b, 0 | b'\n' | b'\r'))
            .count();
        let more = blank == buf.len();
        r.consume(blank);
        if !more {
            break;
        }
    }
    let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2000));
    let mut covered = Vec::new();
    let mut first_len = 0;
    for _ in 0..FINGERPRINT_LINES {
        let room = (FINGERPRINT_SPAN - covered.len()) as u64;
        let mut line = Vec::new();
        (&mut r).take(room).read_until(b'\n', &mut line)?;
        if line.is_empty() && !covered.is_empty() {
            break; // only unstamped lines so far
        }
        let complete = line.ends_with(b"\n");
        if complete {
            line.pop();
        }
        if !covered.is_empty() {
            covered.push(b'\n');
        }
        covered.extend_from_slice(&line);
        if first_len == 0 {
            first_len = covered.len();
        }
        if covered.len() >= FINGERPRINT_SPAN {
            return Ok(Some(covered));
        }
        if !complete {
            return Ok(None);
        }
        if parse_leading(&line, &mut clock).is_some() {
            return Ok(Some(covered));
        }
    }
    covered.truncate(first_len);
    Ok(Some(covered))
}

impl OpenedLog {
    /// Opens `path` and identifies it. `Ok(None)`: the file has no complete first line yet.
    pub fn open(path: &Path) -> io::Result<Option<OpenedLog>> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let mut magic = [0u8; 2];
        let n = read_full(&mut file, &mut magic)?;
        let gzip = n == 2 && magic == [0x1f, 0x8b];
        file.seek(SeekFrom::Start(0))?;
        let first = if gzip {
            identity_content(MultiGzDecoder::new(&file))
        } else {
            identity_content(&file)
        };
        // A gzip file still being written fails to decode: not identifiable yet.
        let first = match first {
            Ok(f) => f,
            Err(_) if gzip => None,
            Err(e) => return Err(e),
        };
        Ok(first.map(|line| OpenedLog {
            fingerprint: fingerprint_of(&line),
            gzip,
            plain_len: (!gzip).then_some(meta.len()),
            modified: meta.modified().ok(),
            file,
        }))
    }

    /// A reader of the decompressed bytes from `offset` on. Plain files seek; gzip files are
    /// decompressed from the start and the first `offset` bytes dropped. Fails with
    /// `UnexpectedEof` when the file holds fewer than `offset` bytes.
    pub fn reader_at(mut self, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        self.file.seek(SeekFrom::Start(0))?;
        if !self.gzip {
            if self.plain_len.is_some_and(|len| len < offset) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file is shorter than its checkpoint",
                ));
            }
            self.file.seek(SeekFrom::Start(offset))?;
            return Ok(Box::new(self.file));
        }
        let mut decoder = MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, self.file));
        let skipped = io::copy(&mut (&mut decoder).take(offset), &mut io::sink())?;
        if skipped < offset {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file is shorter than its checkpoint",
            ));
        }
        Ok(Box::new(decoder))
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn names(files: &[LogFile]) -> Vec<String> {
        files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn rotation_order_is_oldest_first_numerically() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "mail.log",
            "mail.log.1",
            "mail.log.2.gz",
            "mail.log.10.gz",
            "mail.log.3.gz",
            "mail.log.bak",
            "mail.logger",
            "mail.log.1.bz2",
            "mail.err",
        ] {
            fs::write(dir.path().join(name), b"x\n").unwrap();
        }
        let files = discover(&dir.path().join("mail.log")).unwrap();
        assert_eq!(
            names(&files),
            [
                "mail.log.10.gz",
                "mail.log.3.gz",
                "mail.log.2.gz",
                "mail.log.1",
                "mail.log"
            ]
        );
        assert!(files[..4].iter().all(|f| f.rotated) && !files[4].rotated);
    }

    #[test]
    fn dateext_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "mail.log-20251123.gz",
            "mail.log-20251130",
            "mail.log-20251116.gz",
        ] {
            fs::write(dir.path().join(name), b"x\n").unwrap();
        }
        let files = discover(&dir.path().join("mail.log")).unwrap();
        assert_eq!(
            names(&files),
            [
                "mail.log-20251116.gz",
                "mail.log-20251123.gz",
                "mail.log-20251130"
            ]
        );
    }

    #[test]
    fn a_file_keeps_its_identity_when_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"Nov 23 06:25:01 mx1 first line\nsecond\nthird\n";
        fs::write(dir.path().join("mail.log.1"), content).unwrap();
        fs::write(dir.path().join("mail.log.2.gz"), gz(content)).unwrap();
        let plain = OpenedLog::open(&dir.path().join("mail.log.1"))
            .unwrap()
            .unwrap();
        let packed = OpenedLog::open(&dir.path().join("mail.log.2.gz"))
            .unwrap()
            .unwrap();
        assert_eq!(plain.fingerprint, packed.fingerprint);
        assert!(packed.gzip && !plain.gzip);
        let mut rest = String::new();
        packed
            .reader_at(31)
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        assert_eq!(rest, "second\nthird\n");
        let mut rest = String::new();
        plain
            .reader_at(31)
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        assert_eq!(rest, "second\nthird\n");
    }

    #[test]
    fn different_first_lines_are_different_files() {
        assert_ne!(fingerprint_of(b"a"), fingerprint_of(b"b"));
        assert_ne!(fingerprint_of(b""), fingerprint_of(b"\0"));
    }

    #[test]
    fn identity_skips_blank_and_nul_prefixes_and_covers_banners() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mail.log");
        let fp = |content: &[u8]| {
            fs::write(&p, content).unwrap();
            OpenedLog::open(&p).unwrap().map(|o| o.fingerprint)
        };
        let a = b"Nov 23 06:25:01 mx1 a\n".to_vec();
        let b = b"Nov 23 06:25:02 mx1 b\n".to_vec();
        let plain = fp(&a).unwrap();
        // A file that starts with a stamped line keeps the fingerprint of that line.
        assert_eq!(plain, fingerprint_of(&a[..a.len() - 1]));
        for prefix in [b"\n".to_vec(), b"\r\n\n".to_vec(), vec![0u8; 70 * 1024]] {
            let with = |l: &[u8]| [&prefix[..], l].concat();
            assert_eq!(fp(&with(&a)).unwrap(), plain);
            assert_ne!(fp(&with(&a)), fp(&with(&b)));
            assert_eq!(fp(&prefix), None);
        }
        let banner = b"=== mail log of mx1 ===\n";
        assert_ne!(
            fp(&[&banner[..], &a].concat()),
            fp(&[&banner[..], &b].concat())
        );
        // Stable as the file grows past the stamped line.
        assert_eq!(
            fp(&[&banner[..], &a].concat()),
            fp(&[&banner[..], &a, &b].concat())
        );
        // A log without stamps keeps the identity of its first line as it grows (as before
        // this rule), past the lines a banner may cover too.
        let bare = |n: usize| -> Vec<u8> {
            (0..n)
                .flat_map(|i| format!("dovecot: line {i}\n").into_bytes())
                .collect()
        };
        let first = fp(&bare(1)).unwrap();
        assert_eq!(first, fingerprint_of(b"dovecot: line 0"));
        for n in [2, 7, 8, 9, 20] {
            assert_eq!(fp(&bare(n)).unwrap(), first, "{n} lines");
        }
        // A banner followed by a line still being written: not identifiable yet.
        assert_eq!(fp(&[&banner[..], b"Nov 23 06:2"].concat()), None);
    }

    #[test]
    fn incomplete_first_line_is_not_identifiable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mail.log");
        fs::write(&p, b"no newline yet").unwrap();
        assert!(OpenedLog::open(&p).unwrap().is_none());
        fs::write(&p, b"").unwrap();
        assert!(OpenedLog::open(&p).unwrap().is_none());
        let cut = gz(b"line one\nline two\n");
        fs::write(&p, &cut[..12]).unwrap();
        assert!(OpenedLog::open(&p).unwrap().is_none());
    }

    #[test]
    fn offset_past_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mail.log");
        fs::write(&p, b"short\n").unwrap();
        let o = OpenedLog::open(&p).unwrap().unwrap();
        assert_eq!(
            o.reader_at(100).err().unwrap().kind(),
            io::ErrorKind::UnexpectedEof
        );
        fs::write(&p, gz(b"short\n")).unwrap();
        let o = OpenedLog::open(&p).unwrap().unwrap();
        assert_eq!(
            o.reader_at(100).err().unwrap().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}

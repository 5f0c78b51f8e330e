//! The journald source, for hosts without a mail log file (Debian 12+ without rsyslog): runs
//! `journalctl -o json` after a stored cursor and turns each entry back into a syslog line
//! (`RFC3339 host identifier: message`) for the same pipeline as files.
//!
//! Exactly-once like files: the cursor of the last entry handed out is committed with the
//! events it produced. Not here: deciding when to commit (the run loop).

use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde::Deserialize;

use crate::envelope::timestamp::EventTime;

/// Which journal and which entries to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalQuery {
    /// The `journalctl` binary.
    pub journalctl: PathBuf,
    /// Read journal files from this directory instead of the system journal.
    pub directory: Option<PathBuf>,
    /// `SYSLOG_IDENTIFIER`s to read (`postfix/smtpd`, `dovecot`...); empty = `units`.
    pub identifiers: Vec<String>,
    /// systemd units, used when no identifier is given.
    pub units: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot run {command}: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("reading journalctl output: {0}")]
    Read(#[from] io::Error),
    #[error("journalctl failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("journalctl --follow ended")]
    Ended,
}

/// One journal entry as a syslog line, and its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub line: Vec<u8>,
    pub cursor: String,
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(rename = "__CURSOR")]
    cursor: String,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<String>,
    #[serde(rename = "_HOSTNAME")]
    hostname: Option<String>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    identifier: Option<String>,
    #[serde(rename = "MESSAGE")]
    message: Option<Message>,
}

/// journald gives MESSAGE as a string, or as an array of bytes when it is not UTF-8.
#[derive(Deserialize)]
#[serde(untagged)]
enum Message {
    Text(String),
    Bytes(Vec<u8>),
}

impl JournalQuery {
    fn command(&self, after: Option<&str>, mode: Mode) -> Command {
        let mut c = Command::new(&self.journalctl);
        // --all: without it journalctl prints fields over 4 KiB as null, and the message is lost.
        c.args(["-o", "json", "--all", "--no-pager", "-q"]);
        // --no-tail: else --follow without a cursor starts at the last 10 entries.
        if mode == Mode::Follow {
            c.args(["--follow", "--no-tail"]);
            // A follow killed with -9 leaves no journalctl behind (it would wait for the next
            // entry to find its pipe closed). Follow spawns it from its main thread, whose end
            // is the process's.
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl only, async-signal-safe, between fork and exec.
            unsafe {
                c.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                        .map_err(io::Error::from)
                });
            }
        }
        let tail_only = mode == Mode::Last;
        if let Some(dir) = &self.directory {
            c.arg("--directory").arg(dir);
        }
        if tail_only {
            c.args(["-n", "1"]);
        } else if let Some(cursor) = after {
            c.arg("--after-cursor").arg(cursor);
        }
        if self.identifiers.is_empty() {
            for u in &self.units {
                c.arg("-u").arg(u);
            }
        } else {
            for id in &self.identifiers {
                c.arg("-t").arg(id);
            }
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn spawn(&self, after: Option<&str>, mode: Mode) -> Result<JournalReader, JournalError> {
        let mut cmd = self.command(after, mode);
        let mut child = cmd.spawn().map_err(|source| JournalError::Spawn {
            command: self.journalctl.display().to_string(),
            source,
        })?;
        let stdout = child.stdout.take().expect("piped stdout");
        // Read on a thread of its own: a journalctl whose stderr pipe is full blocks.
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = io::Read::read(&mut e, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    text.extend_from_slice(&buf[..n]);
                    // Keep the end, where the reason is, within bounds.
                    if text.len() > STDERR_KEPT * 2 {
                        text.drain(..text.len() - STDERR_KEPT);
                    }
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        });
        Ok(JournalReader {
            child,
            lines: BufReader::with_capacity(256 * 1024, stdout),
            buf: Vec::new(),
            stderr,
            unparseable: 0,
        })
    }

    /// Entries after `cursor` (all of them when `None`), oldest first.
    pub fn read_after(&self, cursor: Option<&str>) -> Result<JournalReader, JournalError> {
        self.spawn(cursor, Mode::ToEnd)
    }

    /// Entries after `cursor` as they are written (`journalctl --follow`), read on a thread of
    /// its own into a bounded queue.
    pub fn follow_after(&self, cursor: Option<&str>) -> Result<JournalFollower, JournalError> {
        let mut reader = self.spawn(cursor, Mode::Follow)?;
        let pid = reader.child.id();
        let (tx, rx) = std::sync::mpsc::sync_channel(FOLLOW_QUEUE);
        std::thread::Builder::new()
            .name("mls-journal".into())
            .spawn(move || {
                let end = loop {
                    match reader.next_entry() {
                        // The follower is gone (dropped): stop.
                        Ok(Some(e)) => {
                            if tx.send(Ok(e)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break reader.finish().err().unwrap_or(JournalError::Ended),
                        Err(e) => break e,
                    }
                };
                let _ = tx.send(Err(end));
            })?;
        Ok(JournalFollower {
            rx,
            pending: None,
            pid,
        })
    }

    /// The cursor of the newest matching entry (for `--from-end`), `None` for an empty journal.
    pub fn last_cursor(&self) -> Result<Option<String>, JournalError> {
        let mut r = self.spawn(None, Mode::Last)?;
        let mut last = None;
        while let Some(e) = r.next_entry()? {
            last = Some(e.cursor);
        }
        r.finish()?;
        Ok(last)
    }
}

/// How journalctl is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// To the end of the journal.
    ToEnd,
    /// The newest entry only.
    Last,
    /// To the end, then entries as they are written.
    Follow,
}

/// Entries read ahead by a follower's thread before it waits for the passes to take them.
const FOLLOW_QUEUE: usize = 50_000;

/// A running `journalctl --follow`: entries as journald writes them; killed when dropped.
pub struct JournalFollower {
    rx: std::sync::mpsc::Receiver<Result<JournalEntry, JournalError>>,
    pending: Option<Result<JournalEntry, JournalError>>,
    pid: u32,
}

impl JournalFollower {
    /// Waits at most `timeout` for an entry; whether one (or the end) has arrived.
    pub fn wait(&mut self, timeout: std::time::Duration) -> bool {
        if self.pending.is_none() {
            self.pending = self.rx.recv_timeout(timeout).ok();
        }
        self.pending.is_some()
    }

    /// The next entry that has arrived, `Ok(None)` when none has; an error when journalctl
    /// ended (it never does while the journal is there: a failure).
    pub fn try_next(&mut self) -> Result<Option<JournalEntry>, JournalError> {
        match self.pending.take().or_else(|| self.rx.try_recv().ok()) {
            Some(next) => next.map(Some),
            None => Ok(None),
        }
    }
}

impl Drop for JournalFollower {
    fn drop(&mut self) {
        // The reading thread then sees the end of the pipe, and its reader reaps the child.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// Bytes of journalctl's stderr kept for the error message.
const STDERR_KEPT: usize = 16 * 1024;

/// A running `journalctl`, read entry by entry; killed when dropped before its end.
pub struct JournalReader {
    child: Child,
    lines: BufReader<ChildStdout>,
    buf: Vec<u8>,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// Entries that were not a JSON object with a cursor: skipped, and counted here.
    pub unparseable: u64,
}

impl Drop for JournalReader {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl JournalReader {
    /// The next entry; `Ok(None)` at the end. Entries that are not valid JSON objects (never
    /// seen from journalctl) are skipped and counted in `unparseable`.
    pub fn next_entry(&mut self) -> Result<Option<JournalEntry>, JournalError> {
        loop {
            self.buf.clear();
            if self.lines.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            match serde_json::from_slice::<RawEntry>(&self.buf) {
                Ok(raw) => return Ok(Some(to_line(raw))),
                Err(_) => self.unparseable += 1,
            }
        }
    }

    /// Waits for journalctl and reports its failure, if it failed.
    pub fn finish(mut self) -> Result<(), JournalError> {
        if self.unparseable > 0 {
            log::warn!(
                "journal: {} entries were not JSON objects with a cursor and were skipped",
                self.unparseable
            );
        }
        let status = self.child.wait()?;
        if status.success() {
            return Ok(());
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        Err(JournalError::Failed {
            status: status.to_string(),
            stderr: stderr.trim().to_owned(),
        })
    }
}

fn to_line(raw: RawEntry) -> JournalEntry {
    let mut line = Vec::with_capacity(256);
    if let Some(micros) = raw.realtime.and_then(|r| r.parse::<i64>().ok()) {
        let t = EventTime {
            unix: micros.div_euclid(1_000_000),
            nanos: (micros.rem_euclid(1_000_000) * 1000) as u32,
            offset_secs: 0,
        };
        line.extend_from_slice(t.rfc3339_utc().to_string().as_bytes());
        line.push(b' ');
        // The envelope needs a host field between the stamp and the tag.
        line.extend_from_slice(raw.hostname.as_deref().unwrap_or("localhost").as_bytes());
        line.push(b' ');
    }
    if let Some(id) = &raw.identifier {
        line.extend_from_slice(id.as_bytes());
        line.extend_from_slice(b": ");
    }
    match raw.message {
        Some(Message::Text(t)) => line.extend_from_slice(t.as_bytes()),
        Some(Message::Bytes(b)) => line.extend_from_slice(&b),
        None => {}
    }
    // A multi-line message stays one line for the detectors.
    for b in &mut line {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    JournalEntry {
        line,
        cursor: raw.cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> JournalEntry {
        to_line(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn entry_becomes_a_syslog_line() {
        let e = entry(
            r#"{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1764000004123456","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"postfix/smtpd","MESSAGE":"warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x"}"#,
        );
        assert_eq!(
            String::from_utf8(e.line).unwrap(),
            "2025-11-24T16:00:04.123456Z mx1 postfix/smtpd: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x"
        );
        assert_eq!(e.cursor, "s=1;i=2");
    }

    #[test]
    fn binary_and_multiline_messages() {
        let e = entry(r#"{"__CURSOR":"c","SYSLOG_IDENTIFIER":"dovecot","MESSAGE":[97,255,10,98]}"#);
        assert_eq!(e.line, b"dovecot: a\xff b");
    }

    /// A stand-in `journalctl` running `script` (a real process, with real pipes).
    fn fake(dir: &std::path::Path, script: &str) -> JournalQuery {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("journalctl");
        std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        JournalQuery {
            journalctl: path,
            directory: None,
            identifiers: vec!["dovecot".into()],
            units: Vec::new(),
        }
    }

    #[test]
    fn a_chatty_failing_journalctl_does_not_block_and_bad_entries_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let q = fake(
            dir.path(),
            r#"case " $* " in *" --all "*) ;; *) echo "no --all" >&2; exit 3;; esac
head -c 300000 /dev/zero | tr '\000' e >&2
echo '{"__CURSOR":"c1","SYSLOG_IDENTIFIER":"dovecot","MESSAGE":"x"}'
echo 'not json'
echo '{"__CURSOR":"c2","MESSAGE":"y"}'
echo "the end" >&2
exit 1
"#,
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = q.read_after(None).unwrap();
            let mut cursors = Vec::new();
            while let Some(e) = r.next_entry().unwrap() {
                cursors.push(e.cursor);
            }
            let unparseable = r.unparseable;
            let _ = tx.send((cursors, unparseable, r.finish()));
        });
        let (cursors, unparseable, end) = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("journalctl blocked on its full stderr pipe");
        assert_eq!(cursors, ["c1", "c2"]);
        assert_eq!(unparseable, 1);
        match end {
            Err(JournalError::Failed { stderr, .. }) => {
                assert!(
                    stderr.ends_with("eethe end"),
                    "{}",
                    &stderr[stderr.len() - 20..]
                );
                assert!(stderr.len() <= 2 * STDERR_KEPT);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_dropped_reader_kills_journalctl() {
        let dir = tempfile::tempdir().unwrap();
        let q = fake(
            dir.path(),
            "echo '{\"__CURSOR\":\"c1\"}'\nexec sleep 1000\n",
        );
        let mut r = q.read_after(None).unwrap();
        assert_eq!(r.next_entry().unwrap().unwrap().cursor, "c1");
        let pid = r.child.id();
        drop(r);
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "journalctl {pid} still runs"
        );
    }

    #[test]
    fn query_arguments() {
        let q = JournalQuery {
            journalctl: "journalctl".into(),
            directory: Some("/tmp/j".into()),
            identifiers: vec!["postfix/smtpd".into(), "dovecot".into()],
            units: vec!["postfix.service".into()],
        };
        let c = q.command(Some("abc"), Mode::ToEnd);
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-o",
                "json",
                "--all",
                "--no-pager",
                "-q",
                "--directory",
                "/tmp/j",
                "--after-cursor",
                "abc",
                "-t",
                "postfix/smtpd",
                "-t",
                "dovecot"
            ]
        );
        let follow: Vec<_> = q
            .command(None, Mode::Follow)
            .get_args()
            .map(|a| a.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(follow[5..7], ["--follow", "--no-tail"]);
        assert!(!follow.contains(&"--after-cursor".to_owned()));
    }

    #[test]
    fn a_follower_hands_out_entries_as_they_come_and_is_killed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let q = fake(
            dir.path(),
            "echo '{\"__CURSOR\":\"c1\"}'\nsleep 0.3\necho '{\"__CURSOR\":\"c2\"}'\nexec sleep 1000\n",
        );
        let mut f = q.follow_after(None).unwrap();
        assert!(f.wait(std::time::Duration::from_secs(10)));
        assert_eq!(f.try_next().unwrap().unwrap().cursor, "c1");
        assert_eq!(f.try_next().unwrap(), None, "c2 is not written yet");
        assert!(f.wait(std::time::Duration::from_secs(10)));
        assert_eq!(f.try_next().unwrap().unwrap().cursor, "c2");
        assert!(!f.wait(std::time::Duration::from_millis(100)));
        let pid = f.pid;
        drop(f);
        let gone = std::time::Instant::now();
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(gone.elapsed().as_secs() < 10, "journalctl {pid} still runs");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

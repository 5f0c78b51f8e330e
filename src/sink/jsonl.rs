//! JSON Lines: one object per event, the format `parse --format jsonl` and exports share.
//!
//! Fields: `time` (RFC 3339 UTC, null without header), `offset`, `server`, `service`,
//! `protocol`, `outcome`, `ip`, `user` (null when none), `mechanism`, `reason`, `attempts`,
//! `session`; `user_hex` holds the exact bytes when the name is not valid UTF-8. The export
//! of the default run adds the enrichment: `hostname`, `reverse_dns_status`, `ptr_confirmed`,
//! `country_code`, `asn` (a number), `aso` (null when unknown).
//!
//! Written by hand rather than through a serialisable struct: this is the hot end of `parse`,
//! and the fields need no intermediate strings.

use std::io::{self, Write};
use std::path::Path;

use super::{AppendFile, EventSink, Repair};
use crate::event::AuthEvent;
use crate::store::Enrichment;

pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        JsonlSink { out }
    }
}

/// Writes `s` as a JSON string; control characters, quotes and backslashes are escaped.
fn string(out: &mut impl Write, s: &str) -> io::Result<()> {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        serde_json::to_writer(&mut *out, s)?;
        return Ok(());
    }
    out.write_all(b"\"")?;
    out.write_all(s.as_bytes())?;
    out.write_all(b"\"")
}

fn opt_string(out: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => string(out, s),
        None => out.write_all(b"null"),
    }
}

/// The event's fields, from the opening brace, without the closing one.
fn write_fields(out: &mut impl Write, e: &AuthEvent) -> io::Result<()> {
    match e.time {
        Some(t) => write!(
            out,
            "{{\"time\":\"{}\",\"offset\":\"{}\"",
            t.rfc3339_utc(),
            t.offset_string()
        )?,
        None => out.write_all(b"{\"time\":null,\"offset\":null")?,
    }
    out.write_all(b",\"server\":")?;
    opt_string(out, e.server.as_deref())?;
    write!(
        out,
        ",\"service\":\"{}\",\"protocol\":\"{}\",\"outcome\":\"{}\",\"ip\":\"{}\",\"user\":",
        e.service.as_str(),
        e.protocol.as_str(),
        e.outcome.as_str(),
        e.ip
    )?;
    match e.user.as_deref() {
        None => out.write_all(b"null")?,
        Some(u) => match std::str::from_utf8(u) {
            Ok(s) => string(out, s)?,
            Err(_) => {
                string(out, &String::from_utf8_lossy(u))?;
                out.write_all(b",\"user_hex\":\"")?;
                for b in u {
                    write!(out, "{b:02x}")?;
                }
                out.write_all(b"\"")?;
            }
        },
    }
    out.write_all(b",\"mechanism\":")?;
    opt_string(out, e.mechanism.as_deref())?;
    out.write_all(b",\"reason\":")?;
    opt_string(out, e.reason.as_deref())?;
    write!(out, ",\"attempts\":{},\"session\":", e.attempts)?;
    opt_string(out, e.session.as_deref())
}

/// The enrichment fields, each with its leading comma.
fn write_enrichment(out: &mut impl Write, en: &Enrichment) -> io::Result<()> {
    out.write_all(b",\"hostname\":")?;
    opt_string(out, en.hostname.as_deref())?;
    out.write_all(b",\"reverse_dns_status\":")?;
    opt_string(out, en.reverse_dns_status.as_deref())?;
    match en.ptr_confirmed {
        Some(c) => write!(out, ",\"ptr_confirmed\":{c}")?,
        None => out.write_all(b",\"ptr_confirmed\":null")?,
    }
    out.write_all(b",\"country_code\":")?;
    opt_string(out, en.country_code.as_deref())?;
    match en.asn.as_deref().and_then(|a| a.parse::<u32>().ok()) {
        Some(n) => write!(out, ",\"asn\":{n}")?,
        None => out.write_all(b",\"asn\":null")?,
    }
    out.write_all(b",\"aso\":")?;
    opt_string(out, en.aso.as_deref())
}

impl<W: Write> EventSink for JsonlSink<W> {
    fn write(&mut self, e: &AuthEvent) -> io::Result<()> {
        write_fields(&mut self.out, e)?;
        self.out.write_all(b"}\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The JSON Lines export of the default run (`--jsonl PATH`, `[paths] jsonl_export`):
/// exactly-once like the CSV, through an [`AppendFile`].
pub struct JsonlExport {
    file: AppendFile,
}

impl JsonlExport {
    pub fn open(path: &Path, committed: Option<u64>) -> io::Result<(JsonlExport, Repair)> {
        let (file, repair) = AppendFile::open(path, committed)?;
        Ok((JsonlExport { file }, repair))
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn len(&self) -> u64 {
        self.file.len()
    }

    /// Cuts the file back to `len` after a failed commit (see [`AppendFile::cut_back`]).
    pub fn cut_back(&mut self, len: u64) -> io::Result<()> {
        self.file.cut_back(len)
    }

    pub fn is_empty(&self) -> bool {
        self.file.is_empty()
    }

    /// Appends the events with their enrichment and syncs; returns the length to commit.
    pub fn append<'e>(
        &mut self,
        rows: impl ExactSizeIterator<Item = (&'e AuthEvent, &'e Enrichment)>,
    ) -> io::Result<u64> {
        let mut out = Vec::with_capacity(rows.len() * 320);
        for (e, en) in rows {
            write_fields(&mut out, e)?;
            write_enrichment(&mut out, en)?;
            out.write_all(b"}\n")?;
        }
        self.file.append(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::timestamp::EventTime;
    use crate::event::{Outcome, Protocol, Service};

    fn line(e: &AuthEvent) -> serde_json::Value {
        let mut sink = JsonlSink::new(Vec::new());
        sink.write(e).unwrap();
        let text = String::from_utf8(sink.out).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "one line: {text}");
        serde_json::from_str(&text).unwrap()
    }

    fn event() -> AuthEvent {
        AuthEvent {
            time: Some(EventTime {
                unix: 1_764_000_000,
                nanos: 500_000_000,
                offset_secs: -3600,
            }),
            server: Some("mx1".into()),
            service: Service::Dovecot,
            protocol: Protocol::Imap,
            outcome: Outcome::Failure,
            ip: "2001:db8::1".parse().unwrap(),
            user: Some(b"bob".to_vec()),
            mechanism: Some("PLAIN".into()),
            reason: Some("auth failed".into()),
            attempts: 3,
            session: Some("abc".into()),
        }
    }

    #[test]
    fn every_field_is_written() {
        let v = line(&event());
        assert_eq!(v["time"], "2025-11-24T16:00:00.5Z");
        assert_eq!(v["offset"], "-01:00");
        assert_eq!(v["server"], "mx1");
        assert_eq!(v["service"], "dovecot");
        assert_eq!(v["protocol"], "imap");
        assert_eq!(v["outcome"], "failure");
        assert_eq!(v["ip"], "2001:db8::1");
        assert_eq!(v["user"], "bob");
        assert_eq!(v["mechanism"], "PLAIN");
        assert_eq!(v["reason"], "auth failed");
        assert_eq!(v["attempts"], 3);
        assert_eq!(v["session"], "abc");
        assert!(v.get("user_hex").is_none());
    }

    #[test]
    fn hostile_and_missing_values() {
        let mut e = event();
        e.time = None;
        e.server = None;
        let name = b"a\"b\\c\nd\x1b[31m\xff".to_vec();
        e.user = Some(name.clone());
        e.reason = Some("x\"}{\"injected\":1".into());
        let v = line(&e);
        assert!(v["time"].is_null() && v["server"].is_null());
        assert_eq!(v["user"], "a\"b\\c\nd\u{1b}[31m\u{fffd}");
        let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(v["user_hex"], hex.as_str());
        assert_eq!(v["reason"], "x\"}{\"injected\":1");
        e.user = None;
        assert!(line(&e)["user"].is_null());
    }

    #[test]
    fn the_export_carries_the_enrichment() {
        let dir = tempfile::tempdir().unwrap();
        let (mut x, _) = JsonlExport::open(&dir.path().join("e.jsonl"), None).unwrap();
        let e = event();
        let full = Enrichment {
            hostname: Some("h.example".into()),
            reverse_dns_status: Some("OK".into()),
            ptr_confirmed: Some(false),
            country_code: Some("FR".into()),
            asn: Some("64500".into()),
            aso: Some("Org \"x\"\n".into()),
        };
        let none = Enrichment::default();
        x.append([(&e, &full), (&e, &none)].into_iter()).unwrap();
        let text = std::fs::read_to_string(x.path()).unwrap();
        let v: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["user"], "bob");
        assert_eq!(v[0]["hostname"], "h.example");
        assert_eq!(v[0]["reverse_dns_status"], "OK");
        assert_eq!(v[0]["ptr_confirmed"], false);
        assert_eq!(v[0]["country_code"], "FR");
        assert_eq!(v[0]["asn"], 64500);
        assert_eq!(v[0]["aso"], "Org \"x\"\n");
        for k in [
            "hostname",
            "reverse_dns_status",
            "ptr_confirmed",
            "country_code",
            "asn",
            "aso",
        ] {
            assert!(v[1][k].is_null(), "{k}");
        }
    }
}

//! JSON Lines: one object per event, the format `parse --format jsonl` and exports share.
//!
//! Fields: `time` (RFC 3339 UTC, null without header), `offset`, `server`, `service`,
//! `protocol`, `outcome`, `ip`, `user` (null when none), `mechanism`, `reason`, `attempts`,
//! `session`; `user_hex` holds the exact bytes when the name is not valid UTF-8.

use std::io::{self, Write};

use serde::Serialize;

use super::EventSink;
use crate::event::AuthEvent;

pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        JsonlSink { out }
    }
}

#[derive(Serialize)]
struct Row<'a> {
    time: Option<String>,
    offset: Option<String>,
    server: Option<&'a str>,
    service: &'static str,
    protocol: &'static str,
    outcome: &'static str,
    ip: String,
    user: Option<std::borrow::Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_hex: Option<String>,
    mechanism: Option<&'a str>,
    reason: Option<&'a str>,
    attempts: u32,
    session: Option<&'a str>,
}

fn row(e: &AuthEvent) -> Row<'_> {
    let user_hex = e
        .user
        .as_deref()
        .filter(|u| std::str::from_utf8(u).is_err())
        .map(|u| u.iter().map(|b| format!("{b:02x}")).collect());
    Row {
        time: e.time.map(|t| t.rfc3339_utc().to_string()),
        offset: e.time.map(|t| t.offset_string()),
        server: e.server.as_deref(),
        service: e.service.as_str(),
        protocol: e.protocol.as_str(),
        outcome: e.outcome.as_str(),
        ip: e.ip.to_string(),
        user: e.user.as_deref().map(String::from_utf8_lossy),
        user_hex,
        mechanism: e.mechanism.as_deref(),
        reason: e.reason.as_deref(),
        attempts: e.attempts,
        session: e.session.as_deref(),
    }
}

impl<W: Write> EventSink for JsonlSink<W> {
    fn write(&mut self, e: &AuthEvent) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &row(e))?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

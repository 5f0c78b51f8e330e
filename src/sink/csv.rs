//! CSV (`;`-separated, the old tool's dialect) with cells neutralised against spreadsheet
//! formula injection (OWASP "CSV injection").

use std::borrow::Cow;
use std::io::{self, Write};

use super::EventSink;
use crate::event::AuthEvent;

pub const HEADER: &str = "time;server;service;protocol;outcome;ip;user;mechanism;reason;attempts";

/// Makes an attacker-controlled value safe as one `;`-separated cell: a leading `= + - @`,
/// tab or CR gets a `'` so spreadsheets show it as text, and a cell holding `;`, `"`, CR or
/// LF is quoted with inner quotes doubled.
pub fn neutralise_cell(value: &str) -> Cow<'_, str> {
    let formula = value
        .as_bytes()
        .first()
        .is_some_and(|c| matches!(c, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    let quote = value.contains([';', '"', '\n', '\r']);
    if !formula && !quote {
        return Cow::Borrowed(value);
    }
    let mut cell = String::with_capacity(value.len() + 4);
    if quote {
        cell.push('"');
    }
    if formula {
        cell.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            cell.push('"');
        }
        cell.push(c);
    }
    if quote {
        cell.push('"');
    }
    Cow::Owned(cell)
}

pub struct CsvSink<W: Write> {
    out: W,
    header_written: bool,
}

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> Self {
        CsvSink {
            out,
            header_written: false,
        }
    }
}

impl<W: Write> EventSink for CsvSink<W> {
    fn write(&mut self, e: &AuthEvent) -> io::Result<()> {
        if !self.header_written {
            writeln!(self.out, "{HEADER}")?;
            self.header_written = true;
        }
        let user = e.user.as_deref().map(String::from_utf8_lossy);
        let cells = [
            e.time
                .map(|t| t.rfc3339_utc().to_string())
                .unwrap_or_default(),
            e.server.clone().unwrap_or_default(),
            e.service.as_str().to_owned(),
            e.protocol.as_str().to_owned(),
            e.outcome.as_str().to_owned(),
            e.ip.to_string(),
            user.map(Cow::into_owned).unwrap_or_default(),
            e.mechanism.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.attempts.to_string(),
        ];
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b";")?;
            }
            self.out.write_all(neutralise_cell(cell).as_bytes())?;
        }
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.header_written {
            writeln!(self.out, "{HEADER}")?;
            self.header_written = true;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_and_separators_are_neutralised() {
        assert_eq!(neutralise_cell("alice"), "alice");
        assert_eq!(neutralise_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(neutralise_cell("+1"), "'+1");
        assert_eq!(neutralise_cell("-1"), "'-1");
        assert_eq!(neutralise_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise_cell("\tx"), "'\tx");
        assert_eq!(neutralise_cell("a;b"), "\"a;b\"");
        assert_eq!(neutralise_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(neutralise_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(neutralise_cell("=a;b"), "\"'=a;b\"");
    }
}

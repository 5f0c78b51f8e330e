//! An aligned table for people at a terminal; every cell passes through `printable`.

use std::io::{self, Write};

use super::{EventSink, printable};
use crate::event::AuthEvent;

const COLUMNS: [&str; 8] = [
    "time", "server", "protocol", "outcome", "ip", "user", "attempts", "reason",
];

/// Longest cell shown; longer values are cut with `…` so one hostile name cannot push the
/// table off the screen.
const MAX_CELL: usize = 48;

pub struct TableSink<W: Write> {
    out: W,
    rows: Vec<[String; 8]>,
}

impl<W: Write> TableSink<W> {
    pub fn new(out: W) -> Self {
        TableSink {
            out,
            rows: Vec::new(),
        }
    }
}

pub fn cut(s: String) -> String {
    if s.chars().count() <= MAX_CELL {
        return s;
    }
    let mut c: String = s.chars().take(MAX_CELL - 1).collect();
    c.push('…');
    c
}

impl<W: Write> EventSink for TableSink<W> {
    fn write(&mut self, e: &AuthEvent) -> io::Result<()> {
        let opt =
            |v: Option<&[u8]>| v.map_or_else(|| "-".to_owned(), |b| cut(printable(b).into_owned()));
        self.rows.push([
            e.time
                .map_or_else(|| "-".to_owned(), |t| t.rfc3339_utc().to_string()),
            opt(e.server.as_deref().map(str::as_bytes)),
            format!("{}/{}", e.service.as_str(), e.protocol.as_str()),
            e.outcome.as_str().to_owned(),
            e.ip.to_string(),
            opt(e.user.as_deref()),
            e.attempts.to_string(),
            opt(e.reason.as_deref().map(str::as_bytes)),
        ]);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        write_table(&mut self.out, &COLUMNS, &self.rows)?;
        self.rows.clear();
        self.out.flush()
    }
}

/// Writes `rows` under `header`, each column as wide as its widest cell plus two spaces; the
/// cells are written as they are (make them `printable` and `cut` first).
pub fn write_table<R: AsRef<[String]>>(
    out: &mut impl Write,
    header: &[&str],
    rows: &[R],
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|c| c.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.as_ref()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|&c| c.to_owned()).collect();
    for row in std::iter::once(header.as_slice()).chain(rows.iter().map(AsRef::as_ref)) {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

//! Sinks: write events out (JSON Lines, CSV, an aligned table, the abuse-report CSV).
//!
//! Every sink treats the user name, reason and server as attacker-controlled: nothing it
//! writes can inject a CSV formula, break a JSON line or reach a terminal as a control
//! sequence. Not here: deciding which events to write, or storing them.

mod abuse;
mod append;
mod csv;
mod jsonl;
mod legacy_csv;
mod table;
mod threaded;

use std::borrow::Cow;
use std::io;

use crate::event::AuthEvent;

pub use abuse::abuse_report;
pub use append::{AppendFile, Repair, end_of_last_line};
pub use csv::{CsvSink, neutralise_cell};
pub use jsonl::{JsonlExport, JsonlSink};
pub use legacy_csv::{CsvDateFormat, CsvEnrichment, LegacyCsv, to_string as legacy_csv_text};
pub use table::{TableSink, cut, write_table};
pub use threaded::ThreadedSink;

pub trait EventSink {
    fn write(&mut self, event: &AuthEvent) -> io::Result<()>;
    /// Flushes what is buffered (a table writes its rows here, once widths are known).
    fn finish(&mut self) -> io::Result<()>;
}

/// Text safe for a terminal or a mail: control characters (C0, DEL, C1) and invalid UTF-8
/// become visible `\xNN` escapes; everything else is kept.
pub fn printable(b: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(b)
        && !s.chars().any(char::is_control)
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_bad_utf8() {
        assert_eq!(printable(b"alice@example.com"), "alice@example.com");
        assert_eq!(printable(b"a\x1b[31mred\n"), "a\\x1b[31mred\\x0a");
        assert_eq!(printable(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(
            printable("caf\u{e9}\u{9b}".as_bytes()),
            "caf\u{e9}\\xc2\\x9b"
        );
    }
}

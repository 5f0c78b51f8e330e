//! `maillogsentinel.csv`, compatible with the old tool: failures only, `;`-separated, header
//! `server;date;ip;user;hostname;reverse_dns_status;country_code;asn;aso` (a file with the
//! old 6-column header keeps its 6 columns), one row per attempt, `date` as `DD/MM/YYYY HH:MM`
//! in the server's local time (or RFC 3339 with `csv_date_format = iso`). Enrichment columns
//! are `null` until enrichment fills them. Exactly-once through [`AppendFile`].

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::{AppendFile, Repair, neutralise_cell};
use crate::event::{AuthEvent, Outcome};

pub const HEADER: &str = "server;date;ip;user;hostname;reverse_dns_status;country_code;asn;aso";
pub const OLD_HEADER: &str = "server;date;ip;user;hostname;reverse_dns_status";

/// How the `date` column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvDateFormat {
    /// `23/11/2025 06:25`, the old tool's format, in the server's local time.
    Legacy,
    /// RFC 3339 with the original offset: `2025-11-23T06:25:04+01:00`.
    Iso,
}

pub struct LegacyCsv {
    file: AppendFile,
    format: CsvDateFormat,
    columns: usize,
}

impl LegacyCsv {
    /// Opens (or creates with its header) the CSV, cutting what no commit covers.
    pub fn open(
        path: &Path,
        committed: Option<u64>,
        format: CsvDateFormat,
    ) -> io::Result<(LegacyCsv, Repair)> {
        let (mut file, repair) = AppendFile::open(path, committed)?;
        let columns = match file.first_line()? {
            Some(h) if h.strip_suffix(b"\r").unwrap_or(&h) == OLD_HEADER.as_bytes() => 6,
            _ => 9,
        };
        if file.is_empty() {
            file.append(format!("{HEADER}\n").as_bytes())?;
        }
        Ok((
            LegacyCsv {
                file,
                format,
                columns,
            },
            repair,
        ))
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Bytes written and synced so far (with the header).
    pub fn len(&self) -> u64 {
        self.file.len()
    }

    pub fn is_empty(&self) -> bool {
        self.file.is_empty()
    }

    /// Appends one row per failed attempt (successes are not written), syncs, and returns the
    /// length to commit.
    pub fn append(&mut self, events: &[&AuthEvent]) -> io::Result<u64> {
        let mut out = String::new();
        for e in events.iter().filter(|e| e.outcome == Outcome::Failure) {
            let row = self.row(e);
            for _ in 0..e.attempts {
                out.push_str(&row);
            }
        }
        self.file.append(out.as_bytes())
    }

    fn row(&self, e: &AuthEvent) -> String {
        let date = match (e.time, self.format) {
            (None, _) => String::new(),
            (Some(t), CsvDateFormat::Legacy) => {
                let c = t.local_civil();
                format!(
                    "{:02}/{:02}/{:04} {:02}:{:02}",
                    c.day, c.month, c.year, c.hour, c.minute
                )
            }
            (Some(t), CsvDateFormat::Iso) => {
                let c = t.local_civil();
                format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
                    c.year,
                    c.month,
                    c.day,
                    c.hour,
                    c.minute,
                    c.second,
                    t.offset_string()
                )
            }
        };
        let user = e
            .user
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let cells: [&str; 4] = [
            e.server.as_deref().unwrap_or(""),
            &date,
            &e.ip.to_string(),
            &user,
        ];
        let mut row = String::with_capacity(128);
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                row.push(';');
            }
            row.push_str(&neutralise_cell(cell));
        }
        // hostname;reverse_dns_status (and country_code;asn;aso): not known yet.
        for _ in 4..self.columns {
            row.push_str(";null");
        }
        let _ = writeln!(row);
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::timestamp::EventTime;
    use crate::event::{Protocol, Service};

    fn event(user: &[u8], attempts: u32, outcome: Outcome) -> AuthEvent {
        AuthEvent {
            time: Some(EventTime {
                unix: 1_763_879_104, // 2025-11-23T06:25:04Z
                nanos: 0,
                offset_secs: 3600,
            }),
            server: Some("mx1".into()),
            service: Service::Postfix,
            protocol: Protocol::Smtp,
            outcome,
            ip: "192.0.2.1".parse().unwrap(),
            user: Some(user.to_vec()),
            mechanism: None,
            reason: None,
            attempts,
            session: None,
        }
    }

    #[test]
    fn header_rows_per_attempt_and_no_successes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("maillogsentinel.csv");
        let (mut csv, repair) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        assert_eq!(repair, Repair::Created);
        let (a, b, ok) = (
            event(b"alice", 1, Outcome::Failure),
            event(b"bob", 2, Outcome::Failure),
            event(b"carol", 1, Outcome::Success),
        );
        let len = csv.append(&[&a, &b, &ok]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(len, text.len() as u64);
        assert_eq!(
            text,
            format!(
                "{HEADER}\nmx1;23/11/2025 07:25;192.0.2.1;alice;null;null;null;null;null\n{0}{0}",
                "mx1;23/11/2025 07:25;192.0.2.1;bob;null;null;null;null;null\n"
            )
        );
    }

    #[test]
    fn iso_dates_keep_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Iso).unwrap();
        csv.append(&[&event(b"a", 1, Outcome::Failure)]).unwrap();
        assert!(
            std::fs::read_to_string(&p)
                .unwrap()
                .contains(";2025-11-23T07:25:04+01:00;")
        );
    }

    #[test]
    fn hostile_user_names_are_neutralised() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        csv.append(&[
            &event(b"=cmd|' /C calc'!A0", 1, Outcome::Failure),
            &event(b"a;b\"c\nd", 1, Outcome::Failure),
        ])
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(";'=cmd|' /C calc'!A0;"));
        assert!(text.contains(";\"a;b\"\"c\nd\";"));
    }

    #[test]
    fn an_old_six_column_file_keeps_six_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(
            &p,
            format!("{OLD_HEADER}\nmx;01/01/2024 00:00;1.2.3.4;u;null;Errno 1\n"),
        )
        .unwrap();
        let (mut csv, repair) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        assert_eq!(repair, Repair::Adopted { cut: 0 });
        csv.append(&[&event(b"x", 1, Outcome::Failure)]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.ends_with("\nmx1;23/11/2025 07:25;192.0.2.1;x;null;null\n"),
            "{text}"
        );
    }
}

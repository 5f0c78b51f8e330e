//! `maillogsentinel.csv`, compatible with the old tool: failures only, `;`-separated, header
//! `server;date;ip;user;hostname;reverse_dns_status;country_code;asn;aso` (a file with the old
//! 6-column header `server;date;ip;user;hostname;reverse_dns_status` keeps its 6 columns), one
//! row per attempt, `date` as `DD/MM/YYYY HH:MM` in the wall-clock time the line was written
//! in (or RFC 3339 with that offset, `csv_date_format = iso`). Enrichment columns are `null`
//! until enrichment fills them. Exactly-once with the store through [`AppendFile`]: rows are
//! appended and fsynced, the returned length is committed with the events, and bytes past the
//! committed length are cut at the next start.
//!
//! Not here: which events to write (the caller's batch; successes are skipped here),
//! computing the enrichment, the committed length's storage (`store`).

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::Path;

use super::{AppendFile, Repair, neutralise_cell, printable};
use crate::envelope::timestamp::EventTime;
use crate::event::{AuthEvent, Outcome};

pub const HEADER: &str = "server;date;ip;user;hostname;reverse_dns_status;country_code;asn;aso";
pub const OLD_HEADER: &str = "server;date;ip;user;hostname;reverse_dns_status";

/// Rows are written to the file in pieces of about this size, so that an event standing for
/// very many attempts never has all its rows in memory at once.
const WRITE_CHUNK: usize = 4 << 20;

/// How the `date` column is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CsvDateFormat {
    /// `23/11/2025 06:25`, the old tool's format, in the line's own wall-clock time.
    #[default]
    Legacy,
    /// RFC 3339 with the line's own offset: `2025-11-23T06:25:04+01:00`.
    Iso,
}

/// The enrichment cells of one row; `None` is written as `null`. Values are neutralised like
/// every other cell (a PTR name is attacker-chosen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvEnrichment<'a> {
    pub hostname: Option<&'a str>,
    pub reverse_dns_status: Option<&'a str>,
    pub country_code: Option<&'a str>,
    pub asn: Option<&'a str>,
    pub aso: Option<&'a str>,
}

impl<'a> From<&'a crate::store::Enrichment> for CsvEnrichment<'a> {
    fn from(e: &'a crate::store::Enrichment) -> Self {
        CsvEnrichment {
            hostname: e.hostname.as_deref(),
            reverse_dns_status: e.reverse_dns_status.as_deref(),
            country_code: e.country_code.as_deref(),
            asn: e.asn.as_deref(),
            aso: e.aso.as_deref(),
        }
    }
}

pub struct LegacyCsv {
    file: AppendFile,
    format: CsvDateFormat,
    columns: usize,
    /// While reconciling (see [`LegacyCsv::reconcile`]): rows already in the file that no
    /// stored event accounts for yet, by their first four cells, with their counts.
    known: Option<HashMap<Vec<u8>, u64>>,
    /// Rows not written again because the file already had them.
    pub already_there: u64,
}

/// The first four cells of a row (`server;date;ip;user`): what an event determines whatever
/// its enrichment. Quote-aware: a quoted cell may hold `;`.
fn row_key(row: &[u8]) -> &[u8] {
    let (mut quoted, mut cells) = (false, 0);
    for (i, &b) in row.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => {
                cells += 1;
                if cells == 4 {
                    return &row[..i];
                }
            }
            _ => {}
        }
    }
    row
}

/// The rows of a CSV text (without their newline), quote-aware: a quoted cell of an old file
/// may hold a newline.
fn rows(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut quoted = false;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < text.len() {
            let b = text[i];
            i += 1;
            match b {
                b'"' => quoted = !quoted,
                b'\n' if !quoted => {
                    let row = &text[start..i - 1];
                    start = i;
                    return Some(row);
                }
                _ => {}
            }
        }
        (start < text.len()).then(|| {
            let row = &text[start..];
            start = text.len();
            row
        })
    })
}

impl LegacyCsv {
    /// Opens the CSV at `path` against the length the store last committed for it:
    ///
    /// - new file: created (mode 0640) with the 9-column header;
    /// - `Some(n)` and the file is longer: cut to `n` (the torn tail of a run that died
    ///   between writing rows and committing them);
    /// - `Some(n)` and the file is shorter: kept as it is (someone edited it), appended to;
    /// - `None` (never recorded, e.g. a file of the old tool): its length is adopted, cutting
    ///   only an unterminated last line.
    ///
    /// After a repair other than [`Repair::None`], commit [`LegacyCsv::len`] before appending,
    /// so that a crash in the next batch cuts back to this point.
    pub fn open(
        path: &Path,
        committed_len: Option<u64>,
        format: CsvDateFormat,
    ) -> io::Result<(LegacyCsv, Repair)> {
        let (mut file, repair) = AppendFile::open(path, committed_len)?;
        let columns = match file.first_line()? {
            Some(h) if h.strip_suffix(b"\r").unwrap_or(&h) == OLD_HEADER.as_bytes() => 6,
            _ => 9,
        };
        if file.is_empty() {
            file.append(format!("{HEADER}\n").as_bytes())?;
        }
        if repair == Repair::Created {
            sync_parent(path)?;
        }
        Ok((
            LegacyCsv {
                file,
                format,
                columns,
                known: None,
                already_there: 0,
            },
            repair,
        ))
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The length written and synced so far: what to commit.
    pub fn len(&self) -> u64 {
        self.file.len()
    }

    /// Reconciles a file the store does not account for (its store was deleted, or it was
    /// written by the old tool) without doubling it: the rows it holds that no event of
    /// `stored` accounts for are not written again when an event brings them. Returns how many
    /// such rows there are.
    pub fn reconcile<'e>(
        &mut self,
        stored: impl IntoIterator<Item = &'e AuthEvent>,
    ) -> io::Result<u64> {
        let text = self.file.read_committed()?;
        let mut known: HashMap<Vec<u8>, u64> = HashMap::new();
        for row in rows(&text).skip(1).filter(|r| !r.is_empty()) {
            *known.entry(row_key(row).to_vec()).or_default() += 1;
        }
        let mut row = String::new();
        for e in stored {
            if e.outcome != Outcome::Failure {
                continue;
            }
            row.clear();
            self.write_row(&mut row, e, &CsvEnrichment::default());
            if let Some(n) = known.get_mut(row_key(row.as_bytes())) {
                *n = n.saturating_sub(u64::from(e.attempts));
            }
        }
        known.retain(|_, n| *n > 0);
        let left = known.values().sum();
        self.known = Some(known);
        Ok(left)
    }

    /// Cuts the file back to `len` after a failed commit (see [`AppendFile::cut_back`]).
    pub fn cut_back(&mut self, len: u64) -> io::Result<()> {
        self.file.cut_back(len)
    }

    /// Never true once opened (the header is there); for symmetry with [`LegacyCsv::len`].
    pub fn is_empty(&self) -> bool {
        self.file.is_empty()
    }

    /// The file's layout: 9 columns, or 6 for a file with the old tool's first header.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Appends one row per failed attempt of `events` (successes are skipped), with `null`
    /// enrichment cells, syncs, and returns the new length to commit. Takes `&[AuthEvent]`
    /// or `&[&AuthEvent]`.
    pub fn append<E: Borrow<AuthEvent>>(&mut self, events: &[E]) -> io::Result<u64> {
        self.append_enriched(
            events
                .iter()
                .map(|e| (e.borrow(), CsvEnrichment::default())),
        )
    }

    /// Like [`LegacyCsv::append`], with each event's enrichment cells.
    pub fn append_enriched<'e>(
        &mut self,
        rows: impl IntoIterator<Item = (&'e AuthEvent, CsvEnrichment<'e>)>,
    ) -> io::Result<u64> {
        let mut out = String::new();
        let mut row = String::with_capacity(160);
        for (e, enrichment) in rows {
            if e.outcome != Outcome::Failure {
                continue;
            }
            row.clear();
            self.write_row(&mut row, e, &enrichment);
            for _ in 0..e.attempts {
                if let Some(n) = self
                    .known
                    .as_mut()
                    .and_then(|k| k.get_mut(row_key(row.as_bytes())))
                    .filter(|n| **n > 0)
                {
                    *n -= 1;
                    self.already_there += 1;
                    continue;
                }
                out.push_str(&row);
                if out.len() >= WRITE_CHUNK {
                    self.file.append(out.as_bytes())?;
                    out.clear();
                }
            }
        }
        // Always returns the synced length, even for a batch without failures.
        self.file.append(out.as_bytes())
    }

    fn write_row(&self, row: &mut String, e: &AuthEvent, enrichment: &CsvEnrichment) {
        write_row(row, e, enrichment, self.columns, self.format);
    }
}

/// The whole 9-column CSV (header, then one row per failed attempt) of `rows`, in memory:
/// what a report attaches.
pub fn to_string<'e>(
    rows: impl IntoIterator<Item = (&'e AuthEvent, CsvEnrichment<'e>)>,
    format: CsvDateFormat,
) -> String {
    let mut out = format!("{HEADER}\n");
    let mut row = String::new();
    for (e, en) in rows {
        if e.outcome != Outcome::Failure {
            continue;
        }
        row.clear();
        write_row(&mut row, e, &en, 9, format);
        for _ in 0..e.attempts {
            out.push_str(&row);
        }
    }
    out
}

/// One cell of the file: control characters (C0 with tab, CR and LF, DEL, C1) become `\xNN`
/// as in the table output, so that `cat` of the file cannot drive a terminal, then formulas
/// and separators are neutralised. The store and the JSONL export keep the exact bytes.
fn cell(value: &str) -> Cow<'_, str> {
    match printable(value.as_bytes()) {
        Cow::Borrowed(v) => neutralise_cell(v),
        Cow::Owned(v) => Cow::Owned(neutralise_cell(&v).into_owned()),
    }
}

/// One row, `columns` (9, or 6 for an old file) cells, neutralised.
fn write_row(
    row: &mut String,
    e: &AuthEvent,
    enrichment: &CsvEnrichment,
    columns: usize,
    format: CsvDateFormat,
) {
    let date = e.time.map(|t| format_date(&t, format)).unwrap_or_default();
    let user = e
        .user
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let mut ip = String::with_capacity(40);
    crate::event::push_ip(&mut ip, e.ip);
    let cells = [e.server.as_deref().unwrap_or(""), &date, &ip, &user];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            row.push(';');
        }
        row.push_str(&self::cell(cell));
    }
    let extra = [
        enrichment.hostname,
        enrichment.reverse_dns_status,
        enrichment.country_code,
        enrichment.asn,
        enrichment.aso,
    ];
    for cell in &extra[..columns - cells.len()] {
        row.push(';');
        match cell {
            Some(v) => row.push_str(&self::cell(v)),
            None => row.push_str("null"),
        }
    }
    row.push('\n');
}

/// The `date` cell: the wall-clock time the line was written in (UTC instant + its offset).
pub fn format_date(t: &EventTime, format: CsvDateFormat) -> String {
    let c = t.local_civil();
    match format {
        CsvDateFormat::Legacy => format!(
            "{:02}/{:02}/{:04} {:02}:{:02}",
            c.day, c.month, c.year, c.hour, c.minute
        ),
        CsvDateFormat::Iso => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            t.offset_string()
        ),
    }
}

/// Makes the creation of `path` durable: fsync of its directory.
fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Protocol, Service};
    use std::os::unix::fs::PermissionsExt;

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

    fn rows(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn header_rows_per_attempt_and_no_successes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("maillogsentinel.csv");
        let (mut csv, repair) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        assert_eq!(repair, Repair::Created);
        assert_eq!(csv.columns(), 9);
        assert_eq!(csv.len(), HEADER.len() as u64 + 1);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let (a, b, ok) = (
            event(b"alice", 1, Outcome::Failure),
            event(b"bob", 2, Outcome::Failure),
            event(b"carol", 1, Outcome::Success),
        );
        let len = csv.append(&[&a, &b, &ok]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(len, text.len() as u64);
        assert_eq!(csv.len(), len);
        assert_eq!(
            text,
            format!(
                "{HEADER}\nmx1;23/11/2025 07:25;192.0.2.1;alice;null;null;null;null;null\n{0}{0}",
                "mx1;23/11/2025 07:25;192.0.2.1;bob;null;null;null;null;null\n"
            )
        );
        // Owned events work too; a batch of successes only writes nothing.
        assert_eq!(csv.append(std::slice::from_ref(&ok)).unwrap(), len);
        assert_eq!(csv.append::<AuthEvent>(&[]).unwrap(), len);
        let alice = "mx1;23/11/2025 07:25;192.0.2.1;alice;null;null;null;null;null\n";
        assert_eq!(csv.append(&[a]).unwrap(), len + alice.len() as u64);
    }

    #[test]
    fn a_reopened_file_is_not_given_a_second_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        let len = csv.append(&[event(b"a", 1, Outcome::Failure)]).unwrap();
        drop(csv);
        let (mut csv, repair) = LegacyCsv::open(&p, Some(len), CsvDateFormat::Legacy).unwrap();
        assert_eq!(repair, Repair::None);
        csv.append(&[event(b"b", 1, Outcome::Failure)]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.matches("server;").count(), 1);
        assert_eq!(rows(&p).len(), 2);
    }

    #[test]
    fn dates_are_in_the_lines_own_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = event(b"a", 1, Outcome::Failure);
        let cases = [
            // 06:25:04Z written at +01:00.
            (3600, CsvDateFormat::Legacy, "23/11/2025 07:25"),
            (3600, CsvDateFormat::Iso, "2025-11-23T07:25:04+01:00"),
            // Written at -08:00: still the previous day there.
            (-8 * 3600, CsvDateFormat::Legacy, "22/11/2025 22:25"),
            (-8 * 3600, CsvDateFormat::Iso, "2025-11-22T22:25:04-08:00"),
            // UTC, and a half-hour zone.
            (0, CsvDateFormat::Iso, "2025-11-23T06:25:04+00:00"),
            (19_800, CsvDateFormat::Legacy, "23/11/2025 11:55"),
        ];
        for (i, (offset, format, want)) in cases.into_iter().enumerate() {
            e.time.as_mut().unwrap().offset_secs = offset;
            assert_eq!(format_date(&e.time.unwrap(), format), want);
            let p = dir.path().join(format!("{i}.csv"));
            let (mut csv, _) = LegacyCsv::open(&p, None, format).unwrap();
            csv.append(&[&e]).unwrap();
            assert_eq!(rows(&p)[0].split(';').nth(1), Some(want));
        }
    }

    #[test]
    fn a_line_without_time_has_an_empty_date() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let mut e = event(b"a", 1, Outcome::Failure);
        e.time = None;
        e.server = None;
        e.user = None;
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        csv.append(&[e]).unwrap();
        assert_eq!(rows(&p), [";;192.0.2.1;;null;null;null;null;null"]);
    }

    #[test]
    fn hostile_cells_are_neutralised() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        let mut hostile_server = event(b"@SUM(1)", 1, Outcome::Failure);
        hostile_server.server = Some("+mx;1".into());
        csv.append(&[
            &event(b"=cmd|' /C calc'!A0", 1, Outcome::Failure),
            &event(b"a;b\"c\nd", 1, Outcome::Failure),
            &event(b"-1\r", 1, Outcome::Failure),
            &event(b"\tx\xff", 1, Outcome::Failure),
            &hostile_server,
        ])
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(";'=cmd|' /C calc'!A0;"), "{text}");
        assert!(text.contains(";\"a;b\"\"c\\x0ad\";"), "{text}");
        assert!(text.contains(";'-1\\x0d;"), "{text}");
        assert!(text.contains(";\\x09x\u{fffd};"), "{text}");
        assert!(text.contains("\n\"'+mx;1\";"), "{text}");
        assert!(text.contains(";'@SUM(1);"), "{text}");
    }

    #[test]
    fn enrichment_cells_are_written_and_neutralised() {
        let dir = tempfile::tempdir().unwrap();
        let e = event(b"u", 1, Outcome::Failure);
        let enrichment = CsvEnrichment {
            hostname: Some("=evil;ptr"),
            reverse_dns_status: Some("OK"),
            country_code: Some("FR"),
            asn: None,
            aso: Some("Example \"AS\""),
        };
        let p = dir.path().join("new.csv");
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        csv.append_enriched([(&e, enrichment)]).unwrap();
        assert_eq!(
            rows(&p),
            ["mx1;23/11/2025 07:25;192.0.2.1;u;\"'=evil;ptr\";OK;FR;null;\"Example \"\"AS\"\"\""]
        );
        let old = dir.path().join("old.csv");
        std::fs::write(&old, format!("{OLD_HEADER}\n")).unwrap();
        let (mut csv, _) = LegacyCsv::open(&old, None, CsvDateFormat::Legacy).unwrap();
        csv.append_enriched([(&e, enrichment)]).unwrap();
        assert_eq!(
            rows(&old),
            ["mx1;23/11/2025 07:25;192.0.2.1;u;\"'=evil;ptr\";OK"]
        );
        let stored = crate::store::Enrichment {
            hostname: Some("h".into()),
            ..Default::default()
        };
        assert_eq!(
            CsvEnrichment::from(&stored),
            CsvEnrichment {
                hostname: Some("h"),
                ..Default::default()
            }
        );
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
        assert_eq!(csv.columns(), 6);
        csv.append(&[&event(b"x", 1, Outcome::Failure)]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.ends_with("\nmx1;23/11/2025 07:25;192.0.2.1;x;null;null\n"),
            "{text}"
        );
    }

    #[test]
    fn an_old_crlf_header_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, format!("{OLD_HEADER}\r\n")).unwrap();
        let (csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        assert_eq!(csv.columns(), 6);
    }

    #[test]
    fn an_existing_nine_column_file_keeps_nine() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, format!("{HEADER}\n")).unwrap();
        let (csv, repair) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        assert_eq!(repair, Repair::Adopted { cut: 0 });
        assert_eq!(csv.columns(), 9);
        assert_eq!(csv.len(), HEADER.len() as u64 + 1);
    }

    #[test]
    fn a_torn_tail_is_cut_to_the_committed_length() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        let committed = csv.append(&[event(b"kept", 1, Outcome::Failure)]).unwrap();
        // A run appends rows, then dies before committing; a row is half written.
        csv.append(&[event(b"lost", 3, Outcome::Failure)]).unwrap();
        drop(csv);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        io::Write::write_all(&mut f, b"mx1;23/11/20").unwrap();
        let before = std::fs::metadata(&p).unwrap().len();
        let (mut csv, repair) =
            LegacyCsv::open(&p, Some(committed), CsvDateFormat::Legacy).unwrap();
        assert_eq!(
            repair,
            Repair::CutTail {
                bytes: before - committed
            }
        );
        assert_eq!(csv.len(), committed);
        csv.append(&[event(b"next", 1, Outcome::Failure)]).unwrap();
        let users: Vec<_> = rows(&p)
            .iter()
            .map(|r| r.split(';').nth(3).unwrap().to_owned())
            .collect();
        assert_eq!(users, ["kept", "next"]);
    }

    #[test]
    fn a_file_shorter_than_committed_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, format!("{HEADER}\nedited;row\n")).unwrap();
        let actual = std::fs::metadata(&p).unwrap().len();
        let (csv, repair) = LegacyCsv::open(&p, Some(10_000), CsvDateFormat::Legacy).unwrap();
        assert_eq!(
            repair,
            Repair::Shorter {
                committed: 10_000,
                actual
            }
        );
        assert_eq!(csv.len(), actual);
    }

    #[test]
    fn an_emptied_file_gets_its_header_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"").unwrap();
        let (csv, repair) = LegacyCsv::open(&p, Some(500), CsvDateFormat::Legacy).unwrap();
        assert!(matches!(repair, Repair::Shorter { actual: 0, .. }));
        assert_eq!(csv.len(), HEADER.len() as u64 + 1);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{HEADER}\n"));
    }

    #[test]
    fn an_unknown_length_adopts_whole_lines_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let whole = format!("{HEADER}\nmx;01/01/2024 00:00;1.2.3.4;u;null;null;null;null;null\n");
        std::fs::write(&p, format!("{whole}mx;01/01/20")).unwrap();
        let (mut csv, repair) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        assert_eq!(repair, Repair::Adopted { cut: 11 });
        assert_eq!(csv.len(), whole.len() as u64);
        csv.append(&[event(b"x", 1, Outcome::Failure)]).unwrap();
        assert_eq!(rows(&p).len(), 2);
        // A torn header alone: cut, and a fresh header written.
        let q = dir.path().join("y.csv");
        std::fs::write(&q, "server;da").unwrap();
        let (csv, repair) = LegacyCsv::open(&q, None, CsvDateFormat::Legacy).unwrap();
        assert_eq!(repair, Repair::Adopted { cut: 9 });
        assert_eq!(csv.columns(), 9);
        assert_eq!(std::fs::read_to_string(&q).unwrap(), format!("{HEADER}\n"));
    }

    #[test]
    fn many_attempts_are_written_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (mut csv, _) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
        let e = event(b"u", 100_000, Outcome::Failure);
        let row_len = "mx1;23/11/2025 07:25;192.0.2.1;u;null;null;null;null;null\n".len() as u64;
        let len = csv.append(&[e]).unwrap();
        assert_eq!(len, HEADER.len() as u64 + 1 + 100_000 * row_len);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len);
    }
}

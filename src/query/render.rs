//! A query's answer as an aligned table, JSON (an array of objects) or CSV (`;`, the
//! project's dialect). Attacker-chosen text (users, host names) is made `printable` in every
//! format, and CSV cells are neutralised against formula injection.
//!
//! Not here: finding the events (`store::query`, `central::query`).

use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::{Group, GroupBy};
use crate::envelope::timestamp::rfc3339_in;
use crate::sink::{cut, neutralise_cell, printable, write_table};
use crate::store::StoredEvent;

/// What a query found: its events (newest first), or their groups.
pub enum Answer {
    Events(Vec<StoredEvent>),
    Groups(GroupBy, Vec<Group>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// The columns of an event, in order.
const EVENT_COLUMNS: [&str; 12] = [
    "time",
    "server",
    "service",
    "protocol",
    "outcome",
    "ip",
    "user",
    "attempts",
    "hostname",
    "country_code",
    "asn",
    "aso",
];

/// The columns of a group after its key (named after the grouping).
const GROUP_COLUMNS: [&str; 5] = ["events", "failures", "successes", "first_seen", "last_seen"];

/// One cell: text, a count, or nothing.
enum Cell {
    Text(String),
    Count(u64),
    None,
}

impl Cell {
    fn text(v: Option<&[u8]>) -> Cell {
        v.map_or(Cell::None, |b| Cell::Text(printable(b).into_owned()))
    }

    fn shown(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::None => "-".to_owned(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Count(n) => Value::from(*n),
            Cell::None => Value::Null,
        }
    }
}

/// The header and rows of an answer; times in the zone `tz`.
fn cells(answer: &Answer, tz: &TimeZone) -> (Vec<&'static str>, Vec<Vec<Cell>>) {
    let time = |unix: i64| Cell::Text(rfc3339_in(unix, tz));
    match answer {
        Answer::Events(events) => {
            let rows = events
                .iter()
                .map(|e| {
                    let (ev, en) = (&e.event, &e.enrichment);
                    let text = |v: &Option<String>| Cell::text(v.as_deref().map(str::as_bytes));
                    vec![
                        ev.time.map_or(Cell::None, |t| time(t.unix)),
                        text(&ev.server),
                        Cell::Text(ev.service.as_str().to_owned()),
                        Cell::Text(ev.protocol.as_str().to_owned()),
                        Cell::Text(ev.outcome.as_str().to_owned()),
                        Cell::Text(ev.ip.to_string()),
                        Cell::text(ev.user.as_deref()),
                        Cell::Count(u64::from(ev.attempts)),
                        text(&en.hostname),
                        text(&en.country_code),
                        text(&en.asn),
                        text(&en.aso),
                    ]
                })
                .collect();
            (EVENT_COLUMNS.to_vec(), rows)
        }
        Answer::Groups(by, groups) => {
            let rows = groups
                .iter()
                .map(|g| {
                    vec![
                        g.key.as_ref().map_or(Cell::None, |k| Cell::Text(k.clone())),
                        Cell::Count(g.events),
                        Cell::Count(g.failures),
                        Cell::Count(g.successes),
                        time(g.first_unix),
                        time(g.last_unix),
                    ]
                })
                .collect();
            let mut header = vec![by.as_str()];
            header.extend(GROUP_COLUMNS);
            (header, rows)
        }
    }
}

/// The answer in `format`, ending with a newline.
pub fn render(answer: &Answer, format: Format, tz: &TimeZone) -> String {
    let (header, rows) = cells(answer, tz);
    match format {
        Format::Table => {
            let shown: Vec<Vec<String>> = rows
                .iter()
                .map(|r| r.iter().map(|c| cut(c.shown())).collect())
                .collect();
            let mut out = Vec::new();
            write_table(&mut out, &header, &shown).expect("writing to memory");
            String::from_utf8(out).expect("cells are UTF-8")
        }
        Format::Csv => {
            let mut out = header.join(";");
            out.push('\n');
            for row in &rows {
                let line: Vec<String> = row
                    .iter()
                    .map(|c| match c {
                        Cell::None => String::new(),
                        c => neutralise_cell(&c.shown()).into_owned(),
                    })
                    .collect();
                out.push_str(&line.join(";"));
                out.push('\n');
            }
            out
        }
        Format::Json => {
            let objects: Vec<Value> = rows
                .iter()
                .map(|row| {
                    let fields: Map<String, Value> = header
                        .iter()
                        .zip(row)
                        .map(|(&k, c)| (k.to_owned(), c.json()))
                        .collect();
                    Value::Object(fields)
                })
                .collect();
            let mut out = serde_json::to_string_pretty(&objects).expect("JSON of plain values");
            out.push('\n');
            out
        }
    }
}

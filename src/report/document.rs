//! The report as a format-neutral document: a header and a list of blocks (tables, lines,
//! an alert, the chart), built once from a [`Report`]. The text and HTML renderers walk it
//! and only decide how a block looks in their medium, so both show the same sections, in the
//! same order, with the same columns and words.
//!
//! Values stay raw here (user names, PTR names, organisations as the attacker wrote them):
//! each renderer neutralises them for its medium. Not here: layout widths, escaping.

use crate::store::ServerHealth;

use super::{
    COMPROMISE_COLUMNS, MAX_COMPROMISES, Report, SPRAY_MIN_IPS, Sprayed, TOP, change, size,
    thousands,
};

/// A column of a table; numeric columns are right-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub numeric: bool,
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        numeric: false,
    }
}

const fn number(name: &'static str) -> Column {
    Column {
        name,
        numeric: true,
    }
}

/// A titled table; `more` says what was left out of a cut list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
    pub more: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// What must be seen first (a possible compromise).
    Alert(String),
    /// Sentences that belong together, one per line.
    Lines(Vec<String>),
    Table(Table),
    /// The hourly chart, where the medium can show an image.
    Chart,
}

/// The whole report, ready for a renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    /// Label and value pairs of the header box.
    pub header: Vec<(&'static str, String)>,
    pub blocks: Vec<Block>,
}

impl Document {
    /// The sections of the report, in the order they are shown.
    pub fn of(r: &Report) -> Document {
        let mut blocks = compromises(r);
        if let Some(fleet) = fleet_health(r) {
            blocks.push(Block::Table(fleet));
            blocks.push(Block::Table(shared_attackers(r)));
            blocks.push(Block::Table(sprayed_across(r)));
        }
        blocks.push(totals(r));
        blocks.push(Block::Chart);
        blocks.push(Block::Table(top_triples(r)));
        for (title, what, rows) in [
            ("usernames", "user", &r.top_users),
            ("countries", "country", &r.top_countries),
            ("ASO", "organisation", &r.top_aso),
            ("ASN", "ASN", &r.top_asn),
            ("networks (/24, /64)", "network", &r.top_networks),
        ] {
            blocks.push(Block::Table(counts(
                format!("Top {TOP} {title}"),
                what,
                rows,
            )));
        }
        blocks.push(Block::Table(spraying(r)));
        blocks.push(Block::Table(rdns(r)));
        blocks.push(health(r));
        blocks.push(Block::Lines(vec![format!(
            "See the attached CSV for the {} events of this window.",
            thousands(r.events.len() as u64)
        )]));
        Document {
            title: format!(
                "MailLogSentinel v{} - authentication attacks report",
                r.version
            ),
            header: header(r),
            blocks,
        }
    }
}

fn header(r: &Report) -> Vec<(&'static str, String)> {
    let w = &r.window;
    vec![
        (
            "Window",
            format!("{} ({})", w.label, w.tz.iana_name().unwrap_or("local time")),
        ),
        ("Extraction interval", r.host.extraction_interval.clone()),
        (
            "Report generated",
            r.generated.strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
        ),
        (
            "Server",
            format!(
                "{} ({})",
                r.host.fqdn,
                r.host.ip.as_deref().unwrap_or("no address")
            ),
        ),
    ]
}

/// Nothing when there is no possible compromise: the alert and its table come first.
fn compromises(r: &Report) -> Vec<Block> {
    if r.compromises.is_empty() {
        return Vec::new();
    }
    let more = r.compromises.len().saturating_sub(MAX_COMPROMISES);
    // A fleet report names the servers: the login's, and those of the failures before it.
    let fleet = r.compromises.iter().any(|c| c.servers.is_some());
    let mut columns: Vec<Column> = COMPROMISE_COLUMNS.iter().map(|&c| text(c)).collect();
    if fleet {
        columns.push(text("login on"));
        columns.push(text("failed on"));
    }
    vec![
        Block::Alert(format!(
            "POSSIBLE COMPROMISE: {} successful login(s) from sources that failed before{}",
            r.compromises.len(),
            match r.compromises.iter().filter(|c| c.crosses_servers()).count() {
                0 => String::new(),
                n => format!(" ({n} after failures on another server)"),
            }
        )),
        Block::Table(Table {
            title: "Successful logins from sources that failed before".into(),
            columns,
            rows: r
                .compromises
                .iter()
                .take(MAX_COMPROMISES)
                .map(|c| {
                    let mut row = c.cells(&r.window).to_vec();
                    if fleet {
                        let (on, failed) = c.servers.clone().unwrap_or_default();
                        row.push(on);
                        row.push(failed.join(", "));
                    }
                    row
                })
                .collect(),
            more: (more > 0).then(|| {
                format!("... and {more} more (see the attached CSV and `maillogsentinel ipinfo`)")
            }),
        }),
    ]
}

/// A server is named first when it went silent (no run for 24 h) or read lines without an
/// event while some looked like authentication (its parser stopped matching).
fn server_status(h: &ServerHealth, now: i64) -> Option<String> {
    match h.last_run_unix {
        None => return Some("SILENT: never ran".into()),
        Some(t) if now - t > 24 * 3600 => {
            return Some(format!("SILENT for {} h", (now - t) / 3600));
        }
        _ => {}
    }
    (h.lines > 0 && h.events == 0 && h.unmatched > 0).then(|| {
        format!(
            "PARSER: {} auth-looking lines, no event",
            thousands(h.unmatched)
        )
    })
}

/// The fleet health table of a fleet report (none for one server's own report).
fn fleet_health(r: &Report) -> Option<Table> {
    if r.fleet.is_empty() {
        return None;
    }
    let now = r.generated.timestamp().as_second();
    let mut servers: Vec<(Option<String>, &ServerHealth)> =
        r.fleet.iter().map(|h| (server_status(h, now), h)).collect();
    servers.sort_by_key(|(status, h)| (status.is_none(), h.server.clone()));
    let when = |t: Option<i64>| t.map_or_else(|| "never".to_owned(), |t| r.window.local(t));
    Some(Table {
        title: format!("Fleet health ({} servers)", r.fleet.len()),
        columns: vec![
            text("server"),
            text("status"),
            text("last run"),
            text("last ship"),
            number("lines"),
            number("unmatched"),
            number("failed attempts"),
            number("successful logins"),
        ],
        rows: servers
            .into_iter()
            .map(|(status, h)| {
                vec![
                    h.server.clone(),
                    status.unwrap_or_else(|| "ok".into()),
                    when(h.last_run_unix),
                    when(h.last_ship_unix),
                    thousands(h.lines),
                    thousands(h.unmatched),
                    thousands(h.failures),
                    thousands(h.successes),
                ]
            })
            .collect(),
        more: None,
    })
}

fn totals(r: &Report) -> Block {
    Block::Lines(vec![
        format!(
            "Total failed attempts: {}   (successful logins: {})",
            thousands(r.failures),
            thousands(r.successes)
        ),
        format!(
            "Trend: {} vs the previous period ({}), {} vs the 7-period average ({:.1})",
            change(r.failures as f64, r.previous as f64),
            thousands(r.previous),
            change(r.failures as f64, r.week_average),
            r.week_average
        ),
        format!(
            "Attacking addresses: {} ({} new, {} seen before)",
            thousands(r.attackers as u64),
            thousands(r.new_attackers as u64),
            thousands((r.attackers - r.new_attackers) as u64)
        ),
    ])
}

/// An empty value is shown as `-`, so that a missing name reads as missing.
fn or_dash(s: &str) -> String {
    if s.is_empty() { "-" } else { s }.to_owned()
}

fn top_triples(r: &Report) -> Table {
    Table {
        title: format!("Top {TOP} (user, IP, hostname)"),
        columns: vec![
            number("attempts"),
            text("user"),
            text("ip"),
            text("hostname"),
        ],
        rows: r
            .top_triples
            .iter()
            .map(|((u, ip, h), n)| vec![thousands(*n), or_dash(u), ip.clone(), or_dash(h)])
            .collect(),
        more: None,
    }
}

fn counts(title: String, what: &'static str, rows: &[(String, u64)]) -> Table {
    Table {
        title,
        columns: vec![number("attempts"), text(what)],
        rows: rows
            .iter()
            .map(|(k, n)| vec![thousands(*n), or_dash(k)])
            .collect(),
        more: None,
    }
}

fn spraying(r: &Report) -> Table {
    sprayed_table(
        format!("Password spraying (users tried from {SPRAY_MIN_IPS}+ addresses)"),
        &r.sprayed,
        false,
    )
}

/// The fleet report's spraying table: users tried over several servers, which no server's
/// own report can add up.
fn sprayed_across(r: &Report) -> Table {
    sprayed_table(
        format!(
            "Spraying across servers (users tried from {SPRAY_MIN_IPS}+ addresses on 2+ servers)"
        ),
        &r.sprayed_across,
        true,
    )
}

fn sprayed_table(title: String, sprayed: &[Sprayed], servers: bool) -> Table {
    let mut columns = vec![
        text("user"),
        number("addresses"),
        number("attempts"),
        text("account exists"),
    ];
    if servers {
        columns.push(number("servers"));
    }
    Table {
        title,
        columns,
        rows: sprayed
            .iter()
            .map(|s| {
                let mut row = vec![
                    s.user.clone(),
                    s.addresses.to_string(),
                    thousands(s.attempts),
                    if s.exists {
                        "yes (has logged in)"
                    } else {
                        "no login seen"
                    }
                    .to_owned(),
                ];
                if servers {
                    row.push(s.servers.len().to_string());
                }
                row
            })
            .collect(),
        more: None,
    }
}

/// Addresses that failed on several servers of the fleet in the window.
fn shared_attackers(r: &Report) -> Table {
    Table {
        title: "Attackers seen by several servers".into(),
        columns: vec![
            text("ip"),
            number("servers"),
            number("attempts"),
            text("failed on"),
        ],
        rows: r
            .shared_attackers
            .iter()
            .map(|a| {
                vec![
                    a.ip.clone(),
                    a.servers.len().to_string(),
                    thousands(a.attempts),
                    a.servers.join(", "),
                ]
            })
            .collect(),
        more: None,
    }
}

fn rdns(r: &Report) -> Table {
    Table {
        title: format!(
            "Reverse DNS failures: {} attempts",
            thousands(r.rdns_failures)
        ),
        columns: vec![text("status"), number("attempts")],
        rows: r
            .rdns_breakdown
            .iter()
            .map(|(status, n)| vec![status.clone(), thousands(*n)])
            .collect(),
        more: None,
    }
}

fn health(r: &Report) -> Block {
    let h = &r.health;
    Block::Lines(vec![
        match &r.csv {
            Some((path, bytes, lines)) => format!(
                "CSV: {path} - {}, {} lines",
                size(*bytes),
                thousands(*lines)
            ),
            None => "CSV: none yet".to_owned(),
        },
        format!(
            "Parser health: {} runs in this window read {} lines; {} auth-looking lines matched no rule; {} tempfails and {} aborted exchanges not counted",
            r.runs,
            thousands(h.lines),
            thousands(h.unmatched),
            thousands(h.tempfails),
            thousands(h.aborted)
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{html, text};

    fn sample() -> Document {
        Document {
            title: "MailLogSentinel v9 - authentication attacks report".into(),
            header: vec![(
                "Extraction interval",
                "hourly, at minute 5, from maillogsentinel-extract.timer (installed)".into(),
            )],
            blocks: vec![
                Block::Alert("POSSIBLE COMPROMISE: 1 successful login(s)".into()),
                Block::Table(Table {
                    title: "Successful logins from sources that failed before".into(),
                    columns: vec![text("user"), number("attempts")],
                    rows: vec![vec!["<b>\u{1b}]0;x\u{7}".into(), "1,234".into()]],
                    more: Some("... and 3 more".into()),
                }),
                Block::Lines(vec!["Total failed attempts: 9".into(), "Trend: =".into()]),
                Block::Chart,
                Block::Table(Table {
                    title: "Top 10 ASO".into(),
                    columns: vec![number("attempts"), text("organisation")],
                    rows: vec![],
                    more: None,
                }),
            ],
        }
    }

    /// Both renderers show every title, line and cell of the model, in the model's order.
    #[test]
    fn text_and_html_show_the_same_model_in_the_same_order() {
        let d = sample();
        let t = text::render_document(&d);
        let h = html::render_document(&d, "cid:chart");
        let mut expected = vec![d.title.clone()];
        for b in &d.blocks {
            match b {
                Block::Alert(s) => expected.push(s.clone()),
                Block::Lines(l) => expected.extend(l.iter().cloned()),
                Block::Table(tb) => {
                    expected.push(tb.title.clone());
                    if !tb.rows.is_empty() {
                        expected.extend(tb.columns.iter().map(|c| c.name.to_owned()));
                    }
                    expected.extend(tb.more.iter().cloned());
                }
                Block::Chart => {}
            }
        }
        for (name, out) in [("text", &t), ("html", &h)] {
            let mut at = 0;
            for s in &expected {
                let found = out[at..].find(s.as_str());
                assert!(
                    found.is_some(),
                    "{name}: {s:?} missing after byte {at}:\n{out}"
                );
                at += found.unwrap();
            }
            assert!(out.contains("(none)"), "{name}: the empty table says so");
            assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{name}");
        }
        assert!(t.contains("\\x1b]0;x\\x07"), "{t}");
        assert!(h.contains("&lt;b&gt;\\x1b]0;x\\x07"), "{h}");
        assert!(h.contains("<td class=\"n\">1,234</td>"), "{h}");
        assert!(h.contains("<img src=\"cid:chart\""), "{h}");
    }

    /// Text cuts long values to keep its columns; HTML never cuts (the browser wraps).
    #[test]
    fn only_text_cuts_long_values() {
        let mut d = sample();
        let long = "x".repeat(60);
        if let Block::Table(t) = &mut d.blocks[1] {
            t.rows[0][0] = long.clone();
        }
        let t = text::render_document(&d);
        let h = html::render_document(&d, "cid:chart");
        assert!(
            !t.contains(&long) && t.contains(&format!("{}…", &long[..39])),
            "{t}"
        );
        assert!(h.contains(&long) && !h.contains('…'), "{h}");
        assert!(h.contains("(installed)"), "the header is not cut: {h}");
    }
}

//! The plain-text report: the old tool's layout first (boxed header, totals, top lists,
//! reverse DNS failures, CSV size, "see attached"), then what it never showed (compromises
//! first when there are any, spraying, networks, new vs returning, trend, parser health).
//! Every value from a log passes through `printable` and is cut to a column width: no control
//! or escape character reaches a terminal or a mail.

use std::fmt::Write;

use super::{Report, change, size, thousands};
use crate::sink::printable;

/// Widest cell; longer values end in `…`.
const MAX_CELL: usize = 40;
/// The header box grows with its longest line, up to this.
const MAX_BOX: usize = 100;

/// A cell made safe to show: control characters escaped, cut at [`MAX_CELL`].
pub fn cell(s: &str) -> String {
    let safe = printable(s.as_bytes()).into_owned();
    if safe.chars().count() > MAX_CELL {
        let mut cut: String = safe.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    } else {
        safe
    }
}

/// Rows aligned under their headers, numbers right-aligned (a column is numeric when its
/// header starts with `#`, which is not printed).
fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let numeric: Vec<bool> = headers.iter().map(|h| h.starts_with('#')).collect();
    let names: Vec<&str> = headers.iter().map(|h| h.trim_start_matches('#')).collect();
    let mut widths: Vec<usize> = names.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut String, cells: &[String]| {
        let mut l = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if numeric[i] {
                l.push_str(&" ".repeat(pad));
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(pad));
            }
            l.push_str("  ");
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(
        out,
        &names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
    for row in rows {
        line(out, row);
    }
}

fn counts(out: &mut String, title: &str, what: &str, rows: &[(String, u64)]) {
    let _ = writeln!(out, "\n{title}");
    if rows.is_empty() {
        let _ = writeln!(out, "  (none)");
        return;
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, n)| vec![thousands(*n), cell(if k.is_empty() { "-" } else { k })])
        .collect();
    table(out, &["#attempts", what], &rows);
}

fn boxed(out: &mut String, lines: &[String]) {
    let inner = lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(60, MAX_BOX - 4);
    let bar = format!("+{}+", "-".repeat(inner + 2));
    let _ = writeln!(out, "{bar}");
    for l in lines {
        let l: String = l.chars().take(inner).collect();
        let pad = inner - l.chars().count();
        let _ = writeln!(out, "| {l}{} |", " ".repeat(pad));
    }
    let _ = writeln!(out, "{bar}");
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let w = &r.window;
    boxed(
        &mut out,
        &[
            format!(
                "MailLogSentinel v{} - authentication attacks report",
                r.version
            ),
            format!(
                "Window:              {} ({})",
                w.label,
                w.tz.iana_name().unwrap_or("local time")
            ),
            format!(
                "Extraction interval: {}",
                printable(r.host.extraction_interval.as_bytes())
            ),
            format!(
                "Report generated:    {}",
                r.generated.strftime("%Y-%m-%d %H:%M:%S %Z")
            ),
            format!(
                "Server:              {} ({})",
                cell(&r.host.fqdn),
                r.host
                    .ip
                    .as_deref()
                    .map_or_else(|| "no address".into(), cell)
            ),
        ],
    );

    if !r.compromises.is_empty() {
        let _ = writeln!(
            out,
            "\n!! POSSIBLE COMPROMISE: {} successful login(s) from sources that failed before",
            r.compromises.len()
        );
        let rows: Vec<Vec<String>> = r
            .compromises
            .iter()
            .take(super::MAX_COMPROMISES)
            .map(|c| c.cells(w).iter().map(|v| cell(v)).collect())
            .collect();
        table(&mut out, &super::COMPROMISE_COLUMNS, &rows);
        if r.compromises.len() > super::MAX_COMPROMISES {
            let _ = writeln!(
                out,
                "  ... and {} more (see the attached CSV and `maillogsentinel ipinfo`)",
                r.compromises.len() - super::MAX_COMPROMISES
            );
        }
    }

    let _ = writeln!(
        out,
        "\nTotal failed attempts: {}   (successful logins: {})",
        thousands(r.failures),
        thousands(r.successes)
    );
    let _ = writeln!(
        out,
        "Trend: {} vs the previous period ({}), {} vs the 7-period average ({:.1})",
        change(r.failures as f64, r.previous as f64),
        thousands(r.previous),
        change(r.failures as f64, r.week_average),
        r.week_average
    );
    let _ = writeln!(
        out,
        "Attacking addresses: {} ({} new, {} seen before)",
        thousands(r.attackers as u64),
        thousands(r.new_attackers as u64),
        thousands((r.attackers - r.new_attackers) as u64)
    );

    let _ = writeln!(out, "\nTop {} (user, IP, hostname)", super::TOP);
    if r.top_triples.is_empty() {
        let _ = writeln!(out, "  (none)");
    } else {
        let rows: Vec<Vec<String>> = r
            .top_triples
            .iter()
            .map(|((u, ip, h), n)| {
                vec![
                    thousands(*n),
                    cell(if u.is_empty() { "-" } else { u }),
                    cell(ip),
                    cell(if h.is_empty() { "-" } else { h }),
                ]
            })
            .collect();
        table(&mut out, &["#attempts", "user", "ip", "hostname"], &rows);
    }
    counts(&mut out, "Top 10 usernames", "user", &r.top_users);
    counts(&mut out, "Top 10 countries", "country", &r.top_countries);
    counts(&mut out, "Top 10 ASO", "organisation", &r.top_aso);
    counts(&mut out, "Top 10 ASN", "ASN", &r.top_asn);
    counts(
        &mut out,
        "Top 10 networks (/24, /64)",
        "network",
        &r.top_networks,
    );

    let _ = writeln!(
        out,
        "\nPassword spraying (users tried from {}+ addresses)",
        super::SPRAY_MIN_IPS
    );
    if r.sprayed.is_empty() {
        let _ = writeln!(out, "  (none)");
    } else {
        let rows: Vec<Vec<String>> = r
            .sprayed
            .iter()
            .map(|s| {
                vec![
                    cell(&s.user),
                    s.addresses.to_string(),
                    thousands(s.attempts),
                    if s.exists {
                        "yes (has logged in)"
                    } else {
                        "no login seen"
                    }
                    .to_owned(),
                ]
            })
            .collect();
        table(
            &mut out,
            &["user", "#addresses", "#attempts", "account exists"],
            &rows,
        );
    }

    let _ = writeln!(
        out,
        "\nReverse DNS failures: {} attempts",
        thousands(r.rdns_failures)
    );
    for (status, n) in &r.rdns_breakdown {
        let _ = writeln!(out, "  {:<28} {:>10}", cell(status), thousands(*n));
    }

    match &r.csv {
        Some((path, bytes, lines)) => {
            let _ = writeln!(
                out,
                "\nCSV: {} - {}, {} lines",
                printable(path.as_bytes()),
                size(*bytes),
                thousands(*lines)
            );
        }
        None => {
            let _ = writeln!(out, "\nCSV: none yet");
        }
    }
    let h = &r.health;
    let _ = writeln!(
        out,
        "Parser health: {} runs in this window read {} lines; {} auth-looking lines matched no rule; {} tempfails and {} aborted exchanges not counted",
        r.runs,
        thousands(h.lines),
        thousands(h.unmatched),
        thousands(h.tempfails),
        thousands(h.aborted)
    );
    let _ = writeln!(
        out,
        "\nSee the attached CSV for the {} events of this window.",
        thousands(r.events.len() as u64)
    );
    out
}

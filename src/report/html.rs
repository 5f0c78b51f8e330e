//! The HTML report: the sections of the text report as tables, with the chart as an image
//! (`cid:` in a mail, a `data:` URI in a standalone file). Every value is HTML-escaped after
//! control characters are escaped (`text::cell`).

use std::fmt::Write;

use super::text::cell;
use super::{Report, change, size, thousands};

/// `cell`, then HTML-escaped.
fn h(s: &str) -> String {
    escape(&cell(s))
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn table(out: &mut String, title: &str, headers: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "<h2>{}</h2>", h(title));
    if rows.is_empty() {
        out.push_str("<p class=\"none\">(none)</p>\n");
        return;
    }
    out.push_str("<table>\n<tr>");
    for hd in headers {
        let _ = write!(out, "<th>{}</th>", h(hd));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn counts(out: &mut String, title: &str, what: &str, rows: &[(String, u64)]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, n)| vec![thousands(*n), h(if k.is_empty() { "-" } else { k })])
        .collect();
    table(out, title, &["attempts", what], &rows);
}

const STYLE: &str = "body{font-family:sans-serif;color:#222;max-width:900px}\
table{border-collapse:collapse;margin-bottom:1em}th,td{border:1px solid #ccc;padding:2px 8px;\
text-align:left}td:first-child{text-align:right}h2{font-size:1.1em;margin-top:1.4em}\
.alert{background:#fde2e2;border:2px solid #d62728;padding:6px}.none{color:#888}";

/// The report as an HTML page; `chart_src` is the image's `src` (`cid:…` or `data:…`).
pub fn render(r: &Report, chart_src: &str) -> String {
    let w = &r.window;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>MailLogSentinel report {}</title><style>{STYLE}</style></head><body>",
        h(&w.label)
    );
    let _ = writeln!(
        out,
        "<h1>MailLogSentinel v{} report</h1>\n<table>\
<tr><th>Window</th><td>{} ({})</td></tr>\
<tr><th>Extraction interval</th><td>{}</td></tr>\
<tr><th>Report generated</th><td>{}</td></tr>\
<tr><th>Server</th><td>{} ({})</td></tr></table>",
        h(&r.version),
        h(&w.label),
        h(w.tz.iana_name().unwrap_or("local time")),
        h(&r.host.extraction_interval),
        h(&r.generated.strftime("%Y-%m-%d %H:%M:%S %Z").to_string()),
        h(&r.host.fqdn),
        h(r.host.ip.as_deref().unwrap_or("no address"))
    );
    if !r.compromises.is_empty() {
        let _ = writeln!(
            out,
            "<div class=\"alert\"><strong>Possible compromise:</strong> {} successful login(s) from sources that failed before.</div>",
            r.compromises.len()
        );
        let rows: Vec<Vec<String>> = r
            .compromises
            .iter()
            .take(super::MAX_COMPROMISES)
            .map(|c| c.cells(w).iter().map(|v| h(v)).collect())
            .collect();
        table(
            &mut out,
            "Successful logins from sources that failed before",
            &super::COMPROMISE_COLUMNS,
            &rows,
        );
        if r.compromises.len() > super::MAX_COMPROMISES {
            let _ = writeln!(
                out,
                "<p>... and {} more (see the attached CSV and <code>maillogsentinel ipinfo</code>)</p>",
                r.compromises.len() - super::MAX_COMPROMISES
            );
        }
    }
    let _ = writeln!(
        out,
        "<p><strong>Total failed attempts: {}</strong> (successful logins: {})<br>\
Trend: {} vs the previous period ({}), {} vs the 7-period average ({:.1})<br>\
Attacking addresses: {} ({} new, {} seen before)</p>",
        thousands(r.failures),
        thousands(r.successes),
        change(r.failures as f64, r.previous as f64),
        thousands(r.previous),
        change(r.failures as f64, r.week_average),
        r.week_average,
        thousands(r.attackers as u64),
        thousands(r.new_attackers as u64),
        thousands((r.attackers - r.new_attackers) as u64)
    );
    let _ = writeln!(
        out,
        "<p><img src=\"{}\" alt=\"attempts per hour\" width=\"{}\" height=\"{}\"></p>",
        escape(chart_src),
        super::chart::WIDTH,
        super::chart::HEIGHT
    );
    let rows: Vec<Vec<String>> = r
        .top_triples
        .iter()
        .map(|((u, ip, host), n)| vec![thousands(*n), h(u), h(ip), h(host)])
        .collect();
    table(
        &mut out,
        "Top 10 (user, IP, hostname)",
        &["attempts", "user", "ip", "hostname"],
        &rows,
    );
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
    let rows: Vec<Vec<String>> = r
        .sprayed
        .iter()
        .map(|s| {
            vec![
                s.addresses.to_string(),
                h(&s.user),
                thousands(s.attempts),
                if s.exists { "yes" } else { "no login seen" }.to_owned(),
            ]
        })
        .collect();
    table(
        &mut out,
        &format!(
            "Password spraying (users tried from {}+ addresses)",
            super::SPRAY_MIN_IPS
        ),
        &["addresses", "user", "attempts", "account exists"],
        &rows,
    );
    counts(
        &mut out,
        &format!(
            "Reverse DNS failures: {} attempts",
            thousands(r.rdns_failures)
        ),
        "status",
        &r.rdns_breakdown,
    );
    let csv = match &r.csv {
        Some((path, bytes, lines)) => format!(
            "CSV: {} - {}, {} lines",
            h(path),
            size(*bytes),
            thousands(*lines)
        ),
        None => "CSV: none yet".to_owned(),
    };
    let _ = writeln!(
        out,
        "<p>{csv}<br>Parser health: {} runs in this window read {} lines; {} auth-looking lines matched no rule; {} tempfails and {} aborted exchanges not counted</p>\n\
<p>See the attached CSV for the {} events of this window.</p>\n</body></html>",
        r.runs,
        thousands(r.health.lines),
        thousands(r.health.unmatched),
        thousands(r.health.tempfails),
        thousands(r.health.aborted),
        thousands(r.events.len() as u64)
    );
    out
}

//! The HTML renderer of the report [`Document`]: the same sections as tables, with the chart
//! as an image (`cid:` in a mail, a `data:` URI in a standalone file). Every value is
//! HTML-escaped after control characters are escaped; nothing is cut (a browser wraps).

use std::fmt::Write;

use super::Report;
use super::document::{Block, Document, Table};
use crate::sink::printable;

/// Control characters escaped, then HTML-escaped.
fn h(s: &str) -> String {
    let mut out = String::new();
    for c in printable(s.as_bytes()).chars() {
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

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "<h2>{}</h2>", h(&t.title));
    if t.rows.is_empty() {
        out.push_str("<p class=\"none\">(none)</p>\n");
        return;
    }
    out.push_str("<table>\n<tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", h(c.name));
    }
    out.push_str("</tr>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (v, c) in row.iter().zip(&t.columns) {
            let class = if c.numeric { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", h(v));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    if let Some(more) = &t.more {
        let _ = writeln!(out, "<p>{}</p>", h(more));
    }
}

const STYLE: &str = "body{font-family:sans-serif;color:#222;max-width:900px}\
table{border-collapse:collapse;margin-bottom:1em}th,td{border:1px solid #ccc;padding:2px 8px;\
text-align:left}td.n{text-align:right}h2{font-size:1.1em;margin-top:1.4em}\
.alert{background:#fde2e2;border:2px solid #d62728;padding:6px}.none{color:#888}";

/// The document as an HTML page; `chart_src` is the image's `src` (`cid:…` or `data:…`).
pub fn render_document(d: &Document, chart_src: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>",
        h(&d.title),
        h(&d.title)
    );
    out.push_str("<table>");
    for (label, value) in &d.header {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", h(label), h(value));
    }
    out.push_str("</table>\n");
    for block in &d.blocks {
        match block {
            Block::Alert(s) => {
                let _ = writeln!(out, "<div class=\"alert\"><strong>{}</strong></div>", h(s));
            }
            Block::Lines(lines) => {
                let lines: Vec<String> = lines.iter().map(|l| h(l)).collect();
                let _ = writeln!(out, "<p>{}</p>", lines.join("<br>"));
            }
            Block::Table(t) => table(&mut out, t),
            Block::Chart => {
                let _ = writeln!(
                    out,
                    "<p><img src=\"{}\" alt=\"attempts per hour\" width=\"{}\" height=\"{}\"></p>",
                    h(chart_src),
                    super::chart::WIDTH,
                    super::chart::HEIGHT
                );
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// The report as an HTML page.
pub fn render(r: &Report, chart_src: &str) -> String {
    render_document(&Document::of(r), chart_src)
}

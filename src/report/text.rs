//! The plain-text renderer of the report [`Document`]: the old tool's layout (a boxed header,
//! then titled lists), with aligned columns. Every value from a log passes through
//! `printable` and table cells are cut to a column width: no control or escape character
//! reaches a terminal or a mail, and no attacker-chosen name breaks the alignment.

use std::fmt::Write;

use super::Report;
use super::document::{Block, Document, Table};
use crate::sink::printable;

/// Widest table cell; longer values end in `…`.
const MAX_CELL: usize = 40;
/// The header box grows with its longest line, up to this.
const MAX_BOX: usize = 100;
/// Header labels are padded to this width so that the values line up.
const LABEL: usize = 21;

/// A cell made safe to show: control characters escaped, cut at [`MAX_CELL`].
fn cell(s: &str) -> String {
    let safe = printable(s.as_bytes()).into_owned();
    if safe.chars().count() > MAX_CELL {
        let mut cut: String = safe.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    } else {
        safe
    }
}

/// Rows aligned under their headers, numbers right-aligned.
fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "\n{}", printable(t.title.as_bytes()));
    if t.rows.is_empty() {
        let _ = writeln!(out, "  (none)");
        return;
    }
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(|c| cell(c)).collect())
        .collect();
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.name.chars().count()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut String, cells: &[String]| {
        let mut l = String::from("  ");
        for ((c, col), width) in cells.iter().zip(&t.columns).zip(&widths) {
            let pad = " ".repeat(width - c.chars().count());
            if col.numeric {
                let _ = write!(l, "{pad}{c}  ");
            } else {
                let _ = write!(l, "{c}{pad}  ");
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    let names: Vec<String> = t.columns.iter().map(|c| c.name.to_owned()).collect();
    line(out, &names);
    for row in &rows {
        line(out, row);
    }
    if let Some(more) = &t.more {
        let _ = writeln!(out, "  {more}");
    }
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

/// The document as text.
pub fn render_document(d: &Document) -> String {
    let mut out = String::new();
    let mut head = vec![d.title.clone()];
    head.extend(d.header.iter().map(|(label, value)| {
        format!(
            "{:<LABEL$}{}",
            format!("{label}:"),
            printable(value.as_bytes())
        )
    }));
    boxed(&mut out, &head);
    for block in &d.blocks {
        match block {
            Block::Alert(s) => {
                let _ = writeln!(out, "\n!! {}", printable(s.as_bytes()));
            }
            Block::Lines(lines) => {
                out.push('\n');
                for l in lines {
                    let _ = writeln!(out, "{}", printable(l.as_bytes()));
                }
            }
            Block::Table(t) => table(&mut out, t),
            Block::Chart => {}
        }
    }
    out
}

/// The report as text.
pub fn render(r: &Report) -> String {
    render_document(&Document::of(r))
}

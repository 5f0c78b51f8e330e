//! Prometheus metrics in the text exposition format: the store's totals (attempts by
//! service, protocol and outcome; lines, unmatched lines, tempfails and reverse DNS lookups
//! over the recorded runs; detections; alerts sent and failed) plus what only a running
//! process knows (follow's passes not recorded yet, the blocklist's size, the last commit).
//! Served by follow mode (`[metrics] listen`) and written as a file for node_exporter's
//! textfile collector (`[metrics] textfile`). No label holds an address or a user.
//!
//! Not here: counting (the store, the ingestion).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::warn;

use crate::store::{Store, StoreError, Totals};

/// What a running process adds to the store's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Live {
    /// Follow's passes since its last recorded run.
    pub lines: u64,
    pub unmatched: u64,
    pub tempfails: u64,
    pub blocklist_entries: Option<u64>,
    pub last_commit_unix: Option<i64>,
}

/// The exposition text.
pub fn render(t: &Totals, live: &Live) -> String {
    let mut out = String::with_capacity(4096);
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(out, "# HELP maillogsentinel_{name} {help}");
        let _ = writeln!(out, "# TYPE maillogsentinel_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "maillogsentinel_{name}{labels} {value}");
        }
    };
    let one = |v: u64| vec![(String::new(), v.to_string())];
    family(
        "attempts_total",
        "counter",
        "Authentication attempts stored, by service, protocol and outcome.",
        &t.attempts
            .iter()
            .map(|(s, p, o, n)| {
                (
                    format!("{{service=\"{s}\",protocol=\"{p}\",outcome=\"{o}\"}}"),
                    n.to_string(),
                )
            })
            .collect::<Vec<_>>(),
    );
    family(
        "lines_read_total",
        "counter",
        "Log lines read.",
        &one(t.lines + live.lines),
    );
    family(
        "unmatched_lines_total",
        "counter",
        "Authentication-related lines no rule took (a new log format, maybe).",
        &one(t.unmatched + live.unmatched),
    );
    family(
        "tempfails_total",
        "counter",
        "Postfix tempfails (authentication server unreachable), not counted as failures.",
        &one(t.tempfails + live.tempfails),
    );
    family(
        "dns_lookups_total",
        "counter",
        "Reverse DNS lookups sent.",
        &one(t.dns_lookups),
    );
    family(
        "dns_timeouts_total",
        "counter",
        "Reverse DNS lookups without an answer in time.",
        &one(t.dns_timeouts),
    );
    family(
        "runs_total",
        "counter",
        "Runs recorded (follow records one a minute).",
        &one(t.runs),
    );
    let by = |label: &str, rows: Vec<(&String, u64)>| {
        rows.into_iter()
            .map(|(v, n)| (format!("{{{label}=\"{v}\"}}"), n.to_string()))
            .collect::<Vec<_>>()
    };
    family(
        "detections_total",
        "counter",
        "Detections stored, by kind (compromise, bruteforce, spraying).",
        &by("kind", t.detections.iter().map(|(k, n)| (k, *n)).collect()),
    );
    family(
        "alerts_sent_total",
        "counter",
        "Alerts delivered, by channel.",
        &by(
            "channel",
            t.alerts.iter().map(|(c, s, _)| (c, *s)).collect(),
        ),
    );
    family(
        "alerts_failed_total",
        "counter",
        "Alerts given up after retries, by channel.",
        &by(
            "channel",
            t.alerts.iter().map(|(c, _, f)| (c, *f)).collect(),
        ),
    );
    family(
        "alerts_queued",
        "gauge",
        "Alert deliveries waiting (retried).",
        &one(t.queued),
    );
    if let Some(n) = live.blocklist_entries {
        family(
            "blocklist_entries",
            "gauge",
            "Addresses and networks on the blocklist.",
            &one(n),
        );
    }
    if let Some(last) = t.last_run_unix {
        family(
            "last_run_timestamp_seconds",
            "gauge",
            "When the last run was recorded (Unix time).",
            &[(String::new(), last.to_string())],
        );
    }
    if let Some(last) = live.last_commit_unix.or(t.last_run_unix) {
        family(
            "last_commit_timestamp_seconds",
            "gauge",
            "When the last pass over the logs committed (Unix time).",
            &[(String::new(), last.to_string())],
        );
    }
    out
}

/// Serves `GET /metrics` on `addr` from a thread of its own, reading the store at
/// `store_path` (read-only) at each scrape. Binding fails loudly (the address is taken).
pub fn serve(addr: SocketAddr, store_path: PathBuf, live: Arc<Mutex<Live>>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    std::thread::Builder::new()
        .name("mls-metrics".into())
        .spawn(move || {
            let mut store: Option<Store> = None;
            for stream in listener.incoming().flatten() {
                if let Err(e) = answer(stream, &store_path, &mut store, &live) {
                    warn!("metrics: {e}");
                    store = None;
                }
            }
        })?;
    Ok(())
}

fn answer(
    mut stream: TcpStream,
    store_path: &std::path::Path,
    store: &mut Option<Store>,
    live: &Mutex<Live>,
) -> Result<(), StoreError> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let (status, body) =
        if request.starts_with(b"GET /metrics ") || request.starts_with(b"GET /metrics?") {
            let s = match store {
                Some(s) => s,
                None => store.insert(Store::open_read_only(store_path)?),
            };
            let live = *live.lock().unwrap_or_else(|p| p.into_inner());
            ("200 OK", render(&s.totals()?, &live))
        } else {
            ("404 Not Found", "metrics are at /metrics\n".to_owned())
        };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_with_bounded_labels() {
        let t = Totals {
            attempts: vec![("dovecot".into(), "imap".into(), "failure".into(), 7)],
            lines: 100,
            alerts: vec![("webhook".into(), 2, 1)],
            last_run_unix: Some(1_700_000_000),
            ..Totals::default()
        };
        let live = Live {
            lines: 5,
            blocklist_entries: Some(3),
            ..Live::default()
        };
        let text = render(&t, &live);
        assert!(text.contains(
            "maillogsentinel_attempts_total{service=\"dovecot\",protocol=\"imap\",outcome=\"failure\"} 7\n"
        ));
        assert!(text.contains("maillogsentinel_lines_read_total 105\n"));
        assert!(text.contains("maillogsentinel_alerts_failed_total{channel=\"webhook\"} 1\n"));
        assert!(text.contains("maillogsentinel_blocklist_entries 3\n"));
        assert!(text.contains("maillogsentinel_last_commit_timestamp_seconds 1700000000\n"));
    }
}

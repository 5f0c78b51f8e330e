//! End to end against the shared generator's ground truth: `parse --format jsonl` on logs from
//! `../shared/bench/gen-maillog.py` must count exactly `attempts.failure_visible` failed and
//! `attempts.success_visible` successful attempts (also by service and IP family), the same
//! distinct failing IPs, the same attempts for the top attacking IPs, and date every event
//! inside the log's time span; in every format variant the generator has.
//!
//! Skipped (with a message) when python3 or the generator is missing.

use crate::support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const GENERATOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/bench/gen-maillog.py"
);

fn python3_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the generator (40M, seed 1, plus `args`, which may override both) into `dir`; its
/// truth.json, or `None` when the generator cannot run here (a failure instead with
/// MLS_REQUIRE_SERVERS, as scripts/test sets: CI has the shared material).
pub(crate) fn generate(dir: &Path, args: &[&str]) -> Option<Value> {
    if !Path::new(GENERATOR).exists() {
        if std::env::var_os("MLS_REQUIRE_SERVERS").is_some() {
            panic!("generator not found at {GENERATOR}, and MLS_REQUIRE_SERVERS is set");
        }
        eprintln!("SKIPPED: generator not found at {GENERATOR}");
        return None;
    }
    if !python3_available() {
        eprintln!("SKIPPED: python3 not found (needed for {GENERATOR})");
        return None;
    }
    let out = Command::new("python3")
        .arg(GENERATOR)
        .args(["--size", "40M", "--seed", "1", "--out"])
        .arg(dir)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "generator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth = std::fs::read_to_string(dir.join("truth.json")).unwrap();
    let truth: Value = serde_json::from_str(&truth).unwrap();
    // As a syslog daemon leaves them: each file last written when its last line was (the
    // tool measures the log clock's lag behind the wall clock from this).
    for f in truth["files"].as_array().into_iter().flatten() {
        let (Some(name), Some(last)) = (f["name"].as_str(), f["last_timestamp_utc"].as_str())
        else {
            continue;
        };
        support::touch(&dir.join(name), last);
    }
    assert!(
        truth["truth_version"].as_u64().unwrap_or(0) >= 2,
        "truth.json without attempt counts"
    );
    Some(truth)
}

/// The generated logs, oldest first: mail.log.N.gz ... mail.log.1, mail.log.
pub(crate) fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let rest = name.strip_prefix("mail.log")?;
            let n = rest.trim_start_matches('.').trim_end_matches(".gz");
            Some((if n.is_empty() { 0 } else { n.parse().ok()? }, p))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files.into_iter().map(|(_, p)| p).collect()
}

fn timestamp(v: &Value) -> jiff::Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// The service key of truth.json's `attempts.by_service` an event belongs to: smtp for every
/// smtpd instance and for a session-less Dovecot auth line counted alone (SMTP AUTH through
/// Dovecot), `unknown` for a session auth line whose session end is not in the log.
pub(crate) fn service_key(e: &Value) -> &'static str {
    match e["protocol"].as_str().unwrap() {
        "smtp" | "submission" | "smtps" => "smtp",
        "imap" => "imap",
        "pop3" => "pop3",
        "managesieve" => "sieve",
        "unknown" if e["session"].is_null() => "smtp",
        "unknown" => "unknown",
        other => panic!("protocol {other} in a generated log: {e}"),
    }
}

#[derive(Default)]
struct Counts {
    failures: u64,
    successes: u64,
    failures_by_ip: HashMap<String, u64>,
    /// (service or family key, outcome) -> attempts.
    by_key: HashMap<(String, &'static str), u64>,
}

fn count(stdout: &[u8], first: jiff::Timestamp, last: jiff::Timestamp) -> Counts {
    let mut c = Counts::default();
    // Stamps of the truth are whole seconds; a line may carry a fraction of the last one.
    let end = last + jiff::SignedDuration::from_secs(1);
    for line in stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let e: Value = serde_json::from_slice(line)
            .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(line)));
        let t = timestamp(&e["time"]);
        assert!(
            first <= t && t < end,
            "event dated {t}, outside the log's span {first} .. {last}: {e}"
        );
        let n = e["attempts"].as_u64().unwrap();
        assert!(n >= 1, "{e}");
        let ip: std::net::IpAddr = e["ip"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            ip,
            ip.to_canonical(),
            "mapped IPv6 is reported as IPv4: {e}"
        );
        let outcome = match e["outcome"].as_str().unwrap() {
            "failure" => {
                c.failures += n;
                *c.failures_by_ip.entry(ip.to_string()).or_default() += n;
                "failure_visible"
            }
            "success" => {
                c.successes += n;
                "success_visible"
            }
            other => panic!("outcome {other}"),
        };
        let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
        *c.by_key
            .entry((service_key(&e).to_owned(), outcome))
            .or_default() += n;
        *c.by_key.entry((family.to_owned(), outcome)).or_default() += n;
    }
    c
}

/// Generates a log with `args`, runs `parse` on it and compares with truth.json.
fn check(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let Some(truth) = generate(dir.path(), args) else {
        return;
    };
    let files = log_files(dir.path());
    let want_files = if args.contains(&"--rotate") { 3 } else { 1 };
    assert_eq!(files.len(), want_files, "{files:?}");
    let first = timestamp(&truth["first_timestamp_utc"]);
    let last = timestamp(&truth["last_timestamp_utc"]);
    // Classic stamps have no year: the first line's year comes from the truth, not the clock.
    let year = first.to_zoned(jiff::tz::TimeZone::UTC).year().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["parse", "--format", "jsonl", "-q", "--timezone", "UTC"])
        .args(["--year", &year])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = count(&out.stdout, first, last);
    let a = &truth["attempts"];
    assert_eq!(
        c.failures,
        a["failure_visible"].as_u64().unwrap(),
        "{args:?}: failed attempts"
    );
    assert_eq!(
        c.successes,
        a["success_visible"].as_u64().unwrap(),
        "{args:?}: successful attempts"
    );
    for (group, keys) in [
        (
            "by_service",
            &["smtp", "imap", "pop3", "sieve", "unknown"][..],
        ),
        ("by_ip_family", &["ipv4", "ipv6"][..]),
    ] {
        for key in keys {
            for outcome in ["failure_visible", "success_visible"] {
                let want = a[group][key][outcome].as_u64().unwrap();
                let got = c
                    .by_key
                    .get(&((*key).to_owned(), outcome))
                    .copied()
                    .unwrap_or(0);
                assert_eq!(got, want, "{args:?}: {group}.{key}.{outcome}");
            }
        }
    }
    assert_eq!(
        c.failures_by_ip.len() as u64,
        truth["distinct_failure_ips"].as_u64().unwrap(),
        "{args:?}: distinct failing IPs"
    );
    // The top list: each listed IP has exactly its attempts, and no other IP has more than
    // the last one listed.
    let top: Vec<(String, u64)> = truth["failure_attempts_by_ip_top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| match row {
            Value::Array(pair) => (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_u64().unwrap(),
            ),
            obj => (
                obj["ip"].as_str().unwrap().to_owned(),
                obj["attempts"].as_u64().unwrap(),
            ),
        })
        .collect();
    assert!(!top.is_empty());
    for (ip, n) in &top {
        let ip_key = ip.parse::<std::net::IpAddr>().unwrap().to_string();
        assert_eq!(
            c.failures_by_ip.get(&ip_key).copied(),
            Some(*n),
            "{args:?}: failed attempts of {ip}"
        );
    }
    let floor = top.iter().map(|t| t.1).min().unwrap();
    if top.len() >= 50 {
        for (ip, n) in &c.failures_by_ip {
            assert!(
                *n <= floor || top.iter().any(|t| &t.0 == ip),
                "{args:?}: {ip} has {n} failed attempts but is not in the top list (floor {floor})"
            );
        }
    }
    eprintln!(
        "{args:?}: {} failed and {} successful attempts from {} failing IPs, as truth.json says",
        c.failures,
        c.successes,
        c.failures_by_ip.len()
    );
}

#[test]
fn classic_timestamps() {
    check(&[]);
}

#[test]
fn rfc3339_timestamps() {
    check(&["--format", "rfc3339"]);
}

#[test]
fn dovecot_without_auth_verbose() {
    check(&["--auth-verbose", "no"]);
}

#[test]
fn rotated_and_gzipped_set_read_as_one_stream() {
    check(&["--rotate", "2"]);
}

#[test]
fn default_run_on_a_rotated_set_stores_the_truth_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(truth) = generate(dir.path(), &["--rotate", "3"]) else {
        return;
    };
    let s = support::setup();
    std::fs::write(
        &s.config,
        format!(
            "[paths]\nworking_dir = {w}\nstate_dir = {w}\nmail_log = {l}\n\n[dns]\nenabled = false\n",
            w = s.work.display(),
            l = dir.path().join("mail.log").display()
        ),
    )
    .unwrap();
    let a = &truth["attempts"];
    let want_failures = a["failure_visible"].as_u64().unwrap();
    let want_successes = a["success_visible"].as_u64().unwrap();
    for run in 1..=2 {
        support::run_ok(&s.config);
        let db = rusqlite::Connection::open(s.work.join("maillogsentinel.db")).unwrap();
        let sum = |outcome: &str| -> u64 {
            db.query_row(
                "SELECT coalesce(sum(attempts), 0) FROM events WHERE outcome = ?1",
                [outcome],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(
            sum("failure"),
            want_failures,
            "run {run}: failed attempts in the store"
        );
        assert_eq!(
            sum("success"),
            want_successes,
            "run {run}: successes in the store"
        );
        let csv_rows = support::users_in_csv(&s.work).values().sum::<u64>();
        assert_eq!(
            csv_rows, want_failures,
            "run {run}: one CSV row per failed attempt"
        );
    }
}

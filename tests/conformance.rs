//! Conformance over real log lines: `../shared/corpus/real-lines.jsonl` (labelled lines from the
//! test suites of public projects). Each Postfix/Dovecot line goes alone through a fresh
//! pipeline:
//! * `auth_failure`: only failures, whose attempts sum to N of "auth failed, N attempts" (else
//!   1), each with the labelled IP (`::ffff:a.b.c.d` compared as IPv4) and user;
//! * `auth_success`: exactly one success with the labelled IP and user, no failure;
//! * `benign`, `other_attack`: no event at all.
//!
//! Expectations come from the corpus labels only; every mismatch is listed before failing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use maillogsentinel::correlate::Windows;
use maillogsentinel::envelope::timestamp::{Clock, YearRule};
use maillogsentinel::event::{AuthEvent, Outcome};
use maillogsentinel::pipeline::Pipeline;

pub const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/real-lines.jsonl"
);

const LABELS: [&str; 4] = ["auth_failure", "auth_success", "benign", "other_attack"];

fn events_of(line: &str, year: Option<i32>) -> Vec<AuthEvent> {
    let rule = YearRule::StartingIn(year.unwrap_or(2025));
    let mut p = Pipeline::new(
        Clock::new(jiff::tz::TimeZone::UTC, rule),
        Windows::default(),
    );
    let mut out = Vec::new();
    p.feed_line(line.as_bytes(), &mut |e| out.push(e), &mut |_| {});
    p.finish(&mut |e| out.push(e));
    out
}

/// The labelled IP, parsed by the standard library (not the crate), mapped form as IPv4.
fn expected_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// N of "(auth failed, N attempts", else 1.
fn expected_attempts(line: &str) -> u32 {
    line.split("auth failed, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

fn show_user(u: Option<&[u8]>) -> String {
    u.map_or_else(
        || "null".to_owned(),
        |u| format!("{:?}", String::from_utf8_lossy(u)),
    )
}

/// What is wrong with the events of one labelled line (empty when nothing is).
fn problems(v: &serde_json::Value, events: &[AuthEvent]) -> Vec<String> {
    let line = v["line"].as_str().unwrap();
    let label = v["label"].as_str().unwrap();
    let want_user = v["user"].as_str().map(str::as_bytes);
    let failures: Vec<&AuthEvent> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Failure)
        .collect();
    let successes: Vec<&AuthEvent> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Success)
        .collect();
    let mut p = Vec::new();
    let check_fields = |e: &AuthEvent, want_ip: Option<IpAddr>, p: &mut Vec<String>| {
        if Some(e.ip.to_canonical()) != want_ip {
            p.push(format!("ip {} instead of {}", e.ip, v["ip"]));
        }
        if e.user.as_deref() != want_user {
            p.push(format!(
                "user {} instead of {}",
                show_user(e.user.as_deref()),
                show_user(want_user)
            ));
        }
    };
    match label {
        "auth_failure" => {
            let want_ip = v["ip"].as_str().and_then(expected_ip);
            if want_ip.is_none() {
                p.push(format!("corpus IP {} unreadable", v["ip"]));
            }
            if !successes.is_empty() {
                p.push(format!("{} success event(s)", successes.len()));
            }
            let n: u32 = failures.iter().map(|e| e.attempts).sum();
            let want_n = expected_attempts(line);
            if n != want_n {
                p.push(format!("{n} failed attempts instead of {want_n}"));
            }
            for e in &failures {
                check_fields(e, want_ip, &mut p);
            }
        }
        "auth_success" => {
            let want_ip = v["ip"].as_str().and_then(expected_ip);
            if !failures.is_empty() {
                p.push(format!("{} failure event(s)", failures.len()));
            }
            if successes.len() != 1 {
                p.push(format!("{} success events instead of 1", successes.len()));
            }
            for e in &successes {
                check_fields(e, want_ip, &mut p);
                if e.attempts != 1 {
                    p.push(format!("success of {} attempts", e.attempts));
                }
            }
        }
        _ => {
            if !events.is_empty() {
                p.push(format!("{} event(s) for a {label} line", events.len()));
            }
        }
    }
    // A year the source assumes is the year the event gets.
    if let Some(year) = v["year_hint"].as_i64() {
        for e in events {
            match e.time {
                None => p.push("no time despite a year hint".to_owned()),
                Some(t) => {
                    let got = jiff::Timestamp::from_second(t.unix)
                        .unwrap()
                        .to_zoned(jiff::tz::TimeZone::UTC)
                        .year();
                    if i64::from(got) != year {
                        p.push(format!("year {got} instead of {year}"));
                    }
                }
            }
        }
    }
    p
}

#[test]
fn every_labelled_postfix_and_dovecot_line() {
    if !Path::new(CORPUS).exists() {
        eprintln!("SKIPPED: shared corpus not found at {CORPUS}");
        return;
    }
    let text = std::fs::read_to_string(CORPUS).unwrap();
    let mut checked = BTreeMap::<String, usize>::new();
    let mut misses = Vec::new();
    for (n, row) in text.lines().enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(row).unwrap_or_else(|e| panic!("corpus line {}: {e}", n + 1));
        let service = v["service"].as_str().unwrap();
        if service != "postfix" && service != "dovecot" {
            continue;
        }
        let label = v["label"].as_str().unwrap();
        assert!(
            LABELS.contains(&label),
            "corpus line {}: label {label}",
            n + 1
        );
        let line = v["line"].as_str().unwrap();
        let year = v["year_hint"].as_i64().map(|y| i32::try_from(y).unwrap());
        let events = events_of(line, year);
        *checked.entry(label.to_owned()).or_default() += 1;
        let p = problems(&v, &events);
        if !p.is_empty() {
            misses.push(format!(
                "corpus line {} [{label}] {line}\n    {}\n    events: {events:?}",
                n + 1,
                p.join("; ")
            ));
        }
    }
    eprintln!("conformance: checked {checked:?}");
    for label in LABELS {
        assert!(
            checked.get(label).copied().unwrap_or(0) > 0,
            "no {label} line checked: {checked:?}"
        );
    }
    assert!(
        misses.is_empty(),
        "{} of {} lines mismatch:\n{}",
        misses.len(),
        checked.values().sum::<usize>(),
        misses.join("\n")
    );
}

#[test]
fn the_checks_can_fail() {
    // The checker itself: a wrong IP, user, count or an extra event is reported.
    let v: serde_json::Value = serde_json::json!({
        "line": "Jan  1 00:00:00 m dovecot: imap-login: Disconnected (auth failed, 2 attempts): user=<bob>, method=PLAIN, rip=::ffff:192.0.2.9, lip=10.0.0.1",
        "label": "auth_failure",
        "ip": "::ffff:192.0.2.9",
        "user": "bob",
        "year_hint": 2005,
    });
    let events = events_of(v["line"].as_str().unwrap(), Some(2005));
    assert!(
        problems(&v, &events).is_empty(),
        "{:?}",
        problems(&v, &events)
    );
    let mut wrong = v.clone();
    wrong["ip"] = "192.0.2.10".into();
    wrong["user"] = "alice".into();
    wrong["line"] = v["line"]
        .as_str()
        .unwrap()
        .replace("2 attempts", "3 attempts")
        .into();
    assert_eq!(problems(&wrong, &events).len(), 3);
    let mut benign = v.clone();
    benign["label"] = "benign".into();
    assert_eq!(problems(&benign, &events).len(), 1);
}

//! Conformance over real log lines: `../shared/corpus/real-lines.jsonl` (labelled lines from the
//! test suites of public projects). Every Postfix/Dovecot `auth_failure` must be reported as
//! failures summing to its attempts (N from "N attempts", else 1) with the exact IP and user;
//! `auth_success` as one success; `benign` and `other_attack` as no event at all.

use std::net::IpAddr;
use std::path::Path;

use maillogsentinel::correlate::Windows;
use maillogsentinel::envelope::timestamp::{Clock, YearRule};
use maillogsentinel::event::{AuthEvent, Outcome};
use maillogsentinel::pipeline::Pipeline;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/real-lines.jsonl"
);

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

fn ip(s: &str) -> IpAddr {
    maillogsentinel::detect::parse_ip(s.as_bytes()).expect("corpus IP")
}

#[test]
fn every_labelled_postfix_and_dovecot_line() {
    if !Path::new(CORPUS).exists() {
        eprintln!("SKIPPED: shared corpus not found at {CORPUS}");
        return;
    }
    let text = std::fs::read_to_string(CORPUS).unwrap();
    let mut checked = std::collections::BTreeMap::<String, usize>::new();
    let mut misses = Vec::new();
    for row in text.lines() {
        let v: serde_json::Value = serde_json::from_str(row).unwrap();
        let service = v["service"].as_str().unwrap();
        if service != "postfix" && service != "dovecot" {
            continue;
        }
        let line = v["line"].as_str().unwrap();
        let label = v["label"].as_str().unwrap();
        let year = v["year_hint"].as_i64().map(|y| y as i32);
        let events = events_of(line, year);
        *checked.entry(label.to_owned()).or_default() += 1;
        let want_user = v["user"].as_str().map(str::as_bytes);
        let failures: Vec<_> = events
            .iter()
            .filter(|e| e.outcome == Outcome::Failure)
            .collect();
        let successes: Vec<_> = events
            .iter()
            .filter(|e| e.outcome == Outcome::Success)
            .collect();
        let ok = match label {
            "auth_failure" => {
                let n: u32 = line
                    .split("auth failed, ")
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let want_ip = ip(v["ip"].as_str().unwrap());
                !failures.is_empty()
                    && successes.is_empty()
                    && failures.iter().map(|e| e.attempts).sum::<u32>() == n
                    && failures
                        .iter()
                        .all(|e| e.ip == want_ip && e.user.as_deref() == want_user)
            }
            "auth_success" => {
                let want_ip = ip(v["ip"].as_str().unwrap());
                failures.is_empty()
                    && successes.len() == 1
                    && successes[0].ip == want_ip
                    && successes[0].user.as_deref() == want_user
            }
            _ => events.is_empty(),
        };
        if !ok {
            misses.push(format!("{label} {line}\n    -> {events:?}"));
        }
    }
    eprintln!("conformance: checked {checked:?}");
    for label in ["auth_failure", "auth_success", "benign", "other_attack"] {
        assert!(
            checked.get(label).copied().unwrap_or(0) > 0,
            "no {label} line checked"
        );
    }
    assert!(
        misses.is_empty(),
        "{} misses:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

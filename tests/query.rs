//! `query` end to end: a log stored by a run, asked through the command line in each format,
//! with times in the config's zone and relative to now.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::support;

fn query(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(config)
        .arg("query")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(config: &Path, args: &[&str]) -> String {
    let o = query(config, args);
    assert!(
        o.status.success(),
        "query {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn postfix_failure(at: &str, ip: &str, user: &str) -> String {
    format!(
        "{at} mx1 postfix/smtpd[1]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}\n"
    )
}

fn dovecot_login(at: &str, ip: &str, user: &str) -> String {
    format!(
        "{at} mx1 dovecot: imap-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, mpid=1, TLS, session=<s{}>\n",
        at.len() + ip.len()
    )
}

#[test]
fn filters_groups_formats_and_time_zones_from_the_command_line() {
    let s = support::setup();
    let conf = fs::read_to_string(&s.config).unwrap();
    fs::write(
        &s.config,
        conf.replace("[general]\n", "[general]\ntimezone = Europe/Paris\n"),
    )
    .unwrap();
    assert_eq!(
        query(&s.config, &["--ip", "192.0.2.7"]).status.code(),
        Some(66),
        "no store yet"
    );
    let mut log = String::new();
    log += &postfix_failure("2026-11-23T09:00:00+00:00", "198.51.100.7", "alice");
    log += &postfix_failure(
        "2026-11-23T09:30:00+00:00",
        "198.51.100.7",
        "=cmd;\x1b[31mred",
    );
    log += &postfix_failure("2026-11-23T10:15:00+00:00", "198.51.100.8", "alice");
    log += &dovecot_login("2026-11-23T11:00:00+00:00", "203.0.113.5", "alice");
    log += &postfix_failure("2026-11-24T08:00:00+00:00", "2001:db8:5::1", "bob");
    fs::write(s.logs.join("mail.log"), log).unwrap();
    support::run_ok(&s.config);

    // A network, newest first, as a table in Paris time, the escape shown, not sent.
    let table = stdout(&s.config, &["--ip", "198.51.100.0/24"]);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(rows[0].starts_with("time "), "{table}");
    assert!(
        rows[1].starts_with("2026-11-23T11:15:00+01:00  mx1"),
        "{table}"
    );
    assert!(rows[2].contains("=cmd;\\x1b[31mred"), "{table}");
    assert!(!table.contains('\x1b'));
    assert!(
        rows[3].starts_with("2026-11-23T10:00:00+01:00") && rows[3].contains("alice"),
        "{table}"
    );

    // Grouped by user, as CSV: the formula neutralised and quoted.
    assert_eq!(
        stdout(
            &s.config,
            &[
                "--ip",
                "198.51.100.0/24",
                "--group-by",
                "user",
                "--format",
                "csv"
            ]
        ),
        "user;events;failures;successes;first_seen;last_seen\n\
         alice;2;2;0;2026-11-23T10:00:00+01:00;2026-11-23T11:15:00+01:00\n\
         \"'=cmd;\\x1b[31mred\";1;1;0;2026-11-23T10:30:00+01:00;2026-11-23T10:30:00+01:00\n"
    );

    // Where alice logged in from, as JSON.
    let json: serde_json::Value = serde_json::from_str(&stdout(
        &s.config,
        &[
            "--user",
            "alice",
            "--outcome",
            "success",
            "--group-by",
            "ip",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"ip": "203.0.113.5", "events": 1, "failures": 0, "successes": 1,
            "first_seen": "2026-11-23T12:00:00+01:00", "last_seen": "2026-11-23T12:00:00+01:00"}])
    );

    // Times are read in the config's zone: 10:30 Paris is 09:30 UTC.
    let since = stdout(
        &s.config,
        &[
            "--since",
            "2026-11-23 10:30",
            "--until",
            "2026-11-23 12:00",
            "--format",
            "csv",
        ],
    );
    let ips: Vec<&str> = since
        .lines()
        .skip(1)
        .map(|l| l.split(';').nth(5).unwrap())
        .collect();
    assert_eq!(ips, ["198.51.100.8", "198.51.100.7"], "{since}");
    let days = stdout(&s.config, &["--group-by", "day", "--format", "csv"]);
    let days: Vec<String> = days
        .lines()
        .skip(1)
        .map(|l| l.split(';').take(2).collect::<Vec<_>>().join(";"))
        .collect();
    assert_eq!(days, ["2026-11-23;4", "2026-11-24;1"]);
    assert_eq!(
        stdout(&s.config, &["--ip", "2001:db8::/32", "--format", "csv"])
            .lines()
            .count(),
        2
    );
    assert_eq!(
        stdout(&s.config, &["--user-like", "b?b", "--format", "csv"])
            .lines()
            .count(),
        2
    );
    assert_eq!(
        stdout(&s.config, &["--limit", "2", "--format", "csv"])
            .lines()
            .count(),
        3
    );

    // Unreadable filters: 64 with the reason; a bad address is refused by the parser.
    let bad = query(&s.config, &["--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since last tuesday"));
    assert_eq!(
        query(&s.config, &["--ip", "mail.example"]).status.code(),
        Some(2)
    );
}

#[test]
fn relative_times_count_back_from_now() {
    let s = support::setup();
    let now = jiff::Timestamp::now();
    let ago = |h: i64| {
        (now - jiff::SignedDuration::from_hours(h))
            .strftime("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()
    };
    // Each event sits hours inside its windows: the query's "now" is later than
    // this one by however long the run takes, and a slow machine takes seconds.
    let mut log = String::new();
    log += &postfix_failure(&ago(60), "198.51.100.1", "sixty-hours");
    log += &postfix_failure(&ago(20), "198.51.100.2", "twenty-hours");
    log += &postfix_failure(&ago(1), "198.51.100.3", "one-hour");
    fs::write(s.logs.join("mail.log"), log).unwrap();
    support::run_ok(&s.config);
    let users = |args: &[&str]| -> Vec<String> {
        let mut all = args.to_vec();
        all.extend(["--format", "csv"]);
        stdout(&s.config, &all)
            .lines()
            .skip(1)
            .map(|l| l.split(';').nth(6).unwrap().to_owned())
            .collect()
    };
    assert_eq!(users(&["--since", "2d"]), ["one-hour", "twenty-hours"]);
    assert_eq!(users(&["--since", "12h"]), ["one-hour"]);
    assert_eq!(users(&["--until", "12h"]), ["twenty-hours", "sixty-hours"]);
    assert_eq!(users(&["--since", "3d", "--until", "2d"]), ["sixty-hours"]);
}

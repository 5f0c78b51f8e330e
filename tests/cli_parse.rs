//! `maillogsentinel parse` as users call it: inputs (gzip by content, truncated gzip, stdin,
//! garbage), formats (jsonl, csv, table) with hostile values, the summary, `--year`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn parse(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .arg("parse")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or(b"")).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn failure(n: u32, user: &str) -> String {
    format!(
        "Nov 23 06:25:{:02} mx1 postfix/smtpd[1]: warning: unknown[192.0.2.{}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}\n",
        n % 60,
        n % 250 + 1
    )
}

fn jsonl(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn gzip_is_read_by_content_and_a_truncated_one_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let log: String = (0..2000).map(|n| failure(n, &format!("u{n}"))).collect();
    let packed = gzip(log.as_bytes());
    let whole = dir.path().join("mail.log.1"); // no .gz in the name
    std::fs::write(&whole, &packed).unwrap();
    let o = parse(&[whole.to_str().unwrap()], None);
    assert!(o.status.success());
    assert_eq!(jsonl(&o).len(), 2000);

    let cut = dir.path().join("mail.log.2.gz");
    std::fs::write(&cut, &packed[..packed.len() / 2]).unwrap();
    let o = parse(&[cut.to_str().unwrap(), whole.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("mail.log.2.gz"), "{err}");
    let events = jsonl(&o);
    assert!(
        events.len() > 2000 && events.len() < 4000,
        "{}",
        events.len()
    );
    // What came out of the damaged file is a prefix, in order.
    for (i, e) in events.iter().take(events.len() - 2000).enumerate() {
        assert_eq!(e["user"], format!("u{i}"));
    }
}

#[test]
fn garbage_long_lines_and_invalid_utf8_do_not_stop_the_run() {
    let mut log = Vec::new();
    log.extend_from_slice(failure(1, "before").as_bytes());
    log.extend_from_slice(b"\x00\xff\xfe garbage \x1b[2J\x07 SASL auth Login\n");
    log.extend(std::iter::repeat_n(b'A', 1_000_000));
    log.extend_from_slice(b" SASL LOGIN authentication failed\n");
    log.extend_from_slice(failure(2, "caf\u{e9}\u{1b}[31m").as_bytes());
    let mut bad_user = failure(3, "X").into_bytes();
    let at = bad_user.len() - 2;
    bad_user.splice(at..at + 1, [0xff, 0xfe]);
    log.extend_from_slice(&bad_user);
    log.extend_from_slice(failure(4, "after").as_bytes());
    let o = parse(&["-"], Some(&log));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = jsonl(&o);
    let users: Vec<&str> = events.iter().map(|e| e["user"].as_str().unwrap()).collect();
    assert_eq!(
        users,
        ["before", "caf\u{e9}\u{1b}[31m", "\u{fffd}\u{fffd}", "after"]
    );
    assert_eq!(events[2]["user_hex"], "fffe");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("skipped as too long: 1"), "{err}");
}

#[test]
fn hostile_names_are_neutralised_in_every_format() {
    let names = [
        "=cmd|' /C calc'!A0",
        "a;b\"c",
        "line?nbreak",
        "\u{1b}]0;pwned\u{7}",
        "+1",
        "@x",
    ];
    let log: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| failure(i as u32, n))
        .collect();
    // CSV: formulas get a quote, separators and quotes are quoted.
    let o = parse(&["--format", "csv", "-"], Some(log.as_bytes()));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(csv.contains(";'=cmd|' /C calc'!A0;"), "{csv}");
    assert!(csv.contains(";\"a;b\"\"c\";"), "{csv}");
    assert!(csv.contains(";'+1;") && csv.contains(";'@x;"), "{csv}");
    // Table: no control character reaches the terminal.
    let o = parse(&["--format", "table", "-"], Some(log.as_bytes()));
    assert!(
        o.stdout
            .iter()
            .all(|&b| b == b'\n' || !b.is_ascii_control())
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("\\x1b]0;pwned\\x07"));
    // JSON Lines: one valid object per line, names exact.
    let o = parse(&["-"], Some(log.as_bytes()));
    let events = jsonl(&o);
    assert_eq!(events.len(), names.len());
    for (e, n) in events.iter().zip(names) {
        assert_eq!(e["user"], n);
        for field in [
            "time",
            "server",
            "service",
            "protocol",
            "outcome",
            "ip",
            "user",
            "mechanism",
            "reason",
            "attempts",
        ] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
    }
}

#[test]
fn show_unmatched_and_the_summary() {
    let log = format!(
        "{}Nov 23 07:00:00 mx1 dovecot: auth: newdriver(u,1.2.3.4): Authentication refused by policy\nNov 23 07:00:01 mx1 postfix/smtpd[1]: warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: Connection lost to authentication server\n",
        failure(1, "a")
    );
    let o = parse(&["--show-unmatched", "-"], Some(log.as_bytes()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unmatched: Nov 23 07:00:00 mx1 dovecot: auth: newdriver"),
        "{err}"
    );
    assert!(err.contains("suspicious unmatched lines: 1"), "{err}");
    assert!(err.contains("lines read: 3"), "{err}");
    assert!(err.contains("1 tempfails"), "{err}");
    assert!(
        err.contains("total    failed attempts: 1, successful logins: 0"),
        "{err}"
    );
}

#[test]
fn year_option_and_new_year_roll_over() {
    let log = "Dec 31 23:59:59 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x\nJan  1 00:00:01 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x\nFeb 29 12:00:00 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x\n";
    let o = parse(
        &["--year", "2023", "--timezone", "UTC", "-"],
        Some(log.as_bytes()),
    );
    let times: Vec<String> = jsonl(&o)
        .iter()
        .map(|e| e["time"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        times,
        [
            "2023-12-31T23:59:59Z",
            "2024-01-01T00:00:01Z",
            "2024-02-29T12:00:00Z"
        ]
    );
    let o = parse(
        &["--timezone", "Europe/Paris", "--year", "2025", "-"],
        Some(log.as_bytes()),
    );
    let e = &jsonl(&o)[0];
    assert_eq!(
        (e["time"].as_str(), e["offset"].as_str()),
        (Some("2025-12-31T22:59:59Z"), Some("+01:00"))
    );
}

/// `--explain`: each rule's line says its rule, its fields and how it was counted (at once,
/// waiting, paired with the waiting line's number, alone at the end); a near miss names the
/// nearest rule; a line without an auth word is skipped; controls are escaped.
#[test]
fn explain_tells_the_rule_fields_and_counting_of_each_line() {
    let lines = [
        "Nov 23 06:25:04 mx1 postfix/smtpd[1]: warning: unknown[185.220.101.45]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=adm\x1b[2Jin",
        "Nov 23 06:25:05 mx1 dovecot: auth: passwd-file(alice,192.0.2.5,<sess1>): Password mismatch",
        "Nov 23 06:25:07 mx1 dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.5, lip=192.0.2.1, mpid=1, TLS, session=<sess1>",
        "Nov 23 06:25:08 mx1 dovecot: auth: passwd-file(bob,192.0.2.6): unknown user",
        "Nov 23 06:25:10 mx1 postfix/smtpd[2]: warning: unknown[192.0.2.6]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=bob",
        "Nov 23 06:25:11 mx1 postfix/smtpd[2]: warning: SASL authentication failed for a shape no rule knows",
        "Nov 23 06:25:12 mx1 postfix/smtp[3]: 4F00: to=<x@y>, status=sent",
        "Nov 23 06:25:13 mx1 postfix/smtpd[4]: warning: unknown[184.74.182.226]: SASL PLAIN authentication failed: Connection lost to authentication server, sasl_username=admin",
        "Nov 23 06:25:14 mx1 dovecot: managesieve-login: Disconnected: Aborted login by logging out (auth failed, 3 attempts in 10 secs): user=<simon>, method=PLAIN, rip=49.5.222.122, lip=198.51.100.25, session=<dk0m>",
        "Nov 23 06:25:15 mx1 postfix/smtpd[5]: warning: unknown[203.0.113.8]: SASL LOGIN authentication aborted",
        "Nov 23 06:25:16 mx1 postfix/smtpd[5]: disconnect from unknown[203.0.113.8] ehlo=1 auth=0/1 quit=1 commands=2/3",
        "2026-11-23T06:25:17.5+01:00 mx1 postfix/smtpd[6]: 4F00AA: client=unknown[192.0.2.9], sasl_method=PLAIN, sasl_username=dave",
        "Nov 23 06:25:18 mx1 dovecot: auth: passwd-file(carol,192.0.2.7,<s9>): Password mismatch",
    ];
    let input = lines.join("\n") + "\n";
    let o = parse(
        &["--explain", "--year", "2026", "-"],
        Some(input.as_bytes()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains('\x1b'), "controls are escaped");
    // The block of line N.
    let block = |n: usize| -> &str {
        let start = out.find(&format!("line {n}: ")).unwrap();
        let end = out[start + 1..]
            .find("\nline ")
            .or_else(|| out[start + 1..].find("\nend of input"))
            .map_or(out.len(), |i| start + 1 + i);
        &out[start..end]
    };
    let expect = [
        (1, "postfix SASL authentication failure warning"),
        (1, "user adm\\x1b[2Jin"),
        (1, "counted: failure x1 (postfix smtp) from 185.220.101.45"),
        (1, "classic syslog stamp"),
        (2, "dovecot auth process passdb result"),
        (2, "waiting for the login process's line of session <sess1>"),
        (3, "dovecot login (Login: user=<...>)"),
        (3, "pairs with waiting line(s) 2"),
        (
            3,
            "counted: failure x1 (dovecot imap) from 192.0.2.5, user alice",
        ),
        (
            3,
            "counted: success x1 (dovecot imap) from 192.0.2.5, user alice",
        ),
        (
            4,
            "waiting for Postfix's warning (or Dovecot's line) for 192.0.2.6",
        ),
        (5, "(reason unavailable) (Dovecot SASL)"),
        (5, "pairs with waiting line(s) 4"),
        (6, "rule: none took it"),
        (
            6,
            "nearest rule: postfix SASL failure: `warning: HOST[IP]: SASL MECH authentication failed",
        ),
        (7, "skipped: no authentication word"),
        (8, "postfix tempfail"),
        (8, "counted: nothing"),
        (9, "dovecot login process summary"),
        (
            9,
            "counted: failure x3 (dovecot managesieve) from 49.5.222.122, user simon",
        ),
        (10, "SASL exchange aborted by the client"),
        (11, "not an attempt"),
        (12, "RFC 3339 stamp; time 2026-11-23T05:25:17Z"),
        (
            12,
            "counted: success x1 (postfix smtp) from 192.0.2.9, user dave",
        ),
        (13, "waiting for the login process's line of session <s9>"),
    ];
    for (n, text) in expect {
        assert!(
            block(n).contains(text),
            "line {n} lacks `{text}`:\n{}",
            block(n)
        );
    }
    assert!(
        out.contains("end of input: the waiting line(s) 13 count alone:\n  counted: failure x1 (dovecot unknown) from 192.0.2.7, user carol"),
        "{out}"
    );
    // Explain counts what parse counts: one `counted:` line per event.
    let events = parse(
        &["--format", "jsonl", "--year", "2026", "-"],
        Some(input.as_bytes()),
    );
    let n_events = String::from_utf8(events.stdout).unwrap().lines().count();
    let n_counted = out
        .lines()
        .filter(|l| l.starts_with("  counted: failure") || l.starts_with("  counted: success"))
        .count();
    assert_eq!(n_counted, n_events);
}

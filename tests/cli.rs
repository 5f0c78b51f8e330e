//! `maillogsentinel parse` on files written into a temp dir (and on stdin): inputs (gzip told by
//! its magic bytes, a truncated gzip, garbage, invalid UTF-8, NUL bytes, a 1 MB line), hostile
//! user names in every output format, `--show-unmatched`, the summary, `--year`, the JSON
//! fields. Every expectation comes from the lines the test writes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const FIELDS: [&str; 10] = [
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
];

struct Out {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Out {
    /// The JSON Lines output: one object per line, each with every field.
    #[track_caller]
    fn events(&self) -> Vec<Value> {
        assert!(
            self.stdout.is_empty() || self.stdout.ends_with(b"\n"),
            "output ends mid-line"
        );
        self.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: Value = serde_json::from_slice(l).unwrap_or_else(|e| {
                    panic!("not one JSON object: {e}: {}", String::from_utf8_lossy(l))
                });
                assert!(v.is_object(), "{v}");
                for f in FIELDS {
                    assert!(v.get(f).is_some(), "field {f} missing in {v}");
                }
                v
            })
            .collect()
    }

    fn users(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["user"].as_str().unwrap_or("-").to_owned())
            .collect()
    }
}

/// `maillogsentinel parse ARGS` (times in UTC unless ARGS name a zone), with `stdin` piped in.
fn parse(args: &[&str], stdin: &[u8]) -> Out {
    let zone: &[&str] = if args.contains(&"--timezone") {
        &[]
    } else {
        &["--timezone", "UTC"]
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .arg("parse")
        .args(zone)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // Written from a thread: a big input must not block against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Out {
        code: o.status.code(),
        stdout: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// A Postfix SASL failure of `user` (raw bytes, to the end of the line).
fn postfix_failure(n: u32, user: &[u8]) -> Vec<u8> {
    let mut l = format!(
        "Nov 23 06:{:02}:{:02} mx1 postfix/smtpd[{}]: warning: unknown[192.0.2.{}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=",
        (n / 60) % 60,
        n % 60,
        1000 + n,
        n % 250 + 1
    )
    .into_bytes();
    l.extend_from_slice(user);
    l.push(b'\n');
    l
}

/// A Dovecot login summary of `n` attempts by `user`.
fn dovecot_summary(user: &[u8], n: u32) -> Vec<u8> {
    let mut l = b"Nov 23 07:00:00 mx1 dovecot: imap-login: Disconnected (auth failed, ".to_vec();
    l.extend_from_slice(format!("{n} attempts in 9 secs): user=<").as_bytes());
    l.extend_from_slice(user);
    l.extend_from_slice(b">, method=PLAIN, rip=198.51.100.7, lip=192.0.2.25, session=<xyz>\n");
    l
}

fn log_of(users: &[String]) -> Vec<u8> {
    users
        .iter()
        .enumerate()
        .flat_map(|(i, u)| postfix_failure(i as u32, u.as_bytes()))
        .collect()
}

fn numbered(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("user{i}")).collect()
}

#[test]
fn gzip_input_is_recognised_by_its_magic_bytes_not_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let users = numbered(0..500);
    let file = dir.path().join("maillog-archive"); // no .gz
    std::fs::write(&file, gzip(&log_of(&users))).unwrap();
    let o = parse(&[path(&file)], b"");
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.users(), users);
    // And a plain file named .gz is read as plain text.
    let plain = dir.path().join("mail.log.gz");
    std::fs::write(&plain, log_of(&users[..3])).unwrap();
    let o = parse(&[path(&plain)], b"");
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.users(), &users[..3]);
}

#[test]
fn truncated_gzip_fails_with_status_1_naming_the_file_and_keeps_the_events_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let users = numbered(0..3000);
    let packed = gzip(&log_of(&users));
    let cut = dir.path().join("mail.log.2.gz");
    std::fs::write(&cut, &packed[..packed.len() / 2]).unwrap();
    let o = parse(&[path(&cut)], b"");
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(o.stderr.contains("mail.log.2.gz"), "{}", o.stderr);
    let got = o.users();
    assert!(
        !got.is_empty() && got.len() < users.len(),
        "{} events from half a gzip",
        got.len()
    );
    assert_eq!(got, &users[..got.len()], "a prefix, in order");

    // A file after the damaged one is still read whole.
    let good = dir.path().join("mail.log");
    let later = numbered(5000..5010);
    std::fs::write(&good, log_of(&later)).unwrap();
    let o = parse(&[path(&cut), path(&good)], b"");
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    let all = o.users();
    assert!(
        all.ends_with(&later),
        "{:?}",
        &all[all.len().saturating_sub(12)..]
    );
    assert_eq!(all.len(), got.len() + later.len());
}

#[test]
fn a_missing_file_is_status_1_and_the_others_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mail.log");
    std::fs::write(&good, log_of(&numbered(0..2))).unwrap();
    let missing = dir.path().join("no-such.log");
    let o = parse(&[path(&missing), path(&good)], b"");
    assert_eq!(o.code, Some(1));
    assert!(o.stderr.contains("no-such.log"), "{}", o.stderr);
    assert_eq!(o.users(), numbered(0..2));
}

#[test]
fn garbage_invalid_utf8_nul_bytes_and_a_1mb_line_do_not_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    log.extend(postfix_failure(1, b"before"));
    log.extend_from_slice(b"\xff\xfe\xfd garbage \x1b[2J\x07 SASL auth Login rip= user=<\n");
    log.extend(std::iter::repeat_n(0u8, 4096));
    log.push(b'\n');
    log.extend(postfix_failure(2, b"after-nuls"));
    log.extend_from_slice(b"\x00\x01\x02\x03 dovecot: auth: \x00(\x00,\x00): unknown user\n");
    // A 1 MB line that looks like an attempt.
    log.extend_from_slice(b"Nov 23 06:30:00 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: x, sasl_username=");
    log.extend(std::iter::repeat_n(b'A', 1 << 20));
    log.push(b'\n');
    log.extend(postfix_failure(3, b"after-long"));
    log.extend(postfix_failure(4, b"bad\xff\xfeutf8"));
    log.extend(postfix_failure(5, b"nul\x00inside"));
    log.extend(postfix_failure(6, b"last")); // the last line has its newline...
    log.extend(&postfix_failure(7, b"no-newline")[..]);
    log.pop(); // ...this one has none
    let file = dir.path().join("messy.log");
    std::fs::write(&file, &log).unwrap();
    let o = parse(&[path(&file)], b"");
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let events = o.events();
    let users: Vec<&str> = events.iter().map(|e| e["user"].as_str().unwrap()).collect();
    assert_eq!(
        users,
        [
            "before",
            "after-nuls",
            "after-long",
            "bad\u{fffd}\u{fffd}utf8",
            "nul\u{0}inside",
            "last",
            "no-newline"
        ]
    );
    assert_eq!(events[3]["user_hex"], hex(b"bad\xff\xfeutf8"));
    assert!(events[0].get("user_hex").is_none() || events[0]["user_hex"].is_null());
    assert!(o.stderr.contains("skipped as too long: 1"), "{}", o.stderr);
}

#[test]
fn lines_read_counts_every_line_whatever_its_length() {
    let mut log = postfix_failure(1, b"a");
    for len in [100 << 10, 2 << 20] {
        log.extend_from_slice(b"Nov 23 06:30:00 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: x, sasl_username=");
        log.extend(std::iter::repeat_n(b'A', len));
        log.push(b'\n');
    }
    log.extend(postfix_failure(2, b"b"));
    let o = parse(&["-"], &log);
    assert_eq!(o.users(), ["a", "b"]);
    assert!(o.stderr.contains("skipped as too long: 2"), "{}", o.stderr);
    assert!(o.stderr.contains("lines read: 4 "), "{}", o.stderr);
}

#[test]
fn a_line_right_after_nul_padding_is_still_detected() {
    let mut log = vec![0u8; 512];
    log.extend(postfix_failure(1, b"after-crash"));
    log.extend(postfix_failure(2, b"next"));
    let o = parse(&["-"], &log);
    assert_eq!(o.users(), ["after-crash", "next"]);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Names an attacker can choose, each with what makes it dangerous.
fn hostile_names() -> Vec<Vec<u8>> {
    [
        &b"semi;colon"[..],
        b"quo\"te\"d",
        b"line?nbreak", // how Postfix writes a newline in a name
        b"=cmd|' /C calc'!A0",
        b"+SUM(1)",
        b"-2+3",
        b"@evil",
        b"\x1b[31mred\x1b[0m",
        b"\x1b]0;title\x07bell",
        b"tab\there",
        b"cr\rhere",
        b"=HYPERLINK(\"http://x\";\"y\")",
        b"del\x7f c1\xc2\x9b",
    ]
    .iter()
    .map(|n| n.to_vec())
    .collect()
}

fn hostile_log() -> Vec<u8> {
    let mut log = Vec::new();
    for (i, n) in hostile_names().iter().enumerate() {
        log.extend(postfix_failure(i as u32, n));
    }
    for n in hostile_names() {
        // `>` would end the Dovecot field early in this hand-written line: keep it out.
        assert!(!n.contains(&b'>'));
        log.extend(dovecot_summary(&n, 2));
    }
    log
}

/// A `;`-separated CSV reader (quotes with doubled inner quotes, newlines inside quotes).
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut at_cell_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' if at_cell_start => {
                quoted = true;
                at_cell_start = false;
            }
            '"' => panic!("bare quote inside an unquoted cell: {text}"),
            ';' => {
                row.push(std::mem::take(&mut cell));
                at_cell_start = true;
            }
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                at_cell_start = true;
            }
            c => {
                cell.push(c);
                at_cell_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quote");
    assert!(
        cell.is_empty() && row.is_empty(),
        "last row without newline"
    );
    rows
}

#[test]
fn hostile_names_in_csv_are_neutralised() {
    let o = parse(&["--format", "csv", "-"], &hostile_log());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    let rows = read_csv(&text);
    let header = &rows[0];
    assert_eq!(header.len(), FIELDS.len(), "{header:?}");
    let user_col = header.iter().position(|h| h == "user").unwrap();
    let names = hostile_names();
    assert_eq!(rows.len(), 1 + 2 * names.len(), "{text}");
    for (row, name) in rows[1..].iter().zip(names.iter().chain(names.iter())) {
        assert_eq!(row.len(), header.len(), "{row:?}");
        let name = String::from_utf8(name.clone()).unwrap();
        let formula = name.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let want = if formula {
            format!("'{name}")
        } else {
            name.clone()
        };
        assert_eq!(row[user_col], want);
        // Every cell: no formula can start it.
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "formula cell {cell:?} in {row:?}"
            );
        }
    }
    // The raw text quotes cells holding `;` or `"`.
    assert!(text.contains(";\"semi;colon\";"), "{text}");
    assert!(text.contains(";\"quo\"\"te\"\"d\";"), "{text}");
    assert!(
        text.contains(";\"'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\";"),
        "{text}"
    );
}

#[test]
fn hostile_names_in_the_table_reach_no_terminal_as_control_characters() {
    let o = parse(&["--format", "table", "-"], &hostile_log());
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(!o.stdout.contains(&0x1b), "ESC in the table");
    let text = String::from_utf8(o.stdout.clone()).expect("the table is UTF-8");
    for c in text.chars() {
        assert!(c == '\n' || !c.is_control(), "control {c:?} in the table");
    }
    // Every name is there, with its control bytes shown as \xNN.
    assert!(text.contains("\\x1b[31mred\\x1b[0m"), "{text}");
    assert!(text.contains("\\x1b]0;title\\x07bell"), "{text}");
    assert!(
        text.contains("tab\\x09here") && text.contains("cr\\x0dhere"),
        "{text}"
    );
    assert!(text.contains("del\\x7f c1\\xc2\\x9b"), "{text}");
    assert!(text.contains("line?nbreak") && text.contains("semi;colon"));
    assert_eq!(text.lines().count(), 1 + 2 * hostile_names().len());
}

#[test]
fn hostile_names_in_json_lines_round_trip_exactly() {
    let mut log = hostile_log();
    let invalid: &[u8] = b"in\xffvalid\xc3(utf8";
    log.extend(postfix_failure(40, invalid));
    log.extend(dovecot_summary(invalid, 1));
    let o = parse(&["--format", "jsonl", "-"], &log);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let text = String::from_utf8(o.stdout.clone()).expect("JSON Lines are UTF-8");
    assert!(!text.contains('\u{1b}'), "raw ESC in the JSON");
    let events = o.events();
    let names = hostile_names();
    let mut want: Vec<Vec<u8>> = names.iter().chain(names.iter()).cloned().collect();
    want.push(invalid.to_vec());
    want.push(invalid.to_vec());
    assert_eq!(events.len(), want.len());
    for (e, name) in events.iter().zip(&want) {
        let exact = match std::str::from_utf8(name) {
            Ok(s) => {
                assert_eq!(e["user"].as_str(), Some(s), "{e}");
                assert!(e.get("user_hex").is_none_or(Value::is_null), "{e}");
                s.as_bytes().to_vec()
            }
            Err(_) => {
                assert_eq!(
                    e["user"].as_str(),
                    Some(&*String::from_utf8_lossy(name)),
                    "{e}"
                );
                let h = e["user_hex"].as_str().expect("user_hex for invalid UTF-8");
                (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect()
            }
        };
        assert_eq!(&exact, name, "{e}");
    }
    // The Dovecot summaries keep their attempts and IP.
    for e in &events[names.len()..2 * names.len()] {
        assert_eq!(
            (e["attempts"].as_u64(), e["ip"].as_str()),
            (Some(2), Some("198.51.100.7"))
        );
    }
}

#[test]
fn show_unmatched_prints_an_unknown_auth_line_and_the_summary_counts_it() {
    let unknown =
        "Nov 23 07:00:00 mx1 dovecot: auth: newdriver(u,1.2.3.4): Authentication refused by policy";
    let mut log = postfix_failure(1, b"known");
    log.extend_from_slice(unknown.as_bytes());
    log.push(b'\n');
    log.extend_from_slice(b"Nov 23 07:00:01 mx1 postfix/qmgr[5]: 4F1: removed\n");
    let o = parse(&["--show-unmatched", "-"], &log);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(o.users(), ["known"]);
    let shown: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("unmatched: "))
        .collect();
    assert_eq!(shown, [format!("unmatched: {unknown}")]);
    assert!(
        o.stderr.contains("suspicious unmatched lines: 1"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("lines read: 3 "), "{}", o.stderr);
    // Without the option: counted, not shown.
    let o = parse(&["-"], &log);
    assert!(!o.stderr.contains("unmatched: "), "{}", o.stderr);
    assert!(
        o.stderr.contains("suspicious unmatched lines: 1"),
        "{}",
        o.stderr
    );
    // -q: no summary at all.
    let o = parse(&["-q", "-"], &log);
    assert_eq!(o.stderr, "");
    assert_eq!(o.users(), ["known"]);
}

#[test]
fn the_summary_counts_attempts_not_lines() {
    let mut log = Vec::new();
    log.extend(postfix_failure(1, b"a"));
    log.extend(dovecot_summary(b"b", 4));
    log.extend_from_slice(b"Nov 23 07:00:02 mx1 postfix/smtpd[2]: warning: unknown[192.0.2.3]: SASL LOGIN authentication failed: Connection lost to authentication server, sasl_username=c\n");
    log.extend_from_slice(b"Nov 23 07:00:03 mx1 dovecot: pop3-login: Login: user=<d>, method=PLAIN, rip=192.0.2.4, lip=192.0.2.25, mpid=1, session=<s>\n");
    let o = parse(&["-"], &log);
    assert!(
        o.stderr.contains("postfix  failures: 1 events, 1 attempts"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("dovecot  failures: 1 events, 4 attempts; successes: 1 events, 1 attempts"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("total    failed attempts: 5, successful logins: 1"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("1 tempfails"), "{}", o.stderr);
}

#[test]
fn stdin_is_read_with_a_dash_and_without_arguments() {
    let users = numbered(0..5);
    let log = log_of(&users);
    assert_eq!(parse(&["-"], &log).users(), users);
    assert_eq!(parse(&[], &log).users(), users);
}

fn times(o: &Out) -> Vec<String> {
    o.events()
        .iter()
        .map(|e| e["time"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn year_option_gives_the_first_line_its_year_and_rolls_over_at_new_year() {
    let line = |stamp: &str| {
        format!(
            "{stamp} mx1 postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x\n"
        )
    };
    let o = parse(&["--year", "2024", "-"], line("Feb 29 12:00:00").as_bytes());
    assert_eq!(times(&o), ["2024-02-29T12:00:00Z"]);

    let log = line("Dec 31 23:59:58") + &line("Jan  1 00:00:03");
    let o = parse(&["--year", "2025", "-"], log.as_bytes());
    assert_eq!(times(&o), ["2025-12-31T23:59:58Z", "2026-01-01T00:00:03Z"]);

    // The zone applies to stamps without offset; RFC 3339 stamps keep theirs.
    let log = line("Jul  1 12:00:00") + &line("2025-07-01T12:00:00+02:00");
    let o = parse(
        &["--year", "2025", "--timezone", "Europe/Paris", "-"],
        log.as_bytes(),
    );
    assert_eq!(times(&o), ["2025-07-01T10:00:00Z", "2025-07-01T10:00:00Z"]);
    let offsets: Vec<Value> = o.events().iter().map(|e| e["offset"].clone()).collect();
    assert_eq!(offsets, ["+02:00", "+02:00"]);
}

#[test]
fn json_fields_are_present_and_typed_on_every_kind_of_event() {
    let mut log = Vec::new();
    log.extend(postfix_failure(1, b"pf"));
    log.extend(dovecot_summary(b"dv", 3));
    log.extend_from_slice(b"Nov 23 07:00:03 mx1 dovecot: imap-login: Login: user=<ok>, method=PLAIN, rip=2001:db8::1, lip=192.0.2.25, mpid=1, session=<s>\n");
    log.extend_from_slice(
        b"Nov 23 07:00:04 mx1 dovecot: auth: passwd-file(alone,192.0.2.5): unknown user\n",
    );
    // Headerless (journald) line: no time.
    log.extend_from_slice(b"warning: unknown[192.0.2.6]: SASL PLAIN authentication failed: x\n");
    let o = parse(&["--year", "2025", "-"], &log);
    let events = o.events();
    assert_eq!(events.len(), 5, "{events:?}");
    for e in &events {
        assert!(e["attempts"].as_u64().is_some_and(|n| n >= 1), "{e}");
        assert!(
            e["ip"]
                .as_str()
                .unwrap()
                .parse::<std::net::IpAddr>()
                .is_ok(),
            "{e}"
        );
        assert!(
            ["postfix", "dovecot"].contains(&e["service"].as_str().unwrap()),
            "{e}"
        );
        assert!(
            ["failure", "success"].contains(&e["outcome"].as_str().unwrap()),
            "{e}"
        );
        assert!(e["protocol"].is_string(), "{e}");
        for f in ["time", "server", "user", "mechanism", "reason"] {
            assert!(e[f].is_string() || e[f].is_null(), "{f} in {e}");
        }
    }
    let by_user = |u: &str| events.iter().find(|e| e["user"] == u).unwrap().clone();
    assert_eq!(by_user("pf")["time"], "2025-11-23T06:00:01Z");
    assert_eq!(by_user("pf")["server"], "mx1");
    assert_eq!(by_user("pf")["mechanism"], "LOGIN");
    assert_eq!(by_user("pf")["reason"], "UGFzc3dvcmQ6");
    assert_eq!(by_user("dv")["attempts"], 3);
    assert_eq!(by_user("dv")["protocol"], "imap");
    assert_eq!(by_user("ok")["outcome"], "success");
    assert_eq!(by_user("ok")["ip"], "2001:db8::1");
    assert_eq!(by_user("alone")["service"], "dovecot");
    let headerless = events.iter().find(|e| e["ip"] == "192.0.2.6").unwrap();
    assert!(headerless["time"].is_null() && headerless["server"].is_null());
    assert!(headerless["user"].is_null());
}

//! `export --abuse-report` end to end: a day of attacks stored by a run, exported, and the CSV
//! parsed back as AbuseIPDB reads a bulk report.

use std::fs;
use std::process::Command;

use crate::support;

#[test]
fn the_abuse_report_parses_back_and_names_no_user_or_host() {
    let s = support::setup();
    let log = s.logs.join("mail.log");
    let mut text = String::new();
    for i in 0..3 {
        text.push_str(&format!(
            "Nov 23 10:0{i}:00 mx-internal postfix/smtpd[1]: warning: ptr-{i}.example[198.51.100.{}]: SASL LOGIN authentication failed: x, sasl_username=\"=cmd\";alice{i}\n",
            7 + i % 2
        ));
    }
    text.push_str("Nov 23 11:00:00 mx-internal dovecot: imap-login: Disconnected (auth failed, 3 attempts in 9 secs): user=<bob>, method=PLAIN, rip=2001:db8::5, lip=2001:db8::25, session=<s1>\n");
    // A customer who mistyped, then logged in: not reported.
    text.push_str("Nov 23 12:00:00 mx-internal dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<carol>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, session=<s2>\n");
    text.push_str("Nov 23 12:01:00 mx-internal dovecot: imap-login: Login: user=<carol>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, mpid=1, TLS, session=<s3>\n");
    // Another day: outside the window.
    text.push_str("Nov 24 09:00:00 mx-internal postfix/smtpd[1]: warning: unknown[198.51.100.99]: SASL LOGIN authentication failed: x, sasl_username=z\n");
    fs::write(&log, text).unwrap();
    support::touch(&log, "2026-11-24 10:00:00");
    support::run_ok(&s.config);
    let out_file = s.logs.join("abuse.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(&s.config)
        .args([
            "export",
            "--abuse-report",
            "--date",
            "2026-11-23",
            "--output",
        ])
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv_text = fs::read_to_string(&out_file).unwrap();
    for leak in [
        "alice",
        "bob",
        "carol",
        "cmd",
        "mx-internal",
        "ptr-",
        "203.0.113.9",
        "198.51.100.99",
    ] {
        assert!(!csv_text.contains(leak), "{leak} in {csv_text}");
    }
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["IP", "Categories", "ReportDate", "Comment"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let ips: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(ips, ["198.51.100.7", "198.51.100.8", "2001:db8::5"]);
    assert_eq!(&rows[0][1], "18,11");
    assert_eq!(&rows[2][1], "18");
    for r in &rows {
        r[2].parse::<jiff::Timestamp>().unwrap();
        assert!(r[3].len() <= 1024);
    }
    assert!(
        rows[0][3].starts_with("2 failed mail login attempts (smtp)"),
        "{}",
        &rows[0][3]
    );
    assert!(
        rows[2][3].starts_with("3 failed mail login attempts (imap)"),
        "{}",
        &rows[2][3]
    );
}

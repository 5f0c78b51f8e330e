//! End to end through a real MTA: Postfix on loopback (local delivery only; scripts/test
//! installs and starts it) receives the report by `sendmail` and by SMTP, delivers it to the
//! running user's mailbox, and the delivered message is checked: headers, multipart structure,
//! a decodable PNG, the CSV attachment's rows. Without Postfix the tests say SKIPPED, and fail
//! when MLS_REQUIRE_SERVERS=1 (as scripts/test sets).

use crate::support;

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};

fn postfix_ready(test: &str) -> bool {
    let why = if !Path::new("/usr/sbin/sendmail").exists() {
        "/usr/sbin/sendmail not found (Debian package postfix)"
    } else if TcpStream::connect("127.0.0.1:25").is_err() {
        "nothing listens on 127.0.0.1:25 (start Postfix: postfix start)"
    } else {
        return true;
    };
    if std::env::var_os("MLS_REQUIRE_SERVERS").is_some() {
        panic!("{test}: {why}, and MLS_REQUIRE_SERVERS is set");
    }
    eprintln!("SKIPPED {test}: {why}");
    false
}

fn user() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .expect("the running user is in /etc/passwd")
        .name
}

fn mailbox() -> PathBuf {
    Path::new("/var/mail").join(user())
}

/// The delivered message whose subject holds `token` (waits for local delivery, and for the
/// mailbox to stop growing: local delivery appends a message in several writes, and other
/// tests' messages arrive meanwhile).
fn delivered(token: &str) -> Vec<u8> {
    let start = Instant::now();
    let mut last_len = None;
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no whole message with {token} delivered to {}",
            mailbox().display()
        );
        let mbox = fs::read(mailbox()).unwrap_or_default();
        let stable = last_len == Some(mbox.len());
        last_len = Some(mbox.len());
        let text = String::from_utf8_lossy(&mbox);
        if let Some(at) = text.find(token).filter(|_| stable) {
            let begin = text[..at].rfind("\nFrom ").map_or(0, |i| i + 1);
            let end = text[at..]
                .find("\nFrom ")
                .map_or(text.len(), |i| at + i + 1);
            // The last message is whole once it ends with mbox's blank line.
            if end == text.len() && !text.ends_with("\n\n") {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            // Drop the mbox separator line.
            let msg = &text[begin..end];
            let msg = msg.split_once('\n').map_or(msg, |(_, rest)| rest);
            return msg.as_bytes().to_vec();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run_report(transport: &str) -> (String, Vec<u8>) {
    let s = support::setup();
    let log = s.logs.join("mail.log");
    let mut text = String::new();
    for (i, user) in ["alice", "x?r?nBcc: victim@example.org", "<b>bold</b>"]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "Nov 23 10:0{i}:00 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.{i}]: SASL LOGIN authentication failed: x, sasl_username={user}\n"
        ));
    }
    text.push_str("Nov 23 11:00:00 mx1 dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.0, lip=192.0.2.254, mpid=1, TLS, session=<abc>\n");
    fs::write(&log, text).unwrap();
    support::touch(&log, "2026-11-24 00:00:00");
    let token = format!(
        "[MLS-e2e-{}-{}]",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let config = fs::read_to_string(&s.config).unwrap();
    fs::write(
        &s.config,
        format!(
            "{config}\n[report]\nemail = {}@localhost\nfrom = mls-test@localhost\nsubject_prefix = {token}\n{transport}",
            user()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(&s.config)
        .args(["--report", "--date", "2026-11-23"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (token.clone(), delivered(&token))
}

fn check(token: &str, raw: &[u8]) {
    let m = MessageParser::default()
        .parse(raw)
        .expect("a parsable message");
    let subject = m.subject().unwrap();
    assert!(subject.starts_with(token), "{subject}");
    assert!(
        subject.contains("3 failed attempts, 2026-11-23"),
        "{subject}"
    );
    assert!(
        subject.contains("POSSIBLE COMPROMISE"),
        "alice logged in after failing: {subject}"
    );
    assert_eq!(
        m.from().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("mls-test@localhost")
    );
    assert_eq!(
        m.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some(format!("{}@localhost", user()).as_str())
    );
    // No header came from a log line.
    assert!(m.header_raw("Bcc").is_none());
    let raw_text = String::from_utf8_lossy(raw);
    assert!(!raw_text.to_ascii_lowercase().contains("\nbcc:"));
    assert!(
        m.content_type()
            .is_some_and(|c| c.ctype() == "multipart" && c.subtype() == Some("mixed"))
    );
    let text = m.body_text(0).unwrap();
    assert!(text.contains("Total failed attempts: 3 "), "{text}");
    let html = m.body_html(0).unwrap();
    assert!(html.contains("<img src=\"cid:chart\""), "{html}");
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"), "{html}");
    let mut png_seen = false;
    let mut csv_seen = false;
    for a in m.attachments() {
        let ct = a.content_type().unwrap();
        match (ct.ctype(), ct.subtype()) {
            ("image", Some("png")) => {
                assert_eq!(a.content_id(), Some("chart"));
                let decoder = png::Decoder::new(std::io::Cursor::new(a.contents().to_vec()));
                let reader = decoder.read_info().expect("a decodable PNG");
                assert_eq!(reader.info().width, maillogsentinel::report::chart::WIDTH);
                png_seen = true;
            }
            ("text", Some("csv")) => {
                assert_eq!(a.attachment_name(), Some("maillogsentinel-2026-11-23.csv"));
                let csv = String::from_utf8_lossy(a.contents()).into_owned();
                let lines: Vec<&str> = csv.lines().collect();
                assert_eq!(
                    lines[0],
                    "server;date;ip;user;hostname;reverse_dns_status;country_code;asn;aso"
                );
                assert_eq!(
                    lines[1..],
                    [
                        "mx1;23/11/2026 10:00;192.0.2.0;alice;null;null;null;null;null",
                        "mx1;23/11/2026 10:01;192.0.2.1;x?r?nBcc: victim@example.org;null;null;null;null;null",
                        "mx1;23/11/2026 10:02;192.0.2.2;<b>bold</b>;null;null;null;null;null",
                    ]
                );
                csv_seen = true;
            }
            other => panic!("unexpected attachment {other:?}"),
        }
    }
    assert!(png_seen && csv_seen);
}

#[test]
fn the_report_reaches_a_mailbox_through_sendmail() {
    if !postfix_ready("report through sendmail") {
        return;
    }
    let (token, raw) = run_report("transport = sendmail\n");
    check(&token, &raw);
}

#[test]
fn the_report_reaches_a_mailbox_through_smtp() {
    if !postfix_ready("report through SMTP") {
        return;
    }
    let (token, raw) = run_report("transport = smtp\nsmtp_host = 127.0.0.1\nsmtp_port = 25\n");
    check(&token, &raw);
}

/// An alert by mail (`[alerts] email`, `[report]`'s sendmail): a takeover in lines stamped now.
#[test]
fn an_alert_reaches_a_mailbox_through_sendmail() {
    if !postfix_ready("an_alert_reaches_a_mailbox_through_sendmail") {
        return;
    }
    let s = support::setup();
    let now = jiff::Timestamp::now();
    let stamp = |ago: i64| {
        (now - jiff::SignedDuration::from_secs(ago))
            .strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_string()
    };
    fs::write(
        s.logs.join("mail.log"),
        format!(
            "{} mx1 postfix/smtpd[1]: warning: unknown[192.0.2.44]: SASL LOGIN authentication failed: x, sasl_username=dave\n\
             {} mx1 dovecot: imap-login: Login: user=<dave\\r\\nBcc: victim@example.org>, method=PLAIN, rip=192.0.2.44, lip=192.0.2.254, mpid=1, TLS, session=<m1>\n",
            stamp(20),
            stamp(10)
        ),
    )
    .unwrap();
    let token = format!("[MLS-alert-{}-{}]", std::process::id(), now.as_nanosecond());
    let config = fs::read_to_string(&s.config).unwrap();
    fs::write(
        &s.config,
        format!(
            "{config}\n[report]\nfrom = mls-test@localhost\nsubject_prefix = {token}\n\n[alerts]\nemail = {}@localhost\n",
            user()
        ),
    )
    .unwrap();
    support::run_ok(&s.config);
    let raw = delivered(&token);
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(
        m.subject(),
        Some(format!("{token} POSSIBLE COMPROMISE on mx1").as_str())
    );
    assert!(m.header_raw("Bcc").is_none(), "no header from a log line");
    let body = m.body_text(0).unwrap();
    assert!(
        body.contains("logged in (dovecot imap) from 192.0.2.44"),
        "{body}"
    );
    let json = body.lines().find(|l| l.starts_with('{')).unwrap();
    let alert: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(alert["kind"], "compromise");
    assert_eq!(alert["ip"], "192.0.2.44");
}

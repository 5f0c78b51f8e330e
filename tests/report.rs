//! The report from a fixed store: snapshots of the text and HTML (rewrite them with
//! UPDATE_SNAPSHOTS=1 after a deliberate change, and read the diff), what each section finds
//! (compromises by address, network and ASN, spraying, new vs returning, trend, hours), and the
//! command line (`--report --stdout --date`, `--since/--until`, files under reports/, a
//! delivery failure that keeps the report).

use crate::support;

use std::fs;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use maillogsentinel::envelope::timestamp::EventTime;
use maillogsentinel::event::{AuthEvent, Outcome, Protocol, Service};
use maillogsentinel::report::{Evidence, HostInfo, Report, Window, chart, html, text};
use maillogsentinel::store::{Commit, Enrichment, IngestStore, RunCounts, Store};

/// 2026-11-23T00:00:00Z: the reported day.
const DAY: i64 = 1_795_392_000;

fn ev(t: i64, ip: &str, user: &[u8], outcome: Outcome, attempts: u32) -> AuthEvent {
    AuthEvent {
        time: Some(EventTime {
            unix: t,
            nanos: 0,
            offset_secs: 0,
        }),
        server: Some("mx1".into()),
        service: Service::Dovecot,
        protocol: Protocol::Imap,
        outcome,
        ip: ip.parse::<IpAddr>().unwrap(),
        user: Some(user.to_vec()),
        mechanism: None,
        reason: None,
        attempts,
        session: None,
    }
}

fn geo(country: &str, asn: &str, aso: &str, host: Option<&str>, status: &str) -> Enrichment {
    Enrichment {
        hostname: host.map(str::to_owned),
        reverse_dns_status: Some(status.to_owned()),
        country_code: Some(country.to_owned()),
        asn: Some(asn.to_owned()),
        aso: Some(aso.to_owned()),
        ptr_confirmed: None,
    }
}

/// A store with a week of history and one reported day holding every case.
fn fixed_store(dir: &Path) -> Store {
    use Outcome::{Failure as F, Success as S};
    let fr = || geo("FR", "64500", "Example SA", Some("scan.example.net"), "OK");
    let cn = || geo("CN", "64501", "Far <Net>", None, "NXDOMAIN");
    let us = || geo("US", "64502", "Cloud & Co", None, "Timeout");
    let rows: Vec<(AuthEvent, Enrichment)> = vec![
        // History: 192.0.2.10 failed 3 days ago; 198.51.100.0/24 and AS64502 failed 2 days ago.
        (ev(DAY - 3 * 86400, "192.0.2.10", b"alice", F, 2), fr()),
        (ev(DAY - 2 * 86400, "198.51.100.9", b"bob", F, 1), cn()),
        (
            ev(DAY - 2 * 86400 + 60, "203.0.113.50", b"carol", F, 4),
            us(),
        ),
        // The day before: 5 failures (the trend's reference).
        (ev(DAY - 3600, "192.0.2.10", b"alice", F, 5), fr()),
        // The day: failures, spraying of `dave` from 3 addresses, hostile names.
        (ev(DAY + 3600, "192.0.2.10", b"alice", F, 3), fr()),
        (ev(DAY + 3700, "192.0.2.11", b"dave", F, 1), fr()),
        (ev(DAY + 3800, "192.0.2.12", b"dave", F, 1), fr()),
        (ev(DAY + 3900, "2001:db8::5", b"dave", F, 2), cn()),
        (
            ev(
                DAY + 7200,
                "2001:db8::6",
                b"\x1b]0;pwn\x07<script>x</script>",
                F,
                1,
            ),
            cn(),
        ),
        (
            ev(DAY + 7300, "198.51.100.77", b"=cmd|'/C calc'!A0", F, 1),
            cn(),
        ),
        // Successes: same IP as earlier failures, same /24, same ASN, and a clean one.
        (ev(DAY + 36000, "192.0.2.10", b"alice", S, 1), fr()),
        (ev(DAY + 36100, "198.51.100.200", b"bob", S, 1), cn()),
        (
            ev(DAY + 36200, "198.18.0.5", b"erin", S, 1),
            geo("US", "64502", "Cloud & Co", None, "OK"),
        ),
        (
            ev(DAY + 36300, "203.0.114.1", b"dave", S, 1),
            geo("DE", "64999", "Clean", None, "OK"),
        ),
        // The next day: not in the window.
        (ev(DAY + 86400, "192.0.2.10", b"alice", F, 9), fr()),
    ];
    let mut store = Store::open(&dir.join("maillogsentinel.db")).unwrap();
    let events: Vec<(AuthEvent, String)> = rows
        .iter()
        .map(|(e, _)| (e.clone(), "fp".to_owned()))
        .collect();
    let enrichments: Vec<Enrichment> = rows.into_iter().map(|(_, en)| en).collect();
    store
        .commit(&Commit {
            events: &events,
            enrichments: &enrichments,
            ..Commit::default()
        })
        .unwrap();
    store
        .record_run(&RunCounts {
            finished_unix: DAY + 40000,
            lines: 1234,
            events: 14,
            unmatched: 2,
            tempfails: 1,
            aborted: 0,
            ..RunCounts::default()
        })
        .unwrap();
    store
}

fn report(store: &Store) -> Report {
    let tz = jiff::tz::TimeZone::UTC;
    let window = Window::day("2026-11-23".parse().unwrap(), &tz).unwrap();
    let generated = jiff::Timestamp::from_second(DAY + 86400 + 300)
        .unwrap()
        .to_zoned(tz);
    Report::build(
        store,
        window,
        HostInfo {
            fqdn: "mx1.example.org".into(),
            ip: Some("192.0.2.1".into()),
            extraction_interval: "hourly (maillogsentinel-extract.timer)".into(),
        },
        generated,
        Some((
            "/var/log/maillogsentinel/maillogsentinel.csv".into(),
            4096,
            20,
        )),
    )
    .unwrap()
}

fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: run with UPDATE_SNAPSHOTS=1", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(i, (a, b))| format!("line {}:\n  expected {a:?}\n  actual   {b:?}", i + 1))
            .collect();
        panic!(
            "{name} differs from its snapshot ({} vs {} lines):\n{}",
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn text_and_html_match_their_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(&fixed_store(dir.path()));
    snapshot("report.txt", &text::render(&r));
    snapshot("report.html", &html::render(&r, "cid:chart"));
}

#[test]
fn each_section_finds_what_the_store_holds() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(&fixed_store(dir.path()));
    assert_eq!(r.failures, 3 + 1 + 1 + 2 + 1 + 1);
    assert_eq!(r.successes, 4);
    assert_eq!(r.previous, 5, "the day before");
    assert!((r.week_average - (2.0 + 1.0 + 4.0 + 5.0) / 7.0).abs() < 1e-9);
    let found: Vec<(&str, &str, &Evidence, u64)> = r
        .compromises
        .iter()
        .map(|c| {
            (
                c.user.as_str(),
                c.ip.as_str(),
                &c.evidence,
                c.earlier_failures,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("alice", "192.0.2.10", &Evidence::Ip, 10),
            (
                "bob",
                "198.51.100.200",
                &Evidence::Network("198.51.100.0/24".into()),
                2
            ),
            ("erin", "198.18.0.5", &Evidence::Asn("64502".into()), 4),
        ],
        "dave's clean login is not one"
    );
    assert_eq!(r.sprayed.len(), 1);
    assert_eq!(r.sprayed[0].user, "dave");
    assert_eq!(r.sprayed[0].addresses, 3);
    assert!(r.sprayed[0].exists, "dave logged in once");
    // 192.0.2.10 failed before the day; the other five addresses are new.
    assert_eq!((r.attackers, r.new_attackers), (6, 5));
    assert_eq!(r.hours.len(), 24);
    let (f, s) = r
        .hours
        .iter()
        .fold((0, 0), |(f, s), h| (f + h.failures, s + h.successes));
    assert_eq!((f, s), (r.failures, r.successes));
    assert_eq!(r.hours[1].failures, 3 + 1 + 1 + 2);
    assert_eq!(r.top_users[0], ("dave".into(), 4));
    assert_eq!(r.rdns_breakdown, [("NXDOMAIN".into(), 4)]);
    assert_eq!((r.runs, r.health.unmatched), (1, 2));
    assert_eq!(r.events.len(), 10);
}

#[test]
fn hostile_names_reach_neither_terminal_nor_html_raw() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(&fixed_store(dir.path()));
    let t = text::render(&r);
    assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t}");
    let h = html::render(&r, "cid:chart");
    assert!(!h.contains("<script>") && h.contains("&lt;script&gt;"));
    assert!(!h.contains('\u{1b}'));
    assert!(h.contains("Far &lt;Net&gt;") && !h.contains("Far <Net>"));
}

#[test]
fn the_chart_is_a_png_of_the_declared_size() {
    let dir = tempfile::tempdir().unwrap();
    let png = chart::render(&report(&fixed_store(dir.path())));
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (chart::WIDTH, chart::HEIGHT));
    // Red bars (failures) and green ones (successes) are drawn.
    let px: Vec<&[u8]> = buf.chunks(3).collect();
    assert!(px.iter().any(|p| p == &[0xd6, 0x27, 0x28]));
    assert!(px.iter().any(|p| p == &[0x2c, 0xa0, 0x2c]));
}

fn mls(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn report_stdout_date_scans_first_and_saves_the_report() {
    let s = support::setup();
    let mut log = String::new();
    for (i, user) in ["a", "b", "c"].iter().enumerate() {
        log.push_str(&format!(
            "Nov 23 10:0{i}:00 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.{i}]: SASL LOGIN authentication failed: x, sasl_username={user}\n"
        ));
    }
    fs::write(s.logs.join("mail.log"), &log).unwrap();
    let year = 2026;
    // The log's mtime decides the year of its classic stamps: keep it in 2026.
    support::touch(&s.logs.join("mail.log"), &format!("{year}-11-24 00:00:00"));
    let o = mls(&s.config, &["--report", "--stdout", "--date", "2026-11-23"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("Total failed attempts: 3 "), "{out}");
    assert!(out.contains("Window:              2026-11-23"), "{out}");
    let reports = s.work.join("reports");
    assert!(reports.join("report-2026-11-23.txt").exists());
    assert!(reports.join("report-2026-11-23.html").exists());
    // Another day of the same store: nothing.
    let o = mls(
        &s.config,
        &["report", "--stdout", "--no-scan", "--date", "2026-11-22"],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Total failed attempts: 0 "));
    // A window by times: 10:00 to 10:01 holds one attempt.
    let o = mls(
        &s.config,
        &[
            "report",
            "--stdout",
            "--no-scan",
            "--since",
            "2026-11-23T10:00:00Z",
            "--until",
            "2026-11-23T10:01:00Z",
        ],
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Total failed attempts: 1 "),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_delivery_failure_exits_non_zero_and_keeps_the_report() {
    let s = support::setup();
    fs::write(s.logs.join("mail.log"), "").unwrap();
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = fs::read_to_string(&s.config).unwrap();
    fs::write(
        &s.config,
        format!(
            "{text}\n[report]\nemail = admin@example.org\ntransport = smtp\nsmtp_host = 127.0.0.1\nsmtp_port = {port}\n"
        ),
    )
    .unwrap();
    let o = mls(&s.config, &["--report", "--date", "2026-11-23"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("delivery through SMTP 127.0.0.1"), "{err}");
    let reports = s.work.join("reports");
    for ext in ["txt", "html", "eml"] {
        assert!(
            reports.join(format!("report-2026-11-23.{ext}")).exists(),
            "{ext}"
        );
    }
}

use super::*;
use crate::envelope::parse_line;
use crate::envelope::timestamp::{Clock, YearRule};
use crate::event::Protocol;

/// Feeds lines through the envelope, the detectors and a correlator; returns the events
/// (after `finish`) and the most lines that waited at once.
fn correlate(windows: Windows, lines: &[String]) -> (Vec<AuthEvent>, usize) {
    let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2025));
    let mut c = Correlator::new(windows);
    let mut out = Vec::new();
    let mut most = 0;
    for line in lines {
        let l = parse_line(line.as_bytes(), &mut clock);
        let Some(obs) = crate::detect::detect(&l) else {
            continue;
        };
        let ctx = LineContext {
            time: l.time,
            server: l.host,
        };
        c.observe(&obs, &ctx, &mut |e| out.push(e));
        most = most.max(c.pending());
    }
    c.finish(&mut |e| out.push(e));
    assert_eq!(c.pending(), 0);
    (out, most)
}

fn run(lines: &[&str]) -> Vec<AuthEvent> {
    let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    correlate(Windows::default(), &lines).0
}

fn users(events: &[AuthEvent]) -> Vec<(String, u32, Outcome)> {
    events
        .iter()
        .map(|e| {
            (
                String::from_utf8_lossy(e.user.as_deref().unwrap_or(b"-")).into_owned(),
                e.attempts,
                e.outcome,
            )
        })
        .collect()
}

fn total(events: &[AuthEvent], outcome: Outcome) -> u32 {
    events
        .iter()
        .filter(|e| e.outcome == outcome)
        .map(|e| e.attempts)
        .sum()
}

const F: Outcome = Outcome::Failure;
const S: Outcome = Outcome::Success;

#[test]
fn summary_with_its_auth_lines_counts_n_and_names_each_user() {
    let e = run(&[
        "Dec 30 00:04:00 m dovecot: auth: passwd-file(admin,49.5.222.122,<dk0m>): unknown user",
        "Dec 30 00:04:03 m dovecot: auth: passwd-file(info,49.5.222.122,<dk0m>): unknown user",
        "Dec 30 00:04:06 m dovecot: auth: passwd-file(sales,49.5.222.122,<dk0m>): unknown user",
        "Dec 30 00:04:09 m dovecot: pop3-login: Disconnected: Aborted login by logging out (auth failed, 3 attempts in 10 secs): user=<sales>, method=PLAIN, rip=49.5.222.122, lip=198.51.100.25, session=<dk0m>",
    ]);
    assert_eq!(
        users(&e),
        [
            ("admin".into(), 1, F),
            ("info".into(), 1, F),
            ("sales".into(), 1, F)
        ]
    );
    assert!(e.iter().all(|e| e.protocol == Protocol::Pop3));
}

#[test]
fn summary_adds_the_attempts_its_lines_do_not_cover() {
    let e = run(&[
        "Dec 30 00:04:00 m dovecot: auth: passwd-file(admin,192.0.2.1,<s1>): unknown user",
        "Dec 30 00:04:09 m dovecot: imap-login: Disconnected (auth failed, 4 attempts in 10 secs): user=<root>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.25, session=<s1>",
    ]);
    assert_eq!(users(&e), [("admin".into(), 1, F), ("root".into(), 3, F)]);
}

#[test]
fn failures_then_a_login_on_one_connection() {
    let e = run(&[
        "Dec 30 00:01:22 m dovecot: auth: passwd-file(adam,199.21.174.244,<Qp>): Password mismatch",
        "Dec 30 00:01:25 m dovecot: auth: passwd-file(adam,199.21.174.244,<Qp>): Password mismatch",
        "Dec 30 00:01:44 m dovecot: managesieve-login: Login: user=<adam@example.net>, method=PLAIN, rip=199.21.174.244, lip=198.51.100.25, mpid=63289, TLS, session=<Qp>",
    ]);
    assert_eq!(
        users(&e),
        [
            ("adam".into(), 1, F),
            ("adam".into(), 1, F),
            ("adam@example.net".into(), 1, S)
        ]
    );
    assert!(e.iter().all(|e| e.protocol == Protocol::ManageSieve));
}

#[test]
fn smtp_auth_through_dovecot_counts_once() {
    let e = run(&[
        "Dec 30 00:00:03 m dovecot: auth: passwd-file(alice@example.com,186.5.116.213): unknown user",
        "Dec 30 00:00:05 m postfix/smtpd[2586]: warning: unknown[186.5.116.213]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=alice@example.com",
    ]);
    assert_eq!(users(&e), [("alice@example.com".into(), 1, F)]);
    assert_eq!(e[0].service, crate::event::Service::Postfix);
    // A warning without a user name takes it from its partner.
    let e = run(&[
        "Dec 30 00:00:03 m dovecot: auth: passwd-file(bob,186.5.116.9): unknown user",
        "Dec 30 00:00:05 m postfix/smtpd[2586]: warning: unknown[186.5.116.9]: SASL PLAIN authentication failed: (reason unavailable)",
    ]);
    assert_eq!(users(&e), [("bob".into(), 1, F)]);
}

#[test]
fn a_warning_of_another_ip_or_shape_takes_no_partner() {
    let e = run(&[
        "Dec 30 00:00:03 m dovecot: auth: passwd-file(alice,192.0.2.1): unknown user",
        "Dec 30 00:00:04 m postfix/smtpd[1]: warning: unknown[192.0.2.2]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=x",
        "Dec 30 00:00:05 m postfix/smtps/smtpd[2]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
    ]);
    assert_eq!(total(&e, F), 3);
}

#[test]
fn a_line_without_partner_counts_alone_once_its_window_is_over() {
    let e = run(&[
        "Dec 30 00:00:03 m dovecot: auth: passwd-file(alice,192.0.2.1): unknown user",
        // Two minutes later the warning can no longer be this attempt's.
        "Dec 30 00:02:03 m postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=bob",
    ]);
    assert_eq!(users(&e), [("alice".into(), 1, F), ("bob".into(), 1, F)]);
    assert_eq!(e[0].protocol, Protocol::Unknown);
}

#[test]
fn pam_unix_and_dovecots_pam_line_are_one_check() {
    let e = run(&[
        "Dec 30 00:04:00 m auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=web rhost=192.0.2.7",
        "Dec 30 00:04:00 m dovecot: auth-worker(5): pam(web,192.0.2.7,<s9>): pam_authenticate() failed: Authentication failure",
        "Dec 30 00:04:02 m dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<web>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.25, session=<s9>",
    ]);
    assert_eq!(users(&e), [("web".into(), 1, F)]);
}

#[test]
fn memory_stays_bounded_and_every_check_still_counts_once() {
    // A crafted log opening 10,000 sessions that never end.
    let lines: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                "Dec 30 00:{:02}:{:02} m dovecot: auth: passwd-file(u{i},192.0.2.{},<s{i}>): unknown user",
                (i / 60) % 60,
                i % 60,
                i % 250 + 1
            )
        })
        .collect();
    let windows = Windows {
        max_pending: 500,
        ..Windows::default()
    };
    let (e, most) = correlate(windows, &lines);
    assert!(most <= 501, "{most} lines waited at once");
    assert_eq!(e.len(), 10_000);
    let mut seen: Vec<String> = users(&e).into_iter().map(|u| u.0).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 10_000);
}

#[test]
fn successes_are_never_failures() {
    let e = run(&[
        "Oct 30 13:19:26 gw postfix/smtpd[27530]: EB4B2C19E2: client=xxx[1.2.3.4], sasl_method=PLAIN, sasl_username=user@domain",
        "Dec 30 00:01:44 m dovecot: imap-login: Login: user=<a@b>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.25, mpid=1, session=<zz>",
    ]);
    assert_eq!((total(&e, F), total(&e, S)), (0, 2));
}

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

// ---------------------------------------------------------------------------------------------
// Step by step: which line made which event come out, and what still waits.

/// A correlator fed one line at a time, keeping what each line released.
struct Steps {
    clock: Clock,
    c: Correlator,
}

impl Steps {
    fn new(windows: Windows) -> Steps {
        Steps {
            clock: Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2025)),
            c: Correlator::new(windows),
        }
    }

    /// Feeds one line (which must be one the detectors know); returns what came out.
    #[track_caller]
    fn feed(&mut self, line: &str) -> Vec<AuthEvent> {
        let l = parse_line(line.as_bytes(), &mut self.clock);
        let obs = crate::detect::detect(&l).unwrap_or_else(|| panic!("not detected: {line}"));
        let ctx = LineContext {
            time: l.time,
            server: l.host,
        };
        let mut out = Vec::new();
        self.c.observe(&obs, &ctx, &mut |e| out.push(e));
        out
    }

    fn finish(&mut self) -> Vec<AuthEvent> {
        let mut out = Vec::new();
        self.c.finish(&mut |e| out.push(e));
        out
    }
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

/// Seconds since the epoch of a 2025 UTC wall-clock time, computed without the crate.
fn at(month: i8, day: i8, h: i8, m: i8, s: i8) -> i64 {
    jiff::civil::date(2025, month, day)
        .at(h, m, s, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second()
}

#[test]
fn three_session_lines_and_their_summary_are_three_attempts_with_each_user() {
    let mut s = Steps::new(Windows::default());
    for user in ["admin", "info", "sales"] {
        let line = format!(
            "Dec 30 00:04:0{} mail dovecot: auth: passwd-file({user},203.0.113.5,<Sx1>): unknown user",
            user.len()
        );
        assert!(s.feed(&line).is_empty(), "a session line waits: {line}");
    }
    assert_eq!(s.c.pending(), 3);
    let e = s.feed(
        "Dec 30 00:04:09 mail dovecot: imap-login: Disconnected: Connection closed (auth failed, 3 attempts in 10 secs): user=<sales>, method=PLAIN, rip=203.0.113.5, lip=198.51.100.25, TLS, session=<Sx1>",
    );
    assert_eq!(s.c.pending(), 0);
    assert_eq!(
        users(&e),
        [
            ("admin".into(), 1, F),
            ("info".into(), 1, F),
            ("sales".into(), 1, F)
        ]
    );
    for ev in &e {
        assert_eq!(ev.ip, ip("203.0.113.5"));
        assert_eq!(ev.protocol, Protocol::Imap, "protocol from the summary");
        assert_eq!(ev.service, crate::event::Service::Dovecot);
        assert_eq!(ev.session.as_deref(), Some("Sx1"));
    }
    assert!(s.finish().is_empty(), "nothing left to count");
}

#[test]
fn summary_with_more_attempts_than_lines_adds_the_remainder_once() {
    let mut s = Steps::new(Windows::default());
    s.feed("Dec 30 00:04:00 m dovecot: auth: passwd-file(a1,192.0.2.10,<r>): Password mismatch");
    s.feed("Dec 30 00:04:02 m dovecot: auth: passwd-file(a2,192.0.2.10,<r>): Password mismatch");
    let e = s.feed(
        "Dec 30 00:04:09 m dovecot: pop3-login: Aborted login (auth failed, 7 attempts in 12 secs): user=<last>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.25, session=<r>",
    );
    assert_eq!(
        users(&e),
        [
            ("a1".into(), 1, F),
            ("a2".into(), 1, F),
            ("last".into(), 5, F)
        ]
    );
    assert_eq!(total(&e, F), 7);
    assert!(e.iter().all(|e| e.protocol == Protocol::Pop3));
    // The remainder is dated by the summary.
    assert_eq!(e[2].time.unwrap().unix, at(12, 30, 0, 4, 9));
    assert!(s.finish().is_empty());
}

#[test]
fn summary_alone_counts_its_n_attempts() {
    // auth_verbose=no: the summary is the only line.
    let e = run(&[
        "Dec 30 00:04:09 m dovecot: managesieve-login: Disconnected: Aborted login by logging out (auth failed, 4 attempts in 10 secs): user=<bob>, method=PLAIN, rip=2001:db8::7, lip=198.51.100.25, session=<q>",
    ]);
    assert_eq!(users(&e), [("bob".into(), 4, F)]);
    assert_eq!(e[0].ip, ip("2001:db8::7"));
    assert_eq!(e[0].protocol, Protocol::ManageSieve);
}

#[test]
fn summary_never_counts_more_than_it_says() {
    // More session lines than the summary's N (a passdb chain writes two lines per check):
    // N is the count.
    let e = run(&[
        "Dec 30 00:04:00 m dovecot: auth: passwd-file(a,192.0.2.11,<c>): unknown user",
        "Dec 30 00:04:00 m dovecot: auth-worker(7): pam(a,192.0.2.11,<c>): pam_authenticate() failed: Authentication failure",
        "Dec 30 00:04:03 m dovecot: auth: passwd-file(b,192.0.2.11,<c>): unknown user",
        "Dec 30 00:04:09 m dovecot: imap-login: Disconnected (auth failed, 2 attempts in 9 secs): user=<b>, method=PLAIN, rip=192.0.2.11, lip=192.0.2.25, session=<c>",
    ]);
    assert_eq!(total(&e, F), 2);
    assert_eq!(total(&e, S), 0);
}

#[test]
fn session_lines_then_login_are_failures_plus_one_success_with_the_logins_protocol() {
    let mut s = Steps::new(Windows::default());
    for (sec, user) in [(22, "adam"), (25, "adam.b"), (31, "Adam")] {
        assert!(
            s.feed(&format!(
                "Dec 30 00:01:{sec} mail dovecot: auth: passwd-file({user},199.21.174.244,<QpcyiIR90+rBI5vj>): Password mismatch"
            ))
            .is_empty()
        );
    }
    let e = s.feed(
        "Dec 30 00:01:44 mail dovecot: imap-login: Login: user=<adam@example.net>, method=PLAIN, rip=199.21.174.244, lip=198.51.100.25, mpid=63289, TLS, session=<QpcyiIR90+rBI5vj>",
    );
    assert_eq!(
        users(&e),
        [
            ("adam".into(), 1, F),
            ("adam.b".into(), 1, F),
            ("Adam".into(), 1, F),
            ("adam@example.net".into(), 1, S)
        ]
    );
    assert!(e.iter().all(|e| e.protocol == Protocol::Imap));
    assert!(e.iter().all(|e| e.ip == ip("199.21.174.244")));
    assert_eq!(e[3].time.unwrap().unix, at(12, 30, 0, 1, 44));
    assert_eq!(e[3].mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(s.c.pending(), 0);
    assert!(s.finish().is_empty());
}

#[test]
fn two_sessions_of_one_ip_stay_apart() {
    let e = run(&[
        "Dec 30 00:01:00 m dovecot: auth: passwd-file(s1a,192.0.2.50,<one>): unknown user",
        "Dec 30 00:01:01 m dovecot: auth: passwd-file(s2a,192.0.2.50,<two>): unknown user",
        "Dec 30 00:01:02 m dovecot: auth: passwd-file(s1b,192.0.2.50,<one>): unknown user",
        "Dec 30 00:01:05 m dovecot: pop3-login: Login: user=<s2>, method=PLAIN, rip=192.0.2.50, lip=192.0.2.25, mpid=1, session=<two>",
        "Dec 30 00:01:09 m dovecot: imap-login: Disconnected (auth failed, 2 attempts in 9 secs): user=<s1b>, method=PLAIN, rip=192.0.2.50, lip=192.0.2.25, session=<one>",
    ]);
    let proto = |u: &str| {
        e.iter()
            .find(|e| e.user.as_deref() == Some(u.as_bytes()))
            .map(|e| (e.protocol, e.outcome))
    };
    assert_eq!(proto("s2a"), Some((Protocol::Pop3, F)));
    assert_eq!(proto("s2"), Some((Protocol::Pop3, S)));
    assert_eq!(proto("s1a"), Some((Protocol::Imap, F)));
    assert_eq!(proto("s1b"), Some((Protocol::Imap, F)));
    assert_eq!((total(&e, F), total(&e, S)), (3, 1));
}

#[test]
fn sessionless_auth_line_and_postfix_warning_two_seconds_later_are_one_attempt() {
    let mut s = Steps::new(Windows::default());
    assert!(
        s.feed("Dec 30 00:00:03 mail dovecot: auth: passwd-file(alice.campbell@example.com,186.5.116.213): unknown user")
            .is_empty()
    );
    assert_eq!(s.c.pending(), 1);
    let e = s.feed(
        "Dec 30 00:00:05 mail postfix/submission/smtpd[2586]: warning: unknown[186.5.116.213]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=alice.campbell@example.com",
    );
    assert_eq!(s.c.pending(), 0, "the warning consumed the waiting line");
    assert_eq!(users(&e), [("alice.campbell@example.com".into(), 1, F)]);
    assert_eq!(e[0].ip, ip("186.5.116.213"));
    assert_eq!(e[0].service, crate::event::Service::Postfix);
    assert_eq!(e[0].protocol, Protocol::Submission);
    assert_eq!(e[0].mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(e[0].time.unwrap().unix, at(12, 30, 0, 0, 5));
    assert!(s.finish().is_empty());
}

#[test]
fn sessionless_auth_line_without_warning_counts_alone_when_log_time_passes_its_window() {
    let mut s = Steps::new(Windows::default());
    assert!(
        s.feed("Dec 30 00:00:03 m dovecot: auth: passwd-file(carol,192.0.2.77): Password mismatch")
            .is_empty()
    );
    // Another IP's event two minutes later moves log time past the window.
    let e = s.feed(
        "Dec 30 00:02:03 m postfix/smtps/smtpd[9]: warning: unknown[198.51.100.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
    );
    assert_eq!(s.c.pending(), 0);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].user.as_deref(), Some(&b"carol"[..]));
    assert_eq!(e[0].ip, ip("192.0.2.77"));
    assert_eq!(e[0].outcome, F);
    assert_eq!(e[0].attempts, 1);
    assert_eq!(e[0].service, crate::event::Service::Dovecot);
    assert_eq!(e[0].protocol, Protocol::Unknown);
    assert_eq!(
        e[0].time.unwrap().unix,
        at(12, 30, 0, 0, 3),
        "dated by its own line"
    );
    assert_eq!(e[1].ip, ip("198.51.100.9"));
    assert_eq!(e[1].user, None);
    // A warning of carol's IP now is another attempt: it finds no partner.
    let e = s.feed(
        "Dec 30 00:02:04 m postfix/smtpd[9]: warning: unknown[192.0.2.77]: SASL PLAIN authentication failed: (reason unavailable)",
    );
    assert_eq!(users(&e), [("-".into(), 1, F)]);
    assert!(s.finish().is_empty());
}

#[test]
fn session_lines_wait_longer_than_sessionless_ones() {
    // A connection may stay minutes before its summary: 5 minutes of other traffic do not
    // make its auth line count alone.
    let mut s = Steps::new(Windows::default());
    s.feed("Dec 30 00:00:00 m dovecot: auth: passwd-file(slow,192.0.2.80,<long>): unknown user");
    for min in 1..=5 {
        let e = s.feed(&format!(
            "Dec 30 00:0{min}:00 m postfix/smtpd[1]: warning: unknown[198.51.100.{min}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
        ));
        assert_eq!(users(&e), [("-".into(), 1, F)]);
    }
    let e = s.feed(
        "Dec 30 00:05:30 m dovecot: imap-login: Disconnected (auth failed, 1 attempts in 330 secs): user=<slow>, method=PLAIN, rip=192.0.2.80, lip=192.0.2.25, session=<long>",
    );
    assert_eq!(users(&e), [("slow".into(), 1, F)]);
    assert_eq!(e[0].protocol, Protocol::Imap);
    assert!(s.finish().is_empty());
}

#[test]
fn a_session_line_past_the_session_window_counts_alone() {
    let w = Windows::default();
    let mut s = Steps::new(w);
    s.feed("Dec 30 00:00:00 m dovecot: auth: passwd-file(gone,192.0.2.81,<lost>): unknown user");
    // Log time moves past the session window.
    let later = w.session + 60;
    let e = s.feed(&format!(
        "Dec 30 00:{:02}:{:02} m postfix/smtpd[1]: warning: unknown[198.51.100.1]: SASL LOGIN authentication failed: x",
        later / 60,
        later % 60
    ));
    assert_eq!(s.c.pending(), 0);
    assert_eq!(
        users(&e),
        [("gone".into(), 1, F), ("-".into(), 1, F)],
        "the stale line came out first, alone"
    );
    assert_eq!(e[0].protocol, Protocol::Unknown);
}

#[test]
fn pam_unix_line_and_dovecots_pam_line_for_one_ip_are_one_check() {
    let mut s = Steps::new(Windows::default());
    assert!(
        s.feed("Dec 30 00:04:00 m auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=web rhost=192.0.2.7")
            .is_empty()
    );
    assert!(
        s.feed("Dec 30 00:04:02 m dovecot: auth-worker(5): pam(web,192.0.2.7): pam_authenticate() failed: Authentication failure (password mismatch?)")
            .is_empty()
    );
    assert_eq!(s.c.pending(), 1, "the pam_unix line was consumed");
    let e = s.finish();
    assert_eq!(users(&e), [("web".into(), 1, F)]);
    assert_eq!(e[0].ip, ip("192.0.2.7"));
    assert_eq!(e[0].mechanism.as_deref(), Some("pam"));
}

#[test]
fn pam_unix_pam_and_postfix_warning_are_one_attempt() {
    let e = run(&[
        "Dec 30 00:04:00 m auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=root rhost=192.0.2.8  user=root",
        "Dec 30 00:04:00 m dovecot: auth-worker(5): pam(root,192.0.2.8): pam_authenticate() failed: Authentication failure",
        "Dec 30 00:04:02 m postfix/smtpd[3]: warning: unknown[192.0.2.8]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=root",
    ]);
    assert_eq!(users(&e), [("root".into(), 1, F)]);
    assert_eq!(e[0].service, crate::event::Service::Postfix);
}

#[test]
fn pam_lines_of_different_ips_do_not_pair() {
    let e = run(&[
        "Dec 30 00:04:00 m auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=x rhost=192.0.2.1",
        "Dec 30 00:04:00 m dovecot: auth-worker(5): pam(y,192.0.2.2): pam_authenticate() failed: Authentication failure",
    ]);
    assert_eq!(total(&e, F), 2);
}

#[test]
fn finish_flushes_every_waiting_line_once_in_log_order() {
    let mut s = Steps::new(Windows::default());
    let lines = [
        "Dec 30 00:04:00 m dovecot: auth: passwd-file(w1,192.0.2.1,<a>): unknown user",
        "Dec 30 00:04:01 m dovecot: auth: passwd-file(w2,192.0.2.2): unknown user",
        "Dec 30 00:04:02 m auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=w3 rhost=192.0.2.3",
        "Dec 30 00:04:03 m dovecot: auth: passwd-file(w4,192.0.2.1,<b>): unknown user",
        "Dec 30 00:04:04 m dovecot: auth: passwd-file(w5,192.0.2.1,<a>): unknown user",
    ];
    for l in lines {
        assert!(s.feed(l).is_empty(), "{l}");
    }
    assert_eq!(s.c.pending(), 5);
    let e = s.finish();
    assert_eq!(s.c.pending(), 0);
    assert_eq!(
        users(&e),
        [
            ("w1".into(), 1, F),
            ("w2".into(), 1, F),
            ("w3".into(), 1, F),
            ("w4".into(), 1, F),
            ("w5".into(), 1, F)
        ]
    );
    assert!(e.iter().all(|e| e.protocol == Protocol::Unknown));
    assert!(s.finish().is_empty(), "a second finish has nothing left");
}

#[test]
fn max_pending_bounds_memory_and_each_never_ending_check_counts_once() {
    // A crafted log: sessions that never end, session-less lines and PAM lines that never get
    // a partner, all in the same second (no window ever expires).
    let n = 3000;
    let lines: Vec<String> = (0..n)
        .map(|i| match i % 3 {
            0 => format!(
                "Dec 30 00:00:00 m dovecot: auth: passwd-file(u{i},10.0.{}.{},<s{i}>): unknown user",
                i / 250,
                i % 250
            ),
            1 => format!(
                "Dec 30 00:00:00 m dovecot: auth: passwd-file(u{i},10.1.{}.{}): unknown user",
                i / 250,
                i % 250
            ),
            _ => format!(
                "Dec 30 00:00:00 m auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=u{i} rhost=10.2.{}.{}",
                i / 250,
                i % 250
            ),
        })
        .collect();
    let max_pending = 64;
    let mut s = Steps::new(Windows {
        max_pending,
        ..Windows::default()
    });
    let mut events = Vec::new();
    let mut most = 0;
    for l in &lines {
        events.extend(s.feed(l));
        most = most.max(s.c.pending());
    }
    assert!(most <= max_pending + 1, "{most} lines waited at once");
    assert!(
        events.len() >= n - max_pending - 1,
        "the bound released lines during the stream: {}",
        events.len()
    );
    events.extend(s.finish());
    assert_eq!(total(&events, F), n as u32);
    let mut names: Vec<Vec<u8>> = events.iter().map(|e| e.user.clone().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n, "each check once");
}

#[test]
fn a_warning_past_the_sessionless_window_takes_no_partner() {
    let w = Windows::default();
    assert_eq!(w.sessionless, 60);
    let mut s = Steps::new(w);
    s.feed("Dec 30 00:00:00 m dovecot: auth: passwd-file(old,192.0.2.90): unknown user");
    // Other traffic 50 s later (inside the window: `old` must still wait).
    let e = s.feed(
        "Dec 30 00:00:50 m postfix/smtpd[1]: warning: unknown[198.51.100.1]: SASL LOGIN authentication failed: x",
    );
    assert_eq!(users(&e), [("-".into(), 1, F)]);
    // 75 s after `old`: past its 60 s window, so this warning is another attempt.
    let mut e = s.feed(
        "Dec 30 00:01:15 m postfix/smtpd[1]: warning: unknown[192.0.2.90]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=new",
    );
    e.extend(s.finish());
    assert_eq!(users(&e), [("old".into(), 1, F), ("new".into(), 1, F)]);
}

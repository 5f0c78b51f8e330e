//! Property tests: no input makes the pipeline panic, and generated lines of every supported
//! shape round-trip (the parsed event has exactly the IP, user and attempts written).

use std::net::IpAddr;

use maillogsentinel::correlate::Windows;
use maillogsentinel::envelope::timestamp::{Clock, YearRule};
use maillogsentinel::event::{AuthEvent, Outcome};
use maillogsentinel::pipeline::Pipeline;
use proptest::prelude::*;

fn pipeline() -> Pipeline {
    Pipeline::new(
        Clock::new(jiff::tz::TimeZone::UTC, YearRule::NotAfter(1_764_000_000)),
        Windows::default(),
    )
}

fn run(chunk: &[u8]) -> Vec<AuthEvent> {
    let mut p = pipeline();
    let mut out = Vec::new();
    p.feed_chunk(chunk, &mut |e| out.push(e), &mut |_| {});
    p.finish(&mut |e| out.push(e));
    out
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from),
    ]
    // `::ffff:a.b.c.d` is stored as IPv4: generate the form the detector gives back.
    .prop_map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Nov 23 06:25:04 mx1 ".to_owned()),
        Just("Nov  3 06:25:04 mx1 ".to_owned()),
        Just("2025-11-23T06:25:04.123456+01:00 mx1 ".to_owned()),
        Just(String::new()),
    ]
}

const TEMPLATES: [&str; 6] = [
    "Nov 23 06:25:04 mx1 postfix/smtpd[1]: warning: HOST[1.2.3.4]: SASL LOGIN authentication failed: x, sasl_username=USER",
    "Nov 23 06:25:04 mx1 dovecot: imap-login: Disconnected (auth failed, 3 attempts in 2 secs): user=<USER>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8, session=<S>",
    "Nov 23 06:25:04 mx1 dovecot: auth: passwd-file(USER,1.2.3.4,<S>): unknown user",
    "Nov 23 06:25:04 mx1 auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=USER rhost=1.2.3.4",
    "Nov 23 06:25:04 mx1 postfix/smtpd[1]: ABC: client=HOST[1.2.3.4], sasl_method=PLAIN, sasl_username=USER",
    "auth(USER,1.2.3.4,sasl:login)<S>: Info: sql: Password mismatch",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = run(&bytes);
    }

    #[test]
    fn arbitrary_lines_of_auth_words_never_panic(
        words in proptest::collection::vec(prop_oneof![
            Just("auth"), Just("SASL"), Just("rip="), Just("user=<"), Just(">"), Just("("),
            Just(")"), Just(","), Just(": "), Just("["), Just("]"), Just("rhost="), Just("<"),
            Just("1.2.3.4"), Just("::ffff:"), Just("Login: "), Just("(auth failed, "),
            Just(" attempts"), Just("sasl_username="), Just("session=<"), Just("\n"),
            Just("dovecot: "), Just("postfix/smtpd[1]: "), Just("warning: "), Just("9"),
        ], 0..60)
    ) {
        let _ = run(words.concat().as_bytes());
    }

    #[test]
    fn hostile_bytes_in_user_and_host_never_panic(
        t in 0..TEMPLATES.len(),
        user in proptest::collection::vec(any::<u8>(), 0..200),
        host in proptest::collection::vec(any::<u8>(), 0..60),
    ) {
        let line = TEMPLATES[t].as_bytes();
        let mut out = Vec::new();
        let mut rest = line;
        while let Some(i) = rest.iter().position(|&b| b == b'U' || b == b'H') {
            out.extend_from_slice(&rest[..i]);
            if rest[i..].starts_with(b"USER") {
                out.extend(user.iter().copied().filter(|&b| b != b'\n'));
                rest = &rest[i + 4..];
            } else if rest[i..].starts_with(b"HOST") {
                out.extend(host.iter().copied().filter(|&b| b != b'\n'));
                rest = &rest[i + 4..];
            } else {
                out.push(rest[i]);
                rest = &rest[i + 1..];
            }
        }
        out.extend_from_slice(rest);
        let _ = run(&out);
    }

    #[test]
    fn postfix_failures_round_trip(
        h in header(),
        ip in any_ip(),
        user in "[ -~]{1,40}",
        port in proptest::option::of(1u16..),
        mech in prop_oneof![Just("PLAIN"), Just("LOGIN"), Just("CRAM-MD5")],
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let line = format!(
            "{h}postfix/submission/smtpd[42]: warning: unknown[{ip}]{port}: SASL {mech} authentication failed: authentication failure, sasl_username={user}\n"
        );
        let events = run(line.as_bytes());
        prop_assert_eq!(events.len(), 1, "{}", line);
        prop_assert_eq!(events[0].outcome, Outcome::Failure);
        prop_assert_eq!(events[0].ip, ip);
        prop_assert_eq!(events[0].user.as_deref(), Some(user.as_bytes()));
        prop_assert_eq!(events[0].mechanism.as_deref(), Some(mech));
    }

    #[test]
    fn dovecot_summaries_round_trip(
        h in header(),
        ip in any_ip(),
        user in "[ -~]{1,40}",
        n in 1u32..20,
        service in prop_oneof![Just("imap"), Just("pop3"), Just("managesieve"), Just("submission")],
    ) {
        let line = format!(
            "{h}dovecot: {service}-login: Disconnected: Connection closed (auth failed, {n} attempts in 9 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, TLS, session=<abc>\n"
        );
        let events = run(line.as_bytes());
        prop_assert_eq!(events.len(), 1, "{}", line);
        prop_assert_eq!(events[0].attempts, n);
        prop_assert_eq!(events[0].ip, ip);
        prop_assert_eq!(events[0].user.as_deref(), Some(user.as_bytes()));
        prop_assert_eq!(events[0].protocol.as_str(), service);
    }

    #[test]
    fn dovecot_auth_lines_then_summary_count_the_summary(
        h in header(),
        ip in any_ip(),
        users in proptest::collection::vec("[a-zA-Z0-9.@_-]{1,30}", 1..6),
        extra in 0u32..3,
    ) {
        let mut log = String::new();
        for u in &users {
            log.push_str(&format!("{h}dovecot: auth: passwd-file({u},{ip},<Sess1>): Password mismatch\n"));
        }
        let n = users.len() as u32 + extra;
        log.push_str(&format!(
            "{h}dovecot: imap-login: Disconnected (auth failed, {n} attempts in 9 secs): user=<{}>, method=PLAIN, rip={ip}, lip=192.0.2.25, session=<Sess1>\n",
            users.last().unwrap()
        ));
        let events = run(log.as_bytes());
        prop_assert_eq!(events.iter().map(|e| e.attempts).sum::<u32>(), n);
        prop_assert!(events.iter().all(|e| e.ip == ip && e.outcome == Outcome::Failure));
        let named: Vec<&[u8]> = events.iter().take(users.len()).map(|e| e.user.as_deref().unwrap()).collect();
        let want: Vec<&[u8]> = users.iter().map(|u| u.as_bytes()).collect();
        prop_assert_eq!(named, want);
    }
}

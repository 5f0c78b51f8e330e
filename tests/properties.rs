//! Property tests: no input makes the pipeline panic, generated lines of every supported shape
//! round-trip (the parsed event has exactly the IP, user, attempts and time written), and
//! interleaved flows of lines count each attempt once.

use std::collections::HashMap;
use std::net::IpAddr;

use maillogsentinel::correlate::Windows;
use maillogsentinel::envelope::timestamp::{Clock, YearRule};
use maillogsentinel::event::{AuthEvent, Outcome, Protocol};
use maillogsentinel::pipeline::Pipeline;
use proptest::prelude::*;
use proptest::sample::Index;

/// Classic (yearless) stamps are read as 2025, in UTC.
const YEAR: i32 = 2025;

fn pipeline() -> Pipeline {
    Pipeline::new(
        Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(YEAR)),
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
        // The mapped form Dovecot writes for IPv4 clients on a dual-stack socket.
        any::<[u8; 4]>().prop_map(|v4| IpAddr::from(std::net::Ipv4Addr::from(v4).to_ipv6_mapped())),
    ]
}

/// What the detector must give back for `ip`: `::ffff:a.b.c.d` becomes IPv4.
fn reported(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// A line header and the instant it names (`None` without header).
#[derive(Debug, Clone)]
struct Header {
    text: String,
    unix: Option<i64>,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn header() -> impl Strategy<Value = Header> {
    let when = (1i8..=12, 1i8..=31, 0i8..24, 0i8..60, 0i8..60).prop_filter_map(
        "a real date",
        |(mo, d, h, mi, s)| {
            jiff::civil::date(YEAR as i16, mo, 1)
                .with()
                .day(d)
                .build()
                .ok()
                .map(|date| date.at(h, mi, s, 0))
        },
    );
    let classic = when.clone().prop_map(|dt| Header {
        text: format!(
            "{} {:>2} {:02}:{:02}:{:02} mx1 ",
            MONTHS[dt.month() as usize - 1],
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        ),
        unix: Some(
            dt.to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_second(),
        ),
    });
    let rfc3339 = (
        when,
        proptest::option::of(0u32..1_000_000),
        prop_oneof![
            Just(None),
            (-12i32..=14, prop_oneof![Just(0i32), Just(30), Just(45)]).prop_map(Some)
        ],
    )
        .prop_map(|(dt, micros, offset)| {
            let frac = micros.map(|m| format!(".{m:06}")).unwrap_or_default();
            let (zone, secs) = match offset {
                None => ("Z".to_owned(), 0),
                Some((h, m)) => {
                    let secs = if h < 0 {
                        -(-h * 3600 + m * 60)
                    } else {
                        h * 3600 + m * 60
                    };
                    let sign = if secs < 0 { '-' } else { '+' };
                    (
                        format!(
                            "{sign}{:02}:{:02}",
                            secs.abs() / 3600,
                            secs.abs() % 3600 / 60
                        ),
                        secs,
                    )
                }
            };
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{zone}",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            let wall = dt
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_second();
            Header {
                text: format!("{text} mx1 "),
                unix: Some(wall - i64::from(secs)),
            }
        });
    prop_oneof![
        3 => classic,
        2 => rfc3339,
        1 => Just(Header { text: String::new(), unix: None }),
    ]
}

/// Printable ASCII.
const PRINTABLE: &str = "[ -~]{1,40}";
/// User names a Dovecot auth line can carry unambiguously: printable ASCII without `>`, `,`,
/// `(`, `)` and spaces (Dovecot's auth_username_chars allow none of them).
const AUTH_LINE_USER: &str = "[!-'*+\\--=?-~]{1,40}";

fn time_of(e: &AuthEvent) -> Option<i64> {
    e.time.map(|t| t.unix)
}

// -------------------------------------------------------------------------------------------
// Templates of every supported line shape, for hostile-byte insertion. USER and HOST are
// replaced; the rest is a real line.

const TEMPLATES: [&str; 20] = [
    "Nov 23 06:25:04 HOST postfix/smtpd[1]: warning: HOST[1.2.3.4]: SASL LOGIN authentication failed: x, sasl_username=USER",
    "Nov 23 06:25:04 HOST postfix/submission/smtpd[1]: warning: HOST[2001:db8::1]:587: SASL PLAIN authentication failed: (reason unavailable), sasl_username=USER",
    "Nov 23 06:25:04 HOST postfix/smtps/smtpd[1]: warning: HOST[1.2.3.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
    "Nov 23 06:25:04 HOST postfix/smtpd[1]: warning: HOST[1.2.3.4]: SASL LOGIN authentication failed: Connection lost to authentication server, sasl_username=USER",
    "Nov 23 06:25:04 HOST postfix/smtpd[1]: ABC: client=HOST[1.2.3.4], sasl_method=PLAIN, sasl_username=USER",
    "Nov 23 06:25:04 HOST dovecot: imap-login: Disconnected (auth failed, 3 attempts in 2 secs): user=<USER>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8, session=<S>",
    "Nov 23 06:25:04 HOST dovecot: pop3-login: Disconnected: Aborted login by logging out (auth failed, 2 attempts in 9 secs): user=<USER>, method=PLAIN, rip=::ffff:1.2.3.4, lip=5.6.7.8, session=<S>",
    "Nov 23 06:25:04 HOST dovecot: managesieve-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<USER>, method=PLAIN, rip=1.2.3.4, lip=2.2.2.2, TLS, session=<S>",
    "Nov 23 06:25:04 HOST dovecot: pop3-login: Aborted login (tried to use disabled plaintext auth): user=<USER>, rip=1.2.3.4, lip=5.6.7.8",
    "Nov 23 06:25:04 HOST dovecot: imap-login: Disconnected (proxy dest auth failed): user=<USER>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8, session=<S>",
    "Nov 23 06:25:04 HOST dovecot: imap-login: Login: user=<USER>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8, mpid=1, TLS, session=<S>",
    "Nov 23 06:25:04 HOST dovecot: auth: passwd-file(USER,1.2.3.4,<S>): unknown user",
    "Nov 23 06:25:04 HOST dovecot: auth: passwd-file(USER,1.2.3.4): Password mismatch",
    "Nov 23 06:25:04 HOST dovecot: auth-worker(7): pam(USER,1.2.3.4,<S>): pam_authenticate() failed: Authentication failure (password mismatch?)",
    "Nov 23 06:25:04 HOST dovecot: auth: plain(USER,1.2.3.4,<S>): Username character disallowed by auth_username_chars: 0x3c (username: USER)",
    "Nov 23 06:25:04 HOST auth-worker(80180): Info: conn unix:auth-worker (uid=143): auth-worker<13247>: sql(USER,1.2.3.4): unknown user",
    "Nov 23 06:25:04 HOST auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=USER rhost=1.2.3.4",
    "Nov 23 06:25:04 HOST auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=USER rhost=1.2.3.4  user=USER",
    "auth(USER,1.2.3.4,sasl:login)<S>: Info: sql: Password mismatch",
    "2025-11-23T06:25:04.123+01:00 HOST dovecot: auth: ldap(USER,1.2.3.4,<S>): invalid credentials",
];

/// `template` with USER and HOST replaced by raw bytes (newlines taken out: one line).
fn fill(template: &str, user: &[u8], host: &[u8]) -> Vec<u8> {
    let line = template.as_bytes();
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
    out
}

/// Bytes with many newlines, NULs and the bytes log parsers care about.
fn nasty_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            1 => Just(b'\n'),
            1 => Just(0u8),
            1 => proptest::sample::select(b"<>()[],:;= ?\r\t\x1b\xff".to_vec()),
        ],
        0..max,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = run(&bytes);
    }

    #[test]
    fn arbitrary_bytes_with_many_newlines_never_panic(bytes in nasty_bytes(4096)) {
        let _ = run(&bytes);
        // Also line by line, through the other entry point.
        let mut p = pipeline();
        for line in bytes.split(|&b| b == b'\n') {
            p.feed_line(line, &mut |_| {}, &mut |_| {});
        }
        p.finish(&mut |_| {});
    }

    #[test]
    fn arbitrary_lines_of_auth_words_never_panic(
        words in proptest::collection::vec(prop_oneof![
            Just("auth"), Just("SASL"), Just("rip="), Just("user=<"), Just(">"), Just("("),
            Just(")"), Just(","), Just(": "), Just("["), Just("]"), Just("rhost="), Just("<"),
            Just("1.2.3.4"), Just("::ffff:"), Just("Login: "), Just("(auth failed, "),
            Just(" attempts"), Just("sasl_username="), Just("session=<"), Just("\n"),
            Just("dovecot: "), Just("postfix/smtpd[1]: "), Just("warning: "), Just("9"),
            Just("Nov 23 06:25:04 mx1 "), Just("2025-11-23T06:25:04Z "), Just("auth-worker(1): "),
            Just("passwd-file("), Just("pam_unix(dovecot:auth): authentication failure; "),
            Just("4294967296"), Just("99999999999999999999"), Just("IPv6:"), Just("\u{0}"),
        ], 0..60)
    ) {
        let _ = run(words.concat().as_bytes());
    }

    #[test]
    fn hostile_bytes_in_user_and_host_never_panic(
        lines in proptest::collection::vec(
            (0..TEMPLATES.len(), nasty_bytes(200), nasty_bytes(60)),
            1..8,
        ),
    ) {
        // Several lines at once, so hostile lines also meet the correlator's pairing.
        let mut log = Vec::new();
        for (t, user, host) in &lines {
            log.extend(fill(TEMPLATES[*t], user, host));
            log.push(b'\n');
        }
        let _ = run(&log);
    }

    #[test]
    fn postfix_failures_round_trip(
        h in header(),
        ip in any_ip(),
        user in PRINTABLE,
        host in "unknown|[a-z0-9][a-z0-9.-]{0,30}",
        port in proptest::option::of(1u16..),
        mech in prop_oneof![Just("PLAIN"), Just("LOGIN"), Just("CRAM-MD5"), Just("DIGEST-MD5")],
        reason in prop_oneof![Just("authentication failure"), Just("UGFzc3dvcmQ6"), Just("(reason unavailable)")],
        program in prop_oneof![
            Just(("postfix/smtpd", Protocol::Smtp)),
            Just(("postfix/submission/smtpd", Protocol::Submission)),
            Just(("postfix/smtps/smtpd", Protocol::Smtps)),
            Just(("postfix-in/smtpd", Protocol::Smtp)),
        ],
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let line = format!(
            "{}{}[42]: warning: {host}[{ip}]{port}: SASL {mech} authentication failed: {reason}, sasl_username={user}\n",
            h.text, program.0
        );
        let events = run(line.as_bytes());
        prop_assert_eq!(events.len(), 1, "{}", line);
        let e = &events[0];
        prop_assert_eq!(e.outcome, Outcome::Failure);
        prop_assert_eq!(e.attempts, 1);
        prop_assert_eq!(e.ip, reported(ip));
        prop_assert_eq!(e.user.as_deref(), Some(user.as_bytes()));
        prop_assert_eq!(e.mechanism.as_deref(), Some(mech));
        prop_assert_eq!(e.protocol, program.1);
        prop_assert_eq!(time_of(e), h.unix, "{}", line);
    }

    #[test]
    fn postfix_successes_round_trip(
        h in header(),
        ip in any_ip(),
        user in PRINTABLE,
        sender in proptest::option::of("[a-z]{1,10}@[a-z]{1,10}\\.org"),
    ) {
        let sender = sender.map(|s| format!(", sasl_sender={s}")).unwrap_or_default();
        let line = format!(
            "{}postfix/submission/smtpd[42]: 4F1A2B3C4D: client=mail.example.org[{ip}], sasl_method=PLAIN, sasl_username={user}{sender}\n",
            h.text
        );
        let events = run(line.as_bytes());
        prop_assert_eq!(events.len(), 1, "{}", line);
        prop_assert_eq!(events[0].outcome, Outcome::Success);
        prop_assert_eq!(events[0].ip, reported(ip));
        prop_assert_eq!(events[0].user.as_deref(), Some(user.as_bytes()));
        prop_assert_eq!(time_of(&events[0]), h.unix);
    }

    #[test]
    fn dovecot_summaries_round_trip(
        h in header(),
        ip in any_ip(),
        user in PRINTABLE,
        n in 1u32..20,
        service in prop_oneof![
            Just(("imap", Protocol::Imap)),
            Just(("pop3", Protocol::Pop3)),
            Just(("managesieve", Protocol::ManageSieve)),
            Just(("submission", Protocol::Submission)),
        ],
        shape in 0usize..4,
        session in proptest::option::of("[A-Za-z0-9+/]{16}"),
    ) {
        let what = [
            "Disconnected: Connection closed",
            "Disconnected",
            "Aborted login",
            "Login aborted: Connection closed",
        ][shape];
        let tail = if shape == 3 { " (auth_failed)" } else { "" };
        let session = session.map(|s| format!(", session=<{s}>")).unwrap_or_default();
        let line = format!(
            "{}dovecot: {}-login: {what} (auth failed, {n} attempts in 9 secs){tail}: user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, TLS{session}\n",
            h.text, service.0
        );
        let events = run(line.as_bytes());
        prop_assert_eq!(events.len(), 1, "{}", line);
        let e = &events[0];
        prop_assert_eq!(e.outcome, Outcome::Failure);
        prop_assert_eq!(e.attempts, n);
        prop_assert_eq!(e.ip, reported(ip));
        prop_assert_eq!(e.user.as_deref(), Some(user.as_bytes()));
        prop_assert_eq!(e.protocol, service.1);
        prop_assert_eq!(time_of(e), h.unix);
    }

    #[test]
    fn dovecot_auth_lines_alone_round_trip(
        h in header(),
        ip in any_ip(),
        user in AUTH_LINE_USER,
        session in proptest::option::of("[A-Za-z0-9+/]{16}"),
        shape in 0usize..5,
    ) {
        prop_assert!(!user.contains([' ', ',', '(', ')', '>']), "the charset: {}", user);
        let s = session.as_ref().map(|s| format!(",<{s}>")).unwrap_or_default();
        let line = match shape {
            0 => format!("{}dovecot: auth: passwd-file({user},{ip}{s}): unknown user", h.text),
            1 => format!("{}dovecot: auth: passwd-file({user},{ip}{s}): Password mismatch", h.text),
            2 => format!("{}dovecot: auth-worker(19883): pam({user},{ip}{s}): pam_authenticate() failed: Authentication failure (password mismatch?)", h.text),
            3 => format!("{}dovecot: auth: Info: ldap({user},{ip}{s}): invalid credentials", h.text),
            _ => format!(
                "{}dovecot: auth({user},{ip},sasl:plain){}: Info: sql: Password mismatch",
                h.text,
                session.as_ref().map(|s| format!("<{s}>")).unwrap_or_default()
            ),
        };
        // With nothing to pair with, the line counts alone at the end of input.
        let events = run(format!("{line}\n").as_bytes());
        prop_assert_eq!(events.len(), 1, "{}", line);
        let e = &events[0];
        prop_assert_eq!(e.outcome, Outcome::Failure);
        prop_assert_eq!(e.attempts, 1);
        prop_assert_eq!(e.ip, reported(ip), "{}", line);
        prop_assert_eq!(e.user.as_deref(), Some(user.as_bytes()), "{}", line);
        prop_assert_eq!(e.session.as_deref(), session.as_deref(), "{}", line);
        prop_assert_eq!(time_of(e), h.unix);
    }

    #[test]
    fn dovecot_auth_lines_then_summary_count_the_summary(
        h in header(),
        ip in any_ip(),
        users in proptest::collection::vec(AUTH_LINE_USER, 1..6),
        extra in 0u32..3,
    ) {
        let mut log = String::new();
        for u in &users {
            log.push_str(&format!("{}dovecot: auth: passwd-file({u},{ip},<Sess1>): Password mismatch\n", h.text));
        }
        let n = users.len() as u32 + extra;
        log.push_str(&format!(
            "{}dovecot: imap-login: Disconnected (auth failed, {n} attempts in 9 secs): user=<{}>, method=PLAIN, rip={ip}, lip=192.0.2.25, session=<Sess1>\n",
            h.text,
            users.last().unwrap()
        ));
        let events = run(log.as_bytes());
        prop_assert_eq!(events.iter().map(|e| e.attempts).sum::<u32>(), n);
        prop_assert!(events.iter().all(|e| e.ip == reported(ip) && e.outcome == Outcome::Failure));
        prop_assert!(events.iter().all(|e| e.protocol == Protocol::Imap));
        let named: Vec<&[u8]> = events.iter().take(users.len()).map(|e| e.user.as_deref().unwrap()).collect();
        let want: Vec<&[u8]> = users.iter().map(|u| u.as_bytes()).collect();
        prop_assert_eq!(named, want);
    }

    #[test]
    fn dovecot_auth_lines_then_login_are_failures_and_one_success(
        h in header(),
        ip in any_ip(),
        users in proptest::collection::vec(AUTH_LINE_USER, 0..6),
        login_user in PRINTABLE,
    ) {
        let mut log = String::new();
        for u in &users {
            log.push_str(&format!("{}dovecot: auth: passwd-file({u},{ip},<K9>): Password mismatch\n", h.text));
        }
        log.push_str(&format!(
            "{}dovecot: pop3-login: Login: user=<{login_user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, mpid=4, TLS, session=<K9>\n",
            h.text
        ));
        let events = run(log.as_bytes());
        prop_assert_eq!(events.len(), users.len() + 1);
        let (fail, ok): (Vec<_>, Vec<_>) = events.iter().partition(|e| e.outcome == Outcome::Failure);
        prop_assert_eq!(fail.len(), users.len());
        prop_assert_eq!(ok.len(), 1);
        prop_assert_eq!(ok[0].user.as_deref(), Some(login_user.as_bytes()));
        prop_assert!(events.iter().all(|e| e.ip == reported(ip) && e.protocol == Protocol::Pop3));
    }

    #[test]
    fn sessionless_auth_line_and_its_postfix_warning_are_one_attempt(
        h in header(),
        ip in any_ip(),
        user in AUTH_LINE_USER,
        named in any::<bool>(),
    ) {
        let warned_user = if named { format!(", sasl_username={user}") } else { String::new() };
        let log = format!(
            "{h}dovecot: auth: passwd-file({user},{ip}): unknown user\n{h}postfix/smtpd[9]: warning: unknown[{ip}]: SASL PLAIN authentication failed: (reason unavailable){warned_user}\n",
            h = h.text
        );
        let events = run(log.as_bytes());
        prop_assert_eq!(events.len(), 1, "{}", log);
        prop_assert_eq!(events[0].attempts, 1);
        prop_assert_eq!(events[0].ip, reported(ip));
        // Without a name in the warning, the Dovecot line's name is kept.
        prop_assert_eq!(events[0].user.as_deref(), Some(user.as_bytes()));
    }
}

// -------------------------------------------------------------------------------------------
// Interleaved flows: lines of several connections mixed in any order (each connection's own
// order kept) still count each attempt once.

#[derive(Debug, Clone)]
enum Flow {
    /// k session auth lines, then a summary of n >= k attempts.
    Summary { users: Vec<String>, n: u32 },
    /// k session auth lines, then `Login:`.
    Login { users: Vec<String> },
    /// Session-less auth line + Postfix `(reason unavailable)` warning.
    SaslPair { user: String },
    /// pam_unix + Dovecot pam() line + Postfix warning.
    PamPair { user: String },
    /// pam_unix + pam() with a session + summary of 1.
    PamSession { user: String },
    /// A Cyrus SASL warning (no partner).
    Cyrus,
    /// A Postfix SASL success.
    PostfixOk { user: String },
}

fn flow() -> impl Strategy<Value = Flow> {
    let users = proptest::collection::vec(AUTH_LINE_USER, 0..4);
    prop_oneof![
        (users.clone(), 0u32..3).prop_map(|(users, more)| {
            let n = (users.len() as u32 + more).max(1);
            Flow::Summary { users, n }
        }),
        users.prop_map(|users| Flow::Login { users }),
        AUTH_LINE_USER.prop_map(|user| Flow::SaslPair { user }),
        AUTH_LINE_USER.prop_map(|user| Flow::PamPair { user }),
        AUTH_LINE_USER.prop_map(|user| Flow::PamSession { user }),
        Just(Flow::Cyrus),
        AUTH_LINE_USER.prop_map(|user| Flow::PostfixOk { user }),
    ]
}

impl Flow {
    /// The flow's lines (without header) and its (failed, successful) attempts.
    fn lines(&self, i: usize, ip: IpAddr) -> (Vec<String>, u32, u32) {
        let s = format!("Sess{i}");
        let auth =
            |u: &str| format!("dovecot: auth: passwd-file({u},{ip},<{s}>): Password mismatch");
        let pam_unix = |u: &str| {
            format!(
                "auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser={u} rhost={ip}"
            )
        };
        let warning = |u: &str| {
            format!(
                "postfix/smtpd[{i}]: warning: unknown[{ip}]: SASL PLAIN authentication failed: (reason unavailable), sasl_username={u}"
            )
        };
        match self {
            Flow::Summary { users, n } => {
                let mut l: Vec<String> = users.iter().map(|u| auth(u)).collect();
                l.push(format!("dovecot: imap-login: Disconnected (auth failed, {n} attempts in 9 secs): user=<x>, method=PLAIN, rip={ip}, lip=192.0.2.25, session=<{s}>"));
                (l, *n, 0)
            }
            Flow::Login { users } => {
                let mut l: Vec<String> = users.iter().map(|u| auth(u)).collect();
                l.push(format!("dovecot: pop3-login: Login: user=<ok>, method=PLAIN, rip={ip}, lip=192.0.2.25, mpid=1, session=<{s}>"));
                (l, users.len() as u32, 1)
            }
            Flow::SaslPair { user } => (
                vec![
                    format!("dovecot: auth: passwd-file({user},{ip}): unknown user"),
                    warning(user),
                ],
                1,
                0,
            ),
            Flow::PamPair { user } => (
                vec![
                    pam_unix(user),
                    format!(
                        "dovecot: auth-worker(3): pam({user},{ip}): pam_authenticate() failed: Authentication failure"
                    ),
                    warning(user),
                ],
                1,
                0,
            ),
            Flow::PamSession { user } => (
                vec![
                    pam_unix(user),
                    format!(
                        "dovecot: auth-worker(3): pam({user},{ip},<{s}>): pam_authenticate() failed: Authentication failure"
                    ),
                    format!(
                        "dovecot: managesieve-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, session=<{s}>"
                    ),
                ],
                1,
                0,
            ),
            Flow::Cyrus => (
                vec![format!(
                    "postfix/smtps/smtpd[{i}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
                )],
                1,
                0,
            ),
            Flow::PostfixOk { user } => (
                vec![format!(
                    "postfix/smtpd[{i}]: 4F1A2B3C{i:02X}: client=x.example[{ip}], sasl_method=PLAIN, sasl_username={user}"
                )],
                0,
                1,
            ),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn interleaved_flows_count_each_attempt_once(
        flows in proptest::collection::vec(flow(), 1..9),
        v6 in any::<bool>(),
        order in proptest::collection::vec(any::<Index>(), 80),
    ) {
        // One IP per flow.
        let ips: Vec<IpAddr> = (0..flows.len())
            .map(|i| if v6 && i % 2 == 1 {
                format!("2001:db8::{:x}", i + 1).parse().unwrap()
            } else {
                format!("198.51.100.{}", i + 1).parse().unwrap()
            })
            .collect();
        let mut queues = Vec::new();
        let mut want: HashMap<(IpAddr, Outcome), u32> = HashMap::new();
        for (i, f) in flows.iter().enumerate() {
            let (lines, failed, ok) = f.lines(i, ips[i]);
            *want.entry((ips[i], Outcome::Failure)).or_default() += failed;
            *want.entry((ips[i], Outcome::Success)).or_default() += ok;
            queues.push(std::collections::VecDeque::from(lines));
        }
        // Merge: each step takes the next line of a flow picked by `order`.
        let mut log = String::new();
        let mut step = 0;
        loop {
            let open: Vec<usize> = (0..queues.len()).filter(|&q| !queues[q].is_empty()).collect();
            if open.is_empty() {
                break;
            }
            let pick = order.get(step).map_or(open[0], |ix| open[ix.index(open.len())]);
            // Lines of a few seconds: every partner is well inside its window.
            log.push_str(&format!("Dec 30 00:00:{:02} mx1 ", step / 4));
            log.push_str(&queues[pick].pop_front().unwrap());
            log.push('\n');
            step += 1;
        }
        let events = run(log.as_bytes());
        let mut got: HashMap<(IpAddr, Outcome), u32> = HashMap::new();
        for e in &events {
            prop_assert!(e.attempts >= 1);
            *got.entry((e.ip, e.outcome)).or_default() += e.attempts;
        }
        want.retain(|_, n| *n > 0);
        prop_assert_eq!(got, want, "{}", log);
    }
}

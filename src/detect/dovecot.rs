//! Dovecot 2.2-2.4: login-process summaries and successes (`imap-login: ...`), auth-process
//! passdb lines (`auth: DRIVER(user,ip[,<session>]): reason`, 2.4's
//! `auth(user,ip,sasl:mech)<session>: ...`) and PAM's `pam_unix(dovecot:auth)` lines.
//!
//! Not handled here: counting an attempt once when several of these lines name it (that is
//! `correlate`), and mail-process lines after a login (`imap(user)<..>: Disconnected`).

use super::fields::{find, non_empty, parse_ip, rfind, until_any};
use super::{Attempt, CheckKind, Detector, Observation};
use crate::envelope::{LogLine, split_tag};
use crate::event::{Protocol, Service};

pub struct DovecotDetector;

/// Markers of a login-process line, searched in its text before the `user=<` field. The
/// first that matches decides. A new summary shape is one row here.
const LOGIN_RULES: [(&[u8], LoginVerdict); 16] = [
    (b"(auth failed, ", LoginVerdict::AuthFailed),
    (b"(tried to use disallowed ", LoginVerdict::Disallowed),
    (b"(tried to use disabled ", LoginVerdict::Disallowed),
    // Dovecot 2.0-2.1: a mechanism the server does not offer.
    (
        b"(tried to use unsupported auth mechanism)",
        LoginVerdict::Disallowed,
    ),
    (b"(proxy dest auth failed)", LoginVerdict::ProxyFailed),
    (b"(client didn't finish SASL auth", LoginVerdict::Aborted),
    // Dovecot 2.0-2.1: the client dropped the connection or the exchange mid-way.
    (
        b"(disconnected while authenticating)",
        LoginVerdict::Aborted,
    ),
    (b"(aborted authentication)", LoginVerdict::Aborted),
    // Dovecot 1.0-1.1 (until March 2008): `Aborted login (N authentication attempts)`.
    (b" authentication attempts)", LoginVerdict::CountedBefore),
    (b"(no auth attempts", LoginVerdict::NotAnAttempt),
    // Dovecot 1.2-2.1 with ssl_require_client_cert: refused before any password check.
    (b"(client sent an invalid cert)", LoginVerdict::NotAnAttempt),
    (b"(client didn't send a cert)", LoginVerdict::NotAnAttempt),
    (
        b"(cert required, client didn't start TLS)",
        LoginVerdict::NotAnAttempt,
    ),
    (
        b"(disconnected before auth was ready",
        LoginVerdict::NotAnAttempt,
    ),
    (
        b"(disconnected during TLS handshake",
        LoginVerdict::NotAnAttempt,
    ),
    (b"TLS handshaking", LoginVerdict::NotAnAttempt),
];

#[derive(Clone, Copy)]
enum LoginVerdict {
    /// `(auth failed, N attempts ...)`: N failed password checks.
    AuthFailed,
    /// `(N authentication attempts)`, the number before the marker: N failed checks (none
    /// for 0: the client never tried).
    CountedBefore,
    /// Plaintext (or another mechanism) refused before any check: one failed login.
    Disallowed,
    /// A proxy's backend rejected the credentials.
    ProxyFailed,
    Aborted,
    NotAnAttempt,
}

/// Passdb result texts that mean "this password check failed". A new one is one row here.
const PASSDB_FAILURES: [&[u8]; 9] = [
    b"unknown user",
    b"Password mismatch",
    b"pam_authenticate() failed",
    b"invalid credentials",
    b"Invalid credentials",
    b"Username character disallowed",
    b"Empty username",
    b"Login failed",
    b"password mismatch",
];

/// Auth-process lines that mention auth but are not attempts.
const KNOWN: [&[u8]; 3] = [
    b"disconnected with ",
    b"Logged out",
    b"Disconnected: Connection closed",
];

const LEVELS: [&[u8]; 6] = [
    b"Info: ",
    b"Warning: ",
    b"Error: ",
    b"Debug: ",
    b"Fatal: ",
    b"Panic: ",
];

fn is_component(name: &[u8]) -> bool {
    matches!(
        name,
        b"dovecot" | b"dovecot-auth" | b"auth" | b"auth-worker"
    ) || name.ends_with(b"-login")
}

fn login_protocol(component: &[u8]) -> Protocol {
    match component.strip_suffix(b"-login") {
        Some(b"imap") => Protocol::Imap,
        Some(b"pop3") => Protocol::Pop3,
        Some(b"managesieve") => Protocol::ManageSieve,
        Some(b"submission") => Protocol::Submission,
        Some(b"lmtp") => Protocol::Lmtp,
        _ => Protocol::Unknown,
    }
}

/// Strips `dovecot: `, `auth-worker(12): `, `Info: `, `conn unix:auth-worker (...): auth-worker<5>: `
/// and similar prefixes; returns the last `*-login` component seen and the remaining body.
fn strip_prefixes<'a>(line: &LogLine<'a>) -> (Option<&'a [u8]>, &'a [u8]) {
    let mut login = line.program.filter(|p| p.ends_with(b"-login"));
    let mut body = line.message;
    loop {
        if let Some((name, rest)) = split_tag(body)
            && is_component(name)
        {
            if name.ends_with(b"-login") {
                login = Some(name);
            }
            body = rest;
        } else if let Some(l) = LEVELS.iter().find(|l| body.starts_with(l)) {
            body = &body[l.len()..];
        } else if body.starts_with(b"conn unix:")
            && let Some(i) = find(body, b": auth-worker<")
            && let Some(j) = find(&body[i..], b">: ")
        {
            body = &body[i + j + 3..];
        } else {
            return (login, body);
        }
    }
}

impl Detector for DovecotDetector {
    fn detect<'a>(&self, line: &LogLine<'a>) -> Option<Observation<'a>> {
        let (login, body) = strip_prefixes(line);
        if let Some(login) = login {
            return login_line(body, login_protocol(login));
        }
        if body.starts_with(b"pam_unix(") {
            return pam_unix(body);
        }
        if let Some(obs) = passdb_line(body) {
            return Some(obs);
        }
        KNOWN
            .iter()
            .any(|k| find(body, k).is_some())
            .then_some(Observation::Known)
    }
}

/// The fields of a login-process line. The user name comes first and may contain anything
/// (`x>, rip=6.6.6.6, lip=`), the server's own fields follow it: so `rip=` is the LAST one,
/// `method=` the last before it, and the user ends at the `>` just before those.
struct LoginFields<'a> {
    user: Option<&'a [u8]>,
    method: Option<&'a [u8]>,
    ip: std::net::IpAddr,
    session: Option<&'a [u8]>,
    /// Text before the fields: the daemon's description of what happened.
    head: &'a [u8],
}

fn login_fields(body: &[u8]) -> Option<LoginFields<'_>> {
    let mut rip = rfind(body, b"rip=")?;
    while rip > 0 && !matches!(body[rip - 1], b' ' | b',') {
        rip = rfind(&body[..rip], b"rip=")?;
    }
    let ip = parse_ip(until_any(&body[rip + 4..], b", "))?;
    let before = &body[..rip];
    let user_start = find(before, b"user=<");
    let head = &body[..user_start.unwrap_or(rip)];
    let (method, fields_start) = match rfind(before, b", method=") {
        Some(m) if user_start.is_none_or(|u| m > u) => {
            (non_empty(until_any(&before[m + 9..], b", ")), m)
        }
        _ => (None, rip.saturating_sub(2)),
    };
    let user = user_start.and_then(|u| {
        let value = &body[u + 6..fields_start.max(u + 6)];
        // Normally `<user>, `: drop the closing `>`; otherwise take up to the first `>`.
        let value = value
            .strip_suffix(b">")
            .unwrap_or_else(|| until_any(value, b">"));
        non_empty(value)
    });
    let session = rfind(body, b"session=<").map(|s| until_any(&body[s + 9..], b">"));
    Some(LoginFields {
        user,
        method,
        ip,
        session: session.and_then(non_empty),
        head,
    })
}

fn login_line(body: &[u8], protocol: Protocol) -> Option<Observation<'_>> {
    let success = body.starts_with(b"Login: ");
    let f = login_fields(body)?;
    let attempt = |attempts, reason: Option<&'static [u8]>| Attempt {
        service: Service::Dovecot,
        protocol,
        ip: f.ip,
        user: f.user,
        mechanism: f.method,
        reason,
        attempts,
        session: f.session,
    };
    if success {
        return Some(Observation::Success(attempt(1, None)));
    }
    let Some((at, marker, verdict)) = LOGIN_RULES
        .iter()
        .find_map(|(m, v)| find(f.head, m).map(|i| (i, &f.head[i + m.len()..], *v)))
    else {
        return Some(Observation::Known);
    };
    Some(match verdict {
        LoginVerdict::CountedBefore => {
            let before = &f.head[..at];
            let digits = before
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .count();
            match count(&before[before.len() - digits..]) {
                Some(0) | None => Observation::Known,
                Some(attempts) => Observation::Failure(attempt(attempts, Some(b"auth failed"))),
            }
        }
        LoginVerdict::AuthFailed => {
            let digits = marker.iter().take_while(|c| c.is_ascii_digit()).count();
            let attempts = count(&marker[..digits]).filter(|&n| n > 0).unwrap_or(1);
            Observation::Failure(attempt(attempts, Some(b"auth failed")))
        }
        LoginVerdict::Disallowed => {
            Observation::Failure(attempt(1, Some(b"plaintext auth disallowed")))
        }
        LoginVerdict::ProxyFailed => {
            Observation::Failure(attempt(1, Some(b"proxy dest auth failed")))
        }
        LoginVerdict::Aborted => Observation::Aborted,
        LoginVerdict::NotAnAttempt => Observation::Known,
    })
}

/// The attempt count of a summary, from its digits.
fn count(digits: &[u8]) -> Option<u32> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot
/// ruser=USER rhost=IP[  user=USER]`. `ruser` is the client's text and may itself hold
/// `rhost=...`: the client address is the last ` rhost=` that holds an IP.
fn pam_unix(body: &[u8]) -> Option<Observation<'_>> {
    let close = find(body, b"): ")?;
    if find(&body[close..], b"authentication failure").is_none() {
        return Some(Observation::Known);
    }
    let mut end = body.len();
    let (at, ip) = loop {
        let at = rfind(&body[..end], b" rhost=")?;
        let value = until_any(&body[at + 7..], b" ");
        if let Some(ip) = parse_ip(value) {
            break (at, ip);
        }
        end = at;
    };
    let after = &body[at + 7..];
    let user = match find(after, b" user=") {
        Some(u) => non_empty(&after[u + 6..]),
        None => find(&body[..at], b"ruser=").and_then(|r| non_empty(&body[r + 6..at])),
    };
    Some(Observation::Check(
        Attempt {
            service: Service::Dovecot,
            protocol: Protocol::Unknown,
            ip,
            user,
            mechanism: Some(b"pam"),
            reason: Some(b"authentication failure"),
            attempts: 1,
            session: None,
        },
        CheckKind::PamUnix,
    ))
}

/// The arguments of an auth request prefix `(user,ip[,extra])` and what follows its `)`.
struct RequestArgs<'a> {
    user: &'a [u8],
    ip: std::net::IpAddr,
    extra: &'a [u8],
    rest: &'a [u8],
}

/// Parses [`RequestArgs`], `s` starting after `(`. Dovecot's default `auth_username_chars`
/// allow no `)`, so the first `)` after which the arguments end in a valid IP closes them.
fn request_args(s: &[u8]) -> Option<RequestArgs<'_>> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b')', &s[from..]) {
        let close = from + i;
        let args = &s[..close];
        from = close + 1;
        let Some(c1) = memchr::memrchr(b',', args) else {
            continue;
        };
        if let Some(ip) = parse_ip(&args[c1 + 1..]) {
            return Some(RequestArgs {
                user: &args[..c1],
                ip,
                extra: b"",
                rest: &s[close + 1..],
            });
        }
        let Some(c2) = memchr::memrchr(b',', &args[..c1]) else {
            continue;
        };
        if let Some(ip) = parse_ip(&args[c2 + 1..c1]) {
            return Some(RequestArgs {
                user: &args[..c2],
                ip,
                extra: &args[c1 + 1..],
                rest: &s[close + 1..],
            });
        }
    }
    None
}

/// `DRIVER(user,ip[,<session>]): REASON` (2.2/2.3) or `auth(user,ip,sasl:mech)<session>:
/// [Level: ][driver: ]REASON` (2.4).
fn passdb_line(body: &[u8]) -> Option<Observation<'_>> {
    let name_len = body
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b'_')
        .count();
    let driver = &body[..name_len];
    let open = body.get(name_len..)?.strip_prefix(b"(")?;
    let RequestArgs {
        user,
        ip,
        extra,
        rest,
    } = request_args(open)?;
    let (session, rest) = match rest.strip_prefix(b"<") {
        Some(r) => {
            let sid = until_any(r, b">");
            (Some(sid), r.get(sid.len() + 1..).unwrap_or(b""))
        }
        None => (extra.strip_prefix(b"<").map(|e| until_any(e, b">")), rest),
    };
    let mut reason = rest.strip_prefix(b": ")?;
    let mut mechanism = Some(driver);
    if driver == b"auth" {
        // 2.4: `auth(...)<sid>: Info: sql: Password mismatch`
        for l in LEVELS {
            if let Some(r) = reason.strip_prefix(l) {
                reason = r;
            }
        }
        let d = reason
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
            .count();
        if reason[d..].starts_with(b": ") {
            mechanism = Some(&reason[..d]);
            reason = &reason[d + 2..];
        }
    }
    let failed = PASSDB_FAILURES.iter().find(|f| reason.starts_with(f))?;
    Some(Observation::Check(
        Attempt {
            service: Service::Dovecot,
            protocol: Protocol::Unknown,
            ip,
            user: non_empty(user),
            mechanism: mechanism.and_then(non_empty),
            reason: Some(if failed.starts_with(b"pam_") {
                reason
            } else {
                failed
            }),
            attempts: 1,
            session: session.and_then(non_empty),
        },
        CheckKind::Passdb,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::parse_line;
    use crate::envelope::timestamp::{Clock, YearRule};

    fn obs(line: &str) -> Option<Observation<'_>> {
        let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2025));
        let l = parse_line(line.as_bytes(), &mut clock);
        DovecotDetector.detect(&l)
    }

    fn s(b: Option<&[u8]>) -> Option<&str> {
        b.map(|b| std::str::from_utf8(b).unwrap())
    }

    #[track_caller]
    fn failure(line: &str) -> Attempt<'_> {
        match obs(line) {
            Some(Observation::Failure(a)) => a,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[track_caller]
    fn check(line: &str) -> (Attempt<'_>, CheckKind) {
        match obs(line) {
            Some(Observation::Check(a, k)) => (a, k),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn summary_counts_n_attempts() {
        let a = failure(
            "Dec 30 00:04:09 mail dovecot: managesieve-login: Disconnected: Aborted login by logging out (auth failed, 3 attempts in 10 secs): user=<simon@example.com>, method=PLAIN, rip=49.5.222.122, lip=198.51.100.25, session=<dk0mFj5NrHeMszzx>",
        );
        assert_eq!(a.attempts, 3);
        assert_eq!(s(a.user), Some("simon@example.com"));
        assert_eq!(a.ip.to_string(), "49.5.222.122");
        assert_eq!(a.protocol, Protocol::ManageSieve);
        assert_eq!(s(a.session), Some("dk0mFj5NrHeMszzx"));
        assert_eq!(s(a.mechanism), Some("PLAIN"));
    }

    #[test]
    fn summary_shapes_across_versions() {
        for (line, n, user, proto) in [
            (
                "Jun 13 16:30:54 p dovecot: imap-login: Disconnected (auth failed, 2 attempts): user=<bob>, method=PLAIN, rip=49.176.98.87, lip=1.1.1.1, TLS",
                2,
                Some("bob"),
                Protocol::Imap,
            ),
            (
                "Jun 14 00:48:21 p dovecot: imap-login: Disconnected (auth failed, 1 attempts): method=PLAIN, rip=59.167.242.100, lip=1.1.1.1, TLS: Disconnected",
                1,
                None,
                Protocol::Imap,
            ),
            (
                "Jun 12 19:07:29 h dovecot[241]: imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<test>, method=PLAIN, rip=192.0.2.241, lip=2.2.2.2, TLS, session=<9ZHq>",
                3,
                Some("test"),
                Protocol::Imap,
            ),
            (
                "Jul 02 13:49:31 h dovecot[442]: pop3-login: Aborted login (auth failed, 1 attempts in 17 secs): user=<test>, method=PLAIN, rip=192.51.100.13, lip=2.2.2.2",
                1,
                Some("test"),
                Protocol::Pop3,
            ),
            (
                "Jan 29 09:33:58 pop3-login: Info: Aborted login (auth failed, 1 attempts in 2 secs): user=<grace>, method=PLAIN, rip=212.9.180.3",
                1,
                Some("grace"),
                Protocol::Pop3,
            ),
            (
                "imap-login: Aborted login (auth failed, 6 attempts): XYZ rip=6.6.6.0, lip=127.0.0.1",
                6,
                None,
                Protocol::Imap,
            ),
            (
                "Aug 29 03:17:18 s dovecot: submission-login: Client has quit the connection (auth failed, 1 attempts in 2 secs): user=<user1>, method=LOGIN, rip=192.0.2.133, lip=0.0.0.0",
                1,
                Some("user1"),
                Protocol::Submission,
            ),
        ] {
            let a = failure(line);
            assert_eq!(
                (a.attempts, s(a.user), a.protocol),
                (n, user, proto),
                "{line}"
            );
        }
    }

    #[test]
    fn injected_user_cannot_move_the_ip() {
        let a = failure(
            "Jan  1 00:00:00 m dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<x>, method=PLAIN, rip=198.51.100.7, lip=>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, session=<abc>",
        );
        assert_eq!(a.ip.to_string(), "203.0.113.9");
        assert_eq!(s(a.user), Some("x>, method=PLAIN, rip=198.51.100.7, lip="));
        assert_eq!(s(a.mechanism), Some("PLAIN"));
    }

    #[test]
    fn mapped_ipv6_and_empty_user() {
        let a = failure(
            "Jan  1 00:00:00 m dovecot: pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<>, method=PLAIN, rip=::ffff:192.0.2.9, lip=::ffff:10.0.0.1, session=<a>",
        );
        assert_eq!(a.ip.to_string(), "192.0.2.9");
        assert_eq!(a.user, None);
    }

    #[test]
    fn disallowed_and_proxy_are_failures() {
        let a = failure(
            "Dec 12 11:19:11 d dovecot: pop3-login: Aborted login (tried to use disabled plaintext auth): rip=190.210.136.21, lip=113.212.99.193",
        );
        assert_eq!((a.attempts, a.user), (1, None));
        let a = failure(
            "Jul 17 09:21:22 m dovecot: imap-login: Disconnected (proxy dest auth failed): user=<r@a.au>, method=PLAIN, rip=192.0.2.4, lip=192.168.1.2, session=<N>",
        );
        assert_eq!(s(a.user), Some("r@a.au"));
    }

    #[test]
    fn older_login_summaries() {
        // Shapes of Dovecot 1.0-2.1 (client_destroy / client_get_extra_disconnect_reason of
        // those releases), with the login_log_format_elements of the time.
        type Counted<'a> = Option<(u32, Option<&'a str>, Protocol)>;
        let cases: [(&str, Counted); 9] = [
            (
                "Mar 20 10:00:01 mx dovecot: imap-login: Aborted login (3 authentication attempts): user=<bob>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.1",
                Some((3, Some("bob"), Protocol::Imap)),
            ),
            (
                "Mar 20 10:00:02 mx dovecot: pop3-login: Aborted login (1 authentication attempts): user=<carol@example.org>, method=LOGIN, rip=::ffff:192.0.2.11, lip=::ffff:192.0.2.1, TLS",
                Some((1, Some("carol@example.org"), Protocol::Pop3)),
            ),
            (
                "Mar 20 10:00:03 mx dovecot: imap-login: Aborted login (0 authentication attempts): rip=192.0.2.12, lip=192.0.2.1",
                None,
            ),
            (
                "Mar 20 10:00:04 mx dovecot: imap-login: Disconnected: Inactivity (auth failed, 4 attempts): user=<dave>, method=PLAIN, rip=192.0.2.13, lip=192.0.2.1",
                Some((4, Some("dave"), Protocol::Imap)),
            ),
            (
                "Mar 20 10:00:05 mx dovecot: pop3-login: Disconnected: Too many bad commands (auth failed, 2 attempts): user=<erin>, method=PLAIN, rip=192.0.2.14, lip=192.0.2.1",
                Some((2, Some("erin"), Protocol::Pop3)),
            ),
            (
                "Mar 20 10:00:06 mx dovecot: imap-login: Disconnected (tried to use unsupported auth mechanism): user=<frank>, method=NTLM, rip=192.0.2.15, lip=192.0.2.1",
                Some((1, Some("frank"), Protocol::Imap)),
            ),
            (
                "Mar 20 10:00:07 mx dovecot: imap-login: Disconnected (disconnected while authenticating): user=<gina>, method=PLAIN, rip=192.0.2.16, lip=192.0.2.1",
                None,
            ),
            (
                "Mar 20 10:00:08 mx dovecot: imap-login: Disconnected (aborted authentication): method=PLAIN, rip=192.0.2.17, lip=192.0.2.1",
                None,
            ),
            (
                "Mar 20 10:00:09 mx dovecot: imap-login: Disconnected (cert required, client didn't start TLS): user=<hal>, method=PLAIN, rip=192.0.2.18, lip=192.0.2.1",
                None,
            ),
        ];
        for (line, want) in cases {
            let got = match obs(line) {
                Some(Observation::Failure(a)) => {
                    assert!(a.mechanism.is_some(), "{line}");
                    Some((a.attempts, s(a.user).map(str::to_owned), a.protocol))
                }
                Some(Observation::Known | Observation::Aborted) => None,
                other => panic!("{line}: {other:?}"),
            };
            let want = want.map(|(n, u, p)| (n, u.map(str::to_owned), p));
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn not_attempts() {
        for line in [
            "Jun 13 20:48:11 p dovecot: pop3-login: Disconnected (no auth attempts): rip=121.44.24.254, lip=113.212.99.194, TLS: Disconnected",
            "Aug 29 16:06:58 s dovecot: imap-login: Disconnected (disconnected before auth was ready, waited 0 secs): user=<>, rip=192.0.2.5, lip=192.168.1.2, TLS handshaking: SSL_accept() syscall failed",
            "Aug 22 12:09:41 s dovecot: imap-login: Login aborted: Connection closed: SSL_accept() failed: error (disconnected during TLS handshake) (tls_handshake_not_finished): user=<>, rip=192.0.2.7, lip=192.0.2.1, TLS handshaking: x",
            "Dec 30 00:00:14 mail dovecot: auth: Error: auth client 0 disconnected with 1 pending requests: EOF",
        ] {
            assert_eq!(obs(line), Some(Observation::Known), "{line}");
        }
        assert_eq!(
            obs(
                "Aug 31 16:15:10 s dovecot: imap-login: Disconnected (client didn't finish SASL auth, waited 2 secs): user=<>, method=PLAIN, rip=192.0.2.6, lip=192.168.1.2"
            ),
            Some(Observation::Aborted)
        );
    }

    #[test]
    fn login_success() {
        match obs(
            "Dec 30 00:01:44 mail dovecot: imap-login: Login: user=<adam@example.net>, method=PLAIN, rip=199.21.174.244, lip=198.51.100.25, mpid=63289, TLS, session=<QpcyiIR90+rBI5vj>",
        ) {
            Some(Observation::Success(a)) => {
                assert_eq!(s(a.user), Some("adam@example.net"));
                assert_eq!(s(a.session), Some("QpcyiIR90+rBI5vj"));
                assert_eq!(a.protocol, Protocol::Imap);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn passdb_lines() {
        for (line, user, ip, session, driver) in [
            (
                "Dec 30 00:00:03 mail dovecot: auth: passwd-file(alice@example.com,186.5.116.213): unknown user",
                "alice@example.com",
                "186.5.116.213",
                None,
                "passwd-file",
            ),
            (
                "Dec 30 00:04:00 mail dovecot: auth-worker(19883): pam(simon@example.com,49.5.222.122,<dk0mFj5N>): pam_authenticate() failed: Authentication failure (password mismatch?)",
                "simon@example.com",
                "49.5.222.122",
                Some("dk0mFj5N"),
                "pam",
            ),
            (
                "Jun 12 11:48:12 auth-worker(80180): Info: conn unix:auth-worker (uid=143): auth-worker<13247>: sql(support,192.0.2.6): unknown user",
                "support",
                "192.0.2.6",
                None,
                "sql",
            ),
            (
                "Mar 23 06:10:52 auth: Info: ldap(dog,52.37.139.121,): invalid credentials",
                "dog",
                "52.37.139.121",
                None,
                "ldap",
            ),
            (
                "Jul 02 13:49:32 h dovecot[442]: dovecot: auth(default): pam(a@B.com,200.76.17.206): pam_authenticate() failed: User not known: 2 Time(s)",
                "a@B.com",
                "200.76.17.206",
                None,
                "pam",
            ),
            (
                "Aug 30 00:10:57 auth(info@example.com,192.0.2.110,sasl:login)<CvN+E95Uf4e7eEnj>: Info: sql: Password mismatch (given password: x)",
                "info@example.com",
                "192.0.2.110",
                Some("CvN+E95Uf4e7eEnj"),
                "sql",
            ),
            (
                "Jan  1 00:00:00 m dovecot: auth: passwd-file(we,ird,2001:db8::5,<s1>): Password mismatch",
                "we,ird",
                "2001:db8::5",
                Some("s1"),
                "passwd-file",
            ),
        ] {
            let (a, kind) = check(line);
            assert_eq!(kind, CheckKind::Passdb);
            assert_eq!(s(a.user), Some(user), "{line}");
            assert_eq!(a.ip.to_string(), ip, "{line}");
            assert_eq!(s(a.session), session, "{line}");
            assert_eq!(s(a.mechanism), Some(driver), "{line}");
        }
        assert_eq!(
            obs("Jan  1 00:00:00 m dovecot: auth: passwd-file(a,1.2.3.4): lookup failed"),
            None
        );
    }

    #[test]
    fn pam_unix_takes_the_last_rhost() {
        let (a, kind) = check(
            "dovecot-auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=rhost=1.2.3.4 rhost=192.0.43.10",
        );
        assert_eq!(kind, CheckKind::PamUnix);
        assert_eq!(a.ip.to_string(), "192.0.43.10");
        assert_eq!(s(a.user), Some("rhost=1.2.3.4"));
        let (a, _) = check(
            "Apr 19 05:22:20 vm5 auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=root rhost=176.61.140.225  user=root",
        );
        assert_eq!(
            (s(a.user), a.ip.to_string()),
            (Some("root"), "176.61.140.225".into())
        );
    }
}

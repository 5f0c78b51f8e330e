//! The syslog envelope: splits a raw line into time, host, program tag and message, on bytes.
//!
//! Accepts the classic BSD header (`Mmm dd hh:mm:ss host prog[pid]: msg`), RFC 3339 / ISO 8601
//! stamps, TAI64N labels, lines without a host field, and bare messages (journald, or a message
//! pasted without header). It does not interpret the message: that is `detect`'s job.

pub mod timestamp;

use crate::runs::{self, Run};
use timestamp::{Clock, EventTime};

/// A log line split into its envelope fields. Borrows the line; nothing is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// `None` when the line has no timestamp, or one naming an impossible date.
    pub time: Option<EventTime>,
    /// Whether the line started with a timestamp at all.
    pub has_header: bool,
    pub host: Option<&'a [u8]>,
    /// Program tag without pid: `postfix/submission/smtpd`, `dovecot`, `auth-worker`...
    pub program: Option<&'a [u8]>,
    /// Everything after `prog[pid]: `, or after the header when there is no tag.
    pub message: &'a [u8],
}

/// Level words that start a message and must not be taken for a program tag.
const LEVELS: [&[u8]; 8] = [
    b"warning",
    b"error",
    b"fatal",
    b"panic",
    b"info",
    b"debug",
    b"notice",
    b"statistics",
];

/// The lengths of [`LEVELS`], bit `n` for length `n`.
const LEVEL_LENGTHS: u64 = {
    let mut bits = 0;
    let mut k = 0;
    while k < LEVELS.len() {
        bits |= 1 << LEVELS[k].len();
        k += 1;
    }
    bits
};

/// Whether `name` is one of [`LEVELS`] (told apart first by length, then by first letter:
/// every line asks, and most program names have no level's length).
fn is_level(name: &[u8]) -> bool {
    if name.len() >= 64 || LEVEL_LENGTHS >> name.len() & 1 == 0 {
        return false;
    }
    let first = name[0].to_ascii_lowercase();
    LEVELS
        .iter()
        .any(|l| l.len() == name.len() && l[0] == first && l.eq_ignore_ascii_case(name))
}

fn skip_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &b[n..]
}

/// Parses `name[pid]: `, `name(N): ` or `name: ` at the start of `b`: (name, rest).
/// A parenthesised part is only accepted when it is a process label (digits or `default`):
/// Dovecot 2.4 puts the attacker-chosen user name in `auth(user,ip,...)`, which is message.
pub fn split_tag(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let name_len = runs::len(b, Run::Name);
    if name_len == 0 {
        return None;
    }
    let name = &b[..name_len];
    if is_level(name) {
        return None;
    }
    let mut at = name_len;
    match b.get(at) {
        Some(b'[') => {
            let n = runs::len(&b[at + 1..], Run::Digits);
            if b.get(at + 1 + n) != Some(&b']') {
                return None;
            }
            at += n + 2;
        }
        Some(b'(') => {
            let inner = b[at + 1..].iter().take_while(|&&c| c != b')').count();
            let label = &b[at + 1..at + 1 + inner];
            if b.get(at + 1 + inner) != Some(&b')')
                || !(label == b"default"
                    || (!label.is_empty() && label.iter().all(u8::is_ascii_digit)))
            {
                return None;
            }
            at += inner + 2;
        }
        _ => {}
    }
    if b.get(at) != Some(&b':') {
        return None;
    }
    at += 1;
    match b.get(at) {
        None => Some((name, &b[at..])),
        Some(b' ') => Some((name, &b[at + 1..])),
        _ => None,
    }
}

/// Splits one line (without its newline). Never fails: a line with no recognisable header is
/// all message.
pub fn parse_line<'a>(line: &'a [u8], clock: &mut Clock) -> LogLine<'a> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // A crash can leave NUL padding before the next line, with no newline between them.
    let line = &line[line.iter().take_while(|&&b| b == 0).count()..];
    let Some((time, used)) = timestamp::parse_leading(line, clock) else {
        return bare(line);
    };
    let rest = skip_spaces(&line[used..]);
    // HOSTNAME is absent when the first token is already the tag (`auth-worker(1): ...`).
    // Host bytes hold no space: the token is all of them when a space (or the end) follows.
    let host_len = runs::len(rest, Run::Host);
    let all_host = rest.get(host_len).is_none_or(|&c| c == b' ');
    let token = &rest[..host_len];
    let host =
        if token.is_empty() || !all_host || token.ends_with(b":") && split_tag(rest).is_some() {
            None
        } else {
            Some(token)
        };
    let after_host = match host {
        Some(h) => skip_spaces(&rest[h.len()..]),
        None => rest,
    };
    let (program, message) = match split_tag(after_host) {
        Some((p, m)) => (Some(p), m),
        None => (None, after_host),
    };
    LogLine {
        time,
        has_header: true,
        host,
        program,
        message,
    }
}

fn bare(line: &[u8]) -> LogLine<'_> {
    let (program, message) = match split_tag(line) {
        Some((p, m)) => (Some(p), m),
        None => (None, line),
    };
    LogLine {
        time: None,
        has_header: false,
        host: None,
        program,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp::YearRule;
    use super::*;
    use jiff::tz::TimeZone;

    fn parse(line: &[u8]) -> LogLine<'_> {
        let mut clock = Clock::new(TimeZone::UTC, YearRule::StartingIn(2025));
        parse_line(line, &mut clock)
    }

    #[track_caller]
    fn check(line: &str, host: Option<&str>, program: Option<&str>, message: &str) {
        let l = parse(line.as_bytes());
        assert_eq!(
            l.host.map(|h| std::str::from_utf8(h).unwrap()),
            host,
            "{line}"
        );
        assert_eq!(
            l.program.map(|h| std::str::from_utf8(h).unwrap()),
            program,
            "{line}"
        );
        assert_eq!(std::str::from_utf8(l.message).unwrap(), message, "{line}");
    }

    #[test]
    fn classic_with_host_and_pid() {
        check(
            "Dec  2 22:24:22 hel postfix/smtpd[7676]: warning: x",
            Some("hel"),
            Some("postfix/smtpd"),
            "warning: x",
        );
        check(
            "Jan 29 08:11:45 mail postfix-incoming/smtpd[10752]: warning: y",
            Some("mail"),
            Some("postfix-incoming/smtpd"),
            "warning: y",
        );
        check(
            "Feb 10 13:26:34 srv postfix/submission/smtpd[123]: z",
            Some("srv"),
            Some("postfix/submission/smtpd"),
            "z",
        );
    }

    #[test]
    fn no_host_field() {
        check(
            "Jan 29 13:54:06 auth-worker(22401): Info: sql(a,1.2.3.4): unknown user",
            None,
            Some("auth-worker"),
            "Info: sql(a,1.2.3.4): unknown user",
        );
        check(
            "Jan 29 09:33:58 pop3-login: Info: Aborted login",
            None,
            Some("pop3-login"),
            "Info: Aborted login",
        );
        check(
            "2013-08-11 03:56:40 auth-worker(default): Info: pam(u,1.2.3.4): x",
            None,
            Some("auth-worker"),
            "Info: pam(u,1.2.3.4): x",
        );
    }

    #[test]
    fn dovecot_24_user_prefix_is_message_not_tag() {
        check(
            "Aug 30 00:10:57 auth(info@example.com,192.0.2.110,sasl:login)<CvN>: Info: sql: x",
            None,
            None,
            "auth(info@example.com,192.0.2.110,sasl:login)<CvN>: Info: sql: x",
        );
    }

    #[test]
    fn rfc3339_header() {
        let l = parse(b"2022-04-14T00:36:03.150Z mailhub postfix/smtps/smtpd[30543]: warning: x");
        assert_eq!(l.host, Some(&b"mailhub"[..]));
        assert_eq!(l.program, Some(&b"postfix/smtps/smtpd"[..]));
        assert!(l.time.is_some());
    }

    #[test]
    fn bare_messages() {
        check(
            "warning: unknown[1.2.3.4]: SASL",
            None,
            None,
            "warning: unknown[1.2.3.4]: SASL",
        );
        check(
            "imap-login: Aborted login",
            None,
            Some("imap-login"),
            "Aborted login",
        );
        check(
            "pam_unix(dovecot:auth): authentication failure;",
            None,
            None,
            "pam_unix(dovecot:auth): authentication failure;",
        );
        let l = parse(b"imap-login: x");
        assert!(!l.has_header && l.time.is_none());
    }

    #[test]
    fn crlf_and_empty() {
        check(
            "Jan  1 00:00:00 h dovecot: x\r",
            Some("h"),
            Some("dovecot"),
            "x",
        );
        check("", None, None, "");
    }
}

//! Detectors: turn one parsed log line into an [`Observation`] of authentication activity.
//!
//! Each daemon family has one [`Detector`]; a detector looks only at its own line shapes, takes
//! every field from its real position (user names are attacker-chosen and may imitate other
//! fields), and borrows from the line. Detectors are stateless: an observation that needs
//! another line to count correctly (a Dovecot auth-process line) is resolved by `correlate`.
//!
//! [`Prefilter`] picks the candidate lines of a buffer with one multi-needle scan so that
//! uninteresting lines cost nothing but that scan.

mod dovecot;
mod fields;
mod postfix;

use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::envelope::LogLine;
use crate::event::{Protocol, Service};

pub use dovecot::DovecotDetector;
pub use fields::{LONGEST_IP_TEXT, dotted_quad_words, parse_ip, parse_ipv4};
pub use postfix::PostfixDetector;

/// What a line says about one (or N) authentication attempts, borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'a> {
    pub service: Service,
    pub protocol: Protocol,
    pub ip: IpAddr,
    pub user: Option<&'a [u8]>,
    pub mechanism: Option<&'a [u8]>,
    pub reason: Option<&'a [u8]>,
    pub attempts: u32,
    pub session: Option<&'a [u8]>,
}

/// Who else logs the attempt behind a Dovecot auth-process line (see `correlate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// A passdb result line `DRIVER(user,ip[,<session>]): reason` of the auth process.
    Passdb,
    /// `pam_unix(dovecot:auth): authentication failure`, written by PAM inside the auth
    /// worker just before Dovecot's own `pam(...)` line for the same check.
    PamUnix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation<'a> {
    /// A failed attempt that counts by itself (Postfix warning, Dovecot login summary).
    Failure(Attempt<'a>),
    /// Postfix's `(reason unavailable)` warning: the failure Dovecot SASL reported to Postfix.
    /// Counts by itself, and absorbs the session-less Dovecot check line of the same attempt.
    SaslFailure(Attempt<'a>),
    /// A successful login.
    Success(Attempt<'a>),
    /// A failed password check written by Dovecot's auth process; the same attempt is usually
    /// also written by a login process or by Postfix.
    Check(Attempt<'a>, CheckKind),
    /// An attempt whose password was never checked (Postfix lost Dovecot: 454 tempfail).
    Ambiguous(Attempt<'a>),
    /// The client gave up in the middle of SASL: neither failure nor success.
    Aborted,
    /// An auth-related line that is known not to be an attempt (`no auth attempts`, disconnect
    /// statistics, outbound SASL errors, TLS aborts...).
    Known,
}

/// A line-shape recogniser for one daemon family.
pub trait Detector {
    /// `None` when the line is not one of this detector's shapes.
    fn detect<'a>(&self, line: &LogLine<'a>) -> Option<Observation<'a>>;
}

/// Which detector a program tag belongs to.
fn family(program: &[u8]) -> Option<Service> {
    if program.starts_with(b"postfix") || program.ends_with(b"smtpd") {
        Some(Service::Postfix)
    } else if program.starts_with(b"dovecot")
        || program.starts_with(b"auth")
        || program.ends_with(b"-login")
        || program.starts_with(b"pam_unix")
    {
        Some(Service::Dovecot)
    } else {
        None
    }
}

/// Runs the right detector for a line; lines without a program tag try both.
pub fn detect<'a>(line: &LogLine<'a>) -> Option<Observation<'a>> {
    match line.program.map(family) {
        Some(Some(Service::Postfix)) => PostfixDetector.detect(line),
        Some(Some(Service::Dovecot)) => DovecotDetector.detect(line),
        Some(None) => None,
        None => PostfixDetector
            .detect(line)
            .or_else(|| DovecotDetector.detect(line)),
    }
}

/// Whether a line no rule took still looks like authentication activity of smtpd or
/// Dovecot's auth/login processes: the "suspicious unmatched" lines that reveal a new log
/// shape. Words must start at a word boundary (`gauthk2c@` in a message-id is not `auth`),
/// and Dovecot mail processes (`lmtp(user)`, `imap(user)`) after a login are not auth.
pub fn is_suspicious(line: &LogLine<'_>) -> bool {
    let from_auth_program = match line.program {
        None => true,
        Some(p) => match family(p) {
            Some(Service::Postfix) => p.ends_with(b"smtpd"),
            Some(Service::Dovecot) => true,
            None => false,
        },
    };
    if !from_auth_program {
        return false;
    }
    let msg = line
        .message
        .strip_prefix(b"dovecot: ")
        .unwrap_or(line.message);
    if [
        &b"lmtp("[..],
        b"imap(",
        b"pop3(",
        b"managesieve(",
        b"submission(",
    ]
    .iter()
    .any(|p| msg.starts_with(p))
    {
        return false;
    }
    SUSPICIOUS_WORDS.iter().any(|w| has_word(msg, w))
}

const SUSPICIOUS_WORDS: [&[u8]; 4] = [b"auth", b"login", b"sasl", b"password"];

/// Case-insensitive `word` at the start of a word of `hay`.
fn has_word(hay: &[u8], word: &[u8]) -> bool {
    hay.windows(word.len()).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(word) && (i == 0 || !hay[i - 1].is_ascii_alphanumeric())
    })
}

/// Byte strings, one of which every auth-related line holds. Case matters: each spelling
/// that real logs use is listed, which keeps the scan on its fast SIMD path.
pub const NEEDLES: [&str; 9] = [
    "auth", "AUTH", "Auth", "ogin", "OGIN", "SASL", "sasl", "assword", "rhost=",
];

/// Finds candidate lines in a buffer: a line holding none of [`NEEDLES`] is skipped unseen.
pub struct Prefilter {
    searcher: AhoCorasick,
}

impl Default for Prefilter {
    fn default() -> Self {
        Prefilter {
            searcher: AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .build(NEEDLES)
                .expect("static needles build"),
        }
    }
}

impl Prefilter {
    /// Calls `f` once for each line of `buf` (complete lines, `\n`-terminated or the last)
    /// that holds a needle, in order.
    pub fn for_each_candidate(&self, buf: &[u8], mut f: impl FnMut(&[u8])) {
        let mut pos = 0;
        while pos < buf.len() {
            let Some(m) = self
                .searcher
                .find(aho_corasick::Input::new(buf).range(pos..))
            else {
                break;
            };
            let start = memchr::memrchr(b'\n', &buf[pos..m.start()]).map_or(pos, |i| pos + i + 1);
            let end = memchr::memchr(b'\n', &buf[m.end()..]).map_or(buf.len(), |i| m.end() + i);
            f(&buf[start..end]);
            pos = end + 1;
        }
    }

    /// Whether one line would be a candidate.
    pub fn is_candidate(&self, line: &[u8]) -> bool {
        self.searcher.is_match(line)
    }

    /// Whether a needle ends `text` (for a caller that found where one may end otherwise: a
    /// line is a candidate when one ends at one of its bytes).
    pub fn ends_with_needle(text: &[u8]) -> bool {
        NEEDLES.iter().any(|n| text.ends_with(n.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_yields_whole_candidate_lines_once() {
        let buf = b"a benign line\nwarning: SASL LOGIN authentication failed\nx\nuser auth auth auth\nlast Login";
        let mut got = Vec::new();
        Prefilter::default().for_each_candidate(buf, |l| got.push(l.to_vec()));
        assert_eq!(
            got,
            vec![
                b"warning: SASL LOGIN authentication failed".to_vec(),
                b"user auth auth auth".to_vec(),
                b"last Login".to_vec(),
            ]
        );
    }

    #[test]
    fn suspicious_needs_an_auth_word_from_an_auth_program() {
        use crate::envelope::parse_line;
        use crate::envelope::timestamp::{Clock, YearRule};
        let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2025));
        let mut sus = |l: &str| is_suspicious(&parse_line(l.as_bytes(), &mut clock));
        assert!(sus(
            "Jan  1 00:00:00 m dovecot: auth: new-driver(a,1.2.3.4): Authentication refused"
        ));
        assert!(sus(
            "Jan  1 00:00:00 m postfix/smtpd[1]: warning: SASL: new shape"
        ));
        assert!(!sus(
            "Jan  1 00:00:00 m postfix/cleanup[1]: 7D: message-id=<x.auth@y>"
        ));
        assert!(!sus(
            "Jan  1 00:00:00 m postfix/smtpd[1]: 7D: message-id=<gauthk2c@localhost>"
        ));
        assert!(!sus(
            "Jan  1 00:00:00 m dovecot: lmtp(a@b)<1><x>: msgid=<login.x@y>: saved"
        ));
        assert!(!sus("Jan  1 00:00:00 m sshd[1]: Failed password for root"));
    }

    #[test]
    fn prefilter_on_empty_and_needle_free_buffers() {
        let mut n = 0;
        Prefilter::default().for_each_candidate(b"", |_| n += 1);
        Prefilter::default().for_each_candidate(b"\n\nplain\n", |_| n += 1);
        assert_eq!(n, 0);
    }
}

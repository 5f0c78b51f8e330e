//! `parse --explain`: what the pipeline makes of each line, for "why is this not counted":
//! the envelope's format and fields, the rule that took the line (or, when none did, the
//! nearest one and the shape it expects), the attempt's fields, and how the correlator
//! counted it: at once, waiting for a partner, or completing waiting lines (by number).
//!
//! Not the hot path: one line at a time, allocating freely, through the same pipeline (so
//! what it says is what a run does).

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{Fed, Pipeline, Stats};
use crate::correlate::Windows;
use crate::detect::{Attempt, CheckKind, Observation};
use crate::envelope::LogLine;
use crate::envelope::timestamp::{Clock, rfc3339};
use crate::event::{AuthEvent, Service};
use crate::sink::printable;

/// A line waiting in the correlator, as far as the explanation follows it.
struct Waiting {
    line: u64,
    ip: IpAddr,
    session: Option<Vec<u8>>,
}

pub struct Explainer {
    pipeline: Pipeline,
    line: u64,
    waiting: Vec<Waiting>,
}

impl Explainer {
    pub fn new(clock: Clock, windows: Windows) -> Explainer {
        Explainer {
            pipeline: Pipeline::new(clock, windows),
            line: 0,
            waiting: Vec::new(),
        }
    }

    pub fn pipeline(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }

    pub fn stats(&self) -> &Stats {
        self.pipeline.stats()
    }

    /// The explanation of the next line (without its newline).
    pub fn line(&mut self, line: &[u8]) -> String {
        self.line += 1;
        let n = self.line;
        let mut out = format!("line {n}: {}\n", printable(line));
        let before = self.pipeline.waiting();
        let mut emitted: Vec<AuthEvent> = Vec::new();
        let fed = self
            .pipeline
            .feed_line_as(line, &mut |e| emitted.push(e), &mut |_| {});
        let (parsed, obs) = match fed {
            None => {
                out.push_str(
                    "  skipped: no authentication word (the prefilter's needles): not parsed\n",
                );
                return out;
            }
            Some(Fed::TooLong) => {
                out.push_str("  skipped: longer than the longest line read (counted as skipped)\n");
                return out;
            }
            Some(Fed::NoRule { parsed, suspicious }) => {
                envelope(&mut out, line, &parsed);
                near_miss(&mut out, &parsed, suspicious);
                return out;
            }
            Some(Fed::Observed { parsed, obs }) => (parsed, obs),
        };
        envelope(&mut out, line, &parsed);
        let _ = writeln!(out, "  rule: {}", rule(&obs));
        if let Some(a) = attempt(&obs) {
            let _ = writeln!(out, "  fields: {}", fields(a));
        }
        let after = self.pipeline.waiting();
        if after > before
            && let Some(a) = attempt(&obs)
        {
            self.waiting.push(Waiting {
                line: n,
                ip: a.ip,
                session: a.session.map(<[u8]>::to_vec),
            });
            let partner = match a.session {
                Some(s) => format!("the login process's line of session <{}>", printable(s)),
                None => format!("Postfix's warning (or Dovecot's line) for {}", a.ip),
            };
            let _ = writeln!(out, "  counted: not yet, waiting for {partner}");
        }
        if after < before {
            let completed = self.complete(before - after, attempt(&obs));
            if !completed.is_empty() {
                let _ = writeln!(out, "  pairs with waiting line(s) {completed}");
            }
        }
        for e in &emitted {
            let _ = writeln!(out, "  counted: {}", event(e));
        }
        if emitted.is_empty() && after <= before {
            out.push_str("  counted: nothing (not an attempt, or absorbed by the lines above)\n");
        }
        out
    }

    /// The end of the input: lines still waiting count alone.
    pub fn finish(&mut self) -> String {
        let mut emitted = Vec::new();
        self.pipeline.finish(&mut |e| emitted.push(e));
        let mut out = String::new();
        if !emitted.is_empty() {
            let lines: Vec<String> = self.waiting.iter().map(|w| w.line.to_string()).collect();
            let _ = writeln!(
                out,
                "end of input: the waiting line(s) {} count alone:",
                lines.join(", ")
            );
            for e in &emitted {
                let _ = writeln!(out, "  counted: {}", event(e));
            }
        }
        self.waiting.clear();
        out
    }

    /// The numbers of the `k` waiting lines the line of `by` completed (same session, else
    /// same address, oldest first), taken off the list.
    fn complete(&mut self, k: usize, by: Option<&Attempt>) -> String {
        let mut taken = Vec::new();
        for _ in 0..k {
            let at = by.and_then(|a| {
                self.waiting
                    .iter()
                    .position(|w| a.session.is_some() && w.session.as_deref() == a.session)
                    .or_else(|| self.waiting.iter().position(|w| w.ip == a.ip))
            });
            match at.or((!self.waiting.is_empty()).then_some(0)) {
                Some(i) => taken.push(self.waiting.remove(i).line.to_string()),
                None => break,
            }
        }
        taken.join(", ")
    }
}

fn envelope(out: &mut String, raw: &[u8], parsed: &LogLine) {
    let raw = &raw[raw.iter().take_while(|&&b| b == 0).count()..];
    let format = if !parsed.has_header {
        "no syslog header"
    } else {
        match raw.first() {
            Some(b'@') => "TAI64N stamp",
            Some(c) if c.is_ascii_digit() => match raw.get(10) {
                Some(b'T') => "RFC 3339 stamp",
                _ => "YYYY-MM-DD HH:MM:SS stamp",
            },
            _ => "classic syslog stamp (Mmm dd hh:mm:ss, the year inferred)",
        }
    };
    let time = parsed.time.map_or("none".to_owned(), |t| rfc3339(t.unix));
    let _ = writeln!(
        out,
        "  envelope: {format}; time {time}; host {}; program {}",
        text(parsed.host),
        text(parsed.program)
    );
}

fn attempt<'a>(obs: &'a Observation<'a>) -> Option<&'a Attempt<'a>> {
    match obs {
        Observation::Failure(a)
        | Observation::SaslFailure(a)
        | Observation::Success(a)
        | Observation::Check(a, _)
        | Observation::Ambiguous(a) => Some(a),
        Observation::Aborted | Observation::Known => None,
    }
}

fn rule(obs: &Observation) -> &'static str {
    match obs {
        Observation::Failure(a) if a.service == Service::Postfix => {
            "postfix SASL authentication failure warning: a failed attempt"
        }
        Observation::Failure(_) => {
            "dovecot login process summary (auth failed, N attempts): N failed attempts, minus the auth-process lines of the same session already waiting"
        }
        Observation::SaslFailure(_) => {
            "postfix SASL failure with (reason unavailable) (Dovecot SASL): a failed attempt that absorbs Dovecot's session-less check line of the same address"
        }
        Observation::Success(a) if a.service == Service::Postfix => {
            "postfix SASL login (sasl_username=): a successful login"
        }
        Observation::Success(_) => {
            "dovecot login (Login: user=<...>): a successful login; the waiting auth-process lines of its session are its failures"
        }
        Observation::Check(_, CheckKind::Passdb) => {
            "dovecot auth process passdb result DRIVER(user,ip[,<session>]): reason: waits for the line that counts it"
        }
        Observation::Check(_, CheckKind::PamUnix) => {
            "pam_unix authentication failure in Dovecot's auth worker: waits for Dovecot's pam(...) line"
        }
        Observation::Ambiguous(_) => {
            "postfix tempfail (Connection lost to authentication server): the password was never checked, not counted"
        }
        Observation::Aborted => "SASL exchange aborted by the client: not counted",
        Observation::Known => {
            "an authentication line that is not an attempt (no auth attempts, disconnect statistics, outbound SASL, TLS): not counted"
        }
    }
}

/// A field from the line, made printable; `none` when absent.
fn text(v: Option<&[u8]>) -> String {
    v.map_or("none".to_owned(), |b| printable(b).into_owned())
}

fn fields(a: &Attempt) -> String {
    format!(
        "service {}, protocol {}, ip {}, user {}, mechanism {}, reason {}, attempts {}, session {}",
        a.service.as_str(),
        a.protocol.as_str(),
        a.ip,
        text(a.user),
        text(a.mechanism),
        text(a.reason),
        a.attempts,
        text(a.session)
    )
}

fn event(e: &AuthEvent) -> String {
    format!(
        "{} x{} ({} {}) from {}, user {}",
        e.outcome.as_str(),
        e.attempts,
        e.service.as_str(),
        e.protocol.as_str(),
        e.ip,
        text(e.user.as_deref())
    )
}

/// No rule took the line: why, and the nearest rule's shape.
fn near_miss(out: &mut String, parsed: &LogLine, suspicious: bool) {
    if !suspicious {
        out.push_str(
            "  rule: none, and none expected: no auth word at a word start from smtpd or Dovecot's auth and login processes\n",
        );
        return;
    }
    let msg = String::from_utf8_lossy(parsed.message).to_ascii_lowercase();
    let program = parsed
        .program
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let postfix = program
        .as_deref()
        .is_some_and(|p| p.starts_with("postfix") || p.ends_with("smtpd"));
    let nearest = if postfix && msg.contains("authentication failed") {
        "postfix SASL failure: `warning: HOST[IP]: SASL MECH authentication failed: REASON[, sasl_username=USER]`"
    } else if postfix {
        "postfix SASL login: `QUEUEID: client=HOST[IP], sasl_method=MECH, sasl_username=USER`"
    } else if msg.contains("login:") {
        "dovecot login: `PROTO-login: Login: user=<USER>, method=MECH, rip=IP, lip=IP, ..., session=<ID>`"
    } else if msg.contains("auth failed")
        || msg.contains("aborted login")
        || msg.contains("disconnected")
    {
        "dovecot login summary: `PROTO-login: Disconnected|Aborted login (auth failed, N attempts in S secs): user=<USER>, method=MECH, rip=IP, lip=IP, session=<ID>`"
    } else {
        "dovecot auth process: `auth: DRIVER(USER,IP[,<SESSION>]): REASON`"
    };
    let _ = writeln!(
        out,
        "  rule: none took it, yet it looks like authentication activity (counted as suspicious unmatched)\n  nearest rule: {nearest}"
    );
}

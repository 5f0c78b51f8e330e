//! Postfix smtpd: SASL failure warnings, SASL successes, and the auth-related lines that are
//! not attempts.
//!
//! Not handled here: Postfix as a SASL *client* (outbound `SASL authentication failed; server
//! X said`), which is known-benign, and Cyrus `saslauthd`'s own log lines.

use super::fields::{find, host_bracket_ip, non_empty, rfind};
use super::{Attempt, Detector, Observation};
use crate::envelope::LogLine;
use crate::event::{Protocol, Service};

pub struct PostfixDetector;

/// Reasons after `authentication failed: ` that are not a failed password check.
enum FailureKind {
    /// A real password check that failed.
    Failed,
    /// `Connection lost to authentication server`: a 454 tempfail; the password was never
    /// checked (server fault, or Dovecot's penalty outlasting Postfix's wait).
    Ambiguous,
    /// The client asked for a mechanism the server does not offer: no password was tried.
    NotAnAttempt,
}

const REASONS: [(&[u8], FailureKind); 2] = [
    (
        b"Connection lost to authentication server",
        FailureKind::Ambiguous,
    ),
    (
        b"Invalid authentication mechanism",
        FailureKind::NotAnAttempt,
    ),
];

/// Lines mentioning AUTH/SASL that are known not to be attempts.
const KNOWN: [&[u8]; 9] = [
    b"disconnect from ",
    b" after AUTH from ",
    b"COMMAND TIME LIMIT from ",
    b"SASL authentication failed; server ",
    b"warning: SASL authentication failure: ",
    b"warning: SASL authentication problem: ",
    b"SASL authentication failure: ",
    b"sasl_method=",
    b"too many errors after AUTH",
];

fn protocol(line: &LogLine<'_>) -> Protocol {
    match line.program {
        Some(p) if find(p, b"submission").is_some() => Protocol::Submission,
        Some(p) if find(p, b"smtps").is_some() => Protocol::Smtps,
        _ => Protocol::Smtp,
    }
}

impl Detector for PostfixDetector {
    fn detect<'a>(&self, line: &LogLine<'a>) -> Option<Observation<'a>> {
        let msg = line.message;
        if let Some(rest) = msg.strip_prefix(b"warning: ")
            && let Some(obs) = sasl_warning(rest, protocol(line))
        {
            return Some(obs);
        }
        if let Some(obs) = sasl_success(msg, protocol(line)) {
            return Some(obs);
        }
        KNOWN
            .iter()
            .any(|k| find(msg, k).is_some())
            .then_some(Observation::Known)
    }
}

/// `HOST[IP](:PORT)?: SASL MECH authentication failed: REASON(, sasl_username=USER)?` and the
/// `authentication aborted` variant.
fn sasl_warning(rest: &[u8], protocol: Protocol) -> Option<Observation<'_>> {
    let (ip, rest) = host_bracket_ip(rest)?;
    let rest = rest.strip_prefix(b": SASL ")?;
    let mech_len = rest.iter().take_while(|&&c| c != b' ').count();
    let mechanism = &rest[..mech_len];
    let rest = rest[mech_len..].strip_prefix(b" authentication ")?;
    if rest.starts_with(b"aborted") {
        return Some(Observation::Aborted);
    }
    let rest = rest.strip_prefix(b"failed")?;
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    // The reason is the server's text; the user name, last on the line, is the client's: the
    // first `, sasl_username=` is the real one.
    let (reason, user) = match find(rest, b", sasl_username=") {
        Some(i) => (&rest[..i], non_empty(&rest[i + 16..])),
        None => (rest, None),
    };
    let attempt = Attempt {
        service: Service::Postfix,
        protocol,
        ip,
        user,
        mechanism: non_empty(mechanism),
        reason: non_empty(reason),
        attempts: 1,
        session: None,
    };
    let kind = REASONS
        .iter()
        .find(|(r, _)| reason.starts_with(r))
        .map_or(&FailureKind::Failed, |(_, k)| k);
    Some(match kind {
        FailureKind::Ambiguous => Observation::Ambiguous(attempt),
        FailureKind::NotAnAttempt => Observation::Known,
        FailureKind::Failed if reason == b"(reason unavailable)" => {
            Observation::SaslFailure(attempt)
        }
        FailureKind::Failed => Observation::Failure(attempt),
    })
}

/// `QUEUEID: client=HOST[IP], sasl_method=M, sasl_username=U(, sasl_sender=S)?`.
fn sasl_success(msg: &[u8], protocol: Protocol) -> Option<Observation<'_>> {
    let qid_len = msg.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let rest = msg[qid_len..].strip_prefix(b": client=")?;
    let (ip, rest) = host_bracket_ip(rest)?;
    let rest = rest.strip_prefix(b", sasl_method=")?;
    let m = find(rest, b", sasl_username=")?;
    let user = &rest[m + 16..];
    let user = match rfind(user, b", sasl_sender=") {
        Some(i) => &user[..i],
        None => user,
    };
    Some(Observation::Success(Attempt {
        service: Service::Postfix,
        protocol,
        ip,
        user: non_empty(user),
        mechanism: non_empty(&rest[..m]),
        reason: None,
        attempts: 1,
        session: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::parse_line;
    use crate::envelope::timestamp::{Clock, YearRule};

    fn obs(line: &str) -> Option<Observation<'_>> {
        let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2025));
        let l = parse_line(line.as_bytes(), &mut clock);
        PostfixDetector.detect(&l)
    }

    fn attempt(o: Option<Observation<'_>>) -> Attempt<'_> {
        match o {
            Some(
                Observation::Failure(a) | Observation::SaslFailure(a) | Observation::Success(a),
            ) => a,
            other => panic!("not an attempt: {other:?}"),
        }
    }

    #[test]
    fn failure_takes_the_bracketed_ip_not_the_first_dotted_quad() {
        let a = attempt(obs(
            "Dec  2 22:24:22 mx postfix/smtpd[7]: warning: 10.1.2.3.static.example.net[203.0.113.50]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
        ));
        assert_eq!(a.ip.to_string(), "203.0.113.50");
        assert_eq!(a.user, None);
        assert_eq!(a.mechanism, Some(&b"LOGIN"[..]));
        assert_eq!(a.reason, Some(&b"UGFzc3dvcmQ6"[..]));
        assert_eq!(a.protocol, Protocol::Smtp);
    }

    #[test]
    fn failure_with_port_user_and_instance() {
        let o = obs(
            "Aug  4 16:47:52 m postfix/submission/smtpd[1]: warning: unknown[2001:db8::1]:55729: SASL PLAIN authentication failed: (reason unavailable), sasl_username=Bob@Example.com",
        );
        assert!(matches!(o, Some(Observation::SaslFailure(_))));
        let a = attempt(o);
        assert_eq!(a.ip.to_string(), "2001:db8::1");
        assert_eq!(a.user, Some(&b"Bob@Example.com"[..]));
        assert_eq!(a.protocol, Protocol::Submission);
        let a = attempt(obs(
            "Aug  4 16:47:52 m postfix/smtps/smtpd[1]: warning: unknown[1.2.3.4]: SASL Plain authentication failed:",
        ));
        assert_eq!((a.reason, a.protocol), (None, Protocol::Smtps));
    }

    #[test]
    fn user_name_imitating_fields_is_kept_whole() {
        let a = attempt(obs(
            "Aug  4 16:47:52 m postfix/smtpd[1]: warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: authentication failure, sasl_username=x, sasl_username=y?n[6.6.6.6]",
        ));
        assert_eq!(a.user, Some(&b"x, sasl_username=y?n[6.6.6.6]"[..]));
        assert_eq!(a.ip.to_string(), "1.2.3.4");
        // An empty name is no name.
        let a = attempt(obs(
            "Aug  4 16:47:52 m postfix/smtpd[1]: warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: x, sasl_username=",
        ));
        assert_eq!(a.user, None);
    }

    #[test]
    fn not_failures() {
        let tempfail = obs(
            "Feb  3 08:29:28 mail postfix/smtpd[2]: warning: unknown[1.1.1.1]: SASL LOGIN authentication failed: Connection lost to authentication server, sasl_username=admin",
        );
        assert!(matches!(tempfail, Some(Observation::Ambiguous(a)) if a.user == Some(b"admin")));
        for line in [
            "Jan 14 16:18:16 x postfix/smtpd[1]: warning: host[192.0.2.5]: SASL CRAM-MD5 authentication failed: Invalid authentication mechanism",
            "Apr 26 10:55:19 t postfix/smtpd[2]: warning: SASL authentication failure: cannot connect to saslauthd server: Permission denied",
            "Apr 26 10:55:19 t postfix/smtp[2]: D0F29603B4: SASL authentication failed; server xyz.example.com[1.2.3.4] said: 535 5.7.8 Error",
            "Feb 10 13:26:34 srv postfix/smtpd[123]: disconnect from unknown[192.0.2.1] helo=1 auth=0/1 quit=1 commands=2/3",
            "Feb 18 09:48:04 x postfix/smtpd[5]: lost connection after AUTH from unknown[192.0.2.23]",
        ] {
            assert_eq!(obs(line), Some(Observation::Known), "{line}");
        }
        assert_eq!(
            obs(
                "Feb 18 09:48:04 x postfix/smtpd[5]: warning: unknown[1.2.3.4]: SASL LOGIN authentication aborted"
            ),
            Some(Observation::Aborted)
        );
        assert_eq!(
            obs("Feb 18 09:48:04 x postfix/smtpd[5]: connect from unknown[1.2.3.4]"),
            None
        );
    }

    #[test]
    fn success() {
        let o = obs(
            "Oct 30 13:19:26 gw postfix/smtpd[27530]: EB4B2C19E2: client=xxx[1.2.3.4]:587, sasl_method=PLAIN, sasl_username=user@domain, sasl_sender=a@b",
        );
        assert!(matches!(o, Some(Observation::Success(_))));
        let a = attempt(o);
        assert_eq!(a.user, Some(&b"user@domain"[..]));
        assert_eq!(a.mechanism, Some(&b"PLAIN"[..]));
        assert_eq!(a.ip.to_string(), "1.2.3.4");
        assert_eq!(
            obs("Oct 30 13:19:26 gw postfix/smtpd[2]: EB4B2C19E2: client=xxx[1.2.3.4]"),
            None
        );
    }
}

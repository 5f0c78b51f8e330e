//! The event model: one [`AuthEvent`] per authentication attempt (or group of attempts that a
//! daemon summarised as "N attempts").
//!
//! This is what every later stage (stores, reports) consumes. It is not a log line: a line that
//! names no attempt produces no event, and one attempt logged by two daemons produces one event
//! (see `correlate`).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::envelope::timestamp::EventTime;

/// Which daemon family reported the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Service {
    Postfix,
    Dovecot,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Postfix => "postfix",
            Service::Dovecot => "dovecot",
        }
    }
}

/// The protocol the client spoke, as far as the log tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    Smtp,
    Submission,
    Smtps,
    Imap,
    Pop3,
    ManageSieve,
    Lmtp,
    /// A Dovecot auth line whose connection end (which names the protocol) was never seen.
    Unknown,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Submission => "submission",
            Protocol::Smtps => "smtps",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::ManageSieve => "managesieve",
            Protocol::Lmtp => "lmtp",
            Protocol::Unknown => "unknown",
        }
    }
}

/// Whether the attempt was rejected or accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    Failure,
    Success,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Failure => "failure",
            Outcome::Success => "success",
        }
    }
}

/// One authentication attempt (or `attempts` attempts summarised by one line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthEvent {
    /// When the counting line was written; `None` for a line without a syslog header.
    pub time: Option<EventTime>,
    /// The log host (syslog HOSTNAME field), when the line has one.
    pub server: Option<String>,
    pub service: Service,
    pub protocol: Protocol,
    pub outcome: Outcome,
    /// Client address; `::ffff:a.b.c.d` is stored as the IPv4 `a.b.c.d`.
    pub ip: IpAddr,
    /// The attempted user name, byte for byte as logged; `None` when the line names none
    /// (including an empty `user=<>`).
    pub user: Option<Vec<u8>>,
    /// SASL mechanism (`PLAIN`, `LOGIN`, ...) or Dovecot passdb driver (`pam`, `sql`, ...).
    pub mechanism: Option<String>,
    /// Why the attempt failed (or how it succeeded), as the daemon put it.
    pub reason: Option<String>,
    /// Number of attempts this event stands for (1, or N from Dovecot's "N attempts").
    pub attempts: u32,
    /// Dovecot login session id, when known.
    pub session: Option<String>,
}

/// The client's network as reports group it: `a.b.c.0/24` for IPv4, `x:x:x:x::/64` for IPv6.
pub fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let masked = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(masked))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_24_and_64() {
        assert_eq!(network("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(
            network("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(network("2001:db8::1".parse().unwrap()), "2001:db8::/64");
    }
}

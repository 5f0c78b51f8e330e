//! The event model: one [`AuthEvent`] per authentication attempt (or group of attempts that a
//! daemon summarised as "N attempts").
//!
//! This is what every later stage (stores, reports) consumes. It is not a log line: a line that
//! names no attempt produces no event, and one attempt logged by two daemons produces one event
//! (see `correlate`).

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::envelope::timestamp::EventTime;

/// A name that is none of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
}

/// An enum with one spelling: `as_str`, `FromStr`, `Display` and serde all use the same
/// lower-case name, and `ALL` lists the variants. Deserialising also accepts the variant's
/// Rust name, which correlator states saved by earlier versions hold.
macro_rules! spelled_enum {
    ($(#[$m:meta])* $what:literal, $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<$name, UnknownName> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName { what: $what, name: s.to_owned() })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(d)?;
                match &*s {
                    $($text | stringify!($variant) => Ok($name::$variant),)+
                    other => Err(serde::de::Error::unknown_variant(other, &[$($text),+])),
                }
            }
        }
    };
}
pub(crate) use spelled_enum;

spelled_enum! {
    /// Which daemon family reported the attempt.
    "service", Service {
        Postfix = "postfix",
        Dovecot = "dovecot",
    }
}

spelled_enum! {
    /// The protocol the client spoke, as far as the log tells it.
    "protocol", Protocol {
        Smtp = "smtp",
        Submission = "submission",
        Smtps = "smtps",
        Imap = "imap",
        Pop3 = "pop3",
        ManageSieve = "managesieve",
        Lmtp = "lmtp",
        /// A Dovecot auth line whose connection end (which names the protocol) was never seen.
        Unknown = "unknown",
    }
}

spelled_enum! {
    /// Whether the attempt was rejected or accepted.
    "outcome", Outcome {
        Failure = "failure",
        Success = "success",
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
    let mut out = String::with_capacity(24);
    push_network(&mut out, ip);
    out
}

/// Appends [`network`]'s text to `out` (the store writes one per event: no allocation).
pub fn push_network(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            for octet in [a, b, c] {
                push_octet(out, octet);
                out.push('.');
            }
            out.push_str("0/24");
        }
        IpAddr::V6(v6) => {
            let masked = u128::from(v6) & !((1u128 << 64) - 1);
            let _ = write!(out, "{}/64", std::net::Ipv6Addr::from(masked));
        }
    }
}

/// Appends the address's usual text (`Display`) to `out`, IPv4 without the formatter.
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_octet(out, octet);
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

fn push_octet(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_has_one_spelling() {
        fn check<T>(all: &[T])
        where
            T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
            T: Serialize + for<'de> Deserialize<'de>,
            <T as std::str::FromStr>::Err: std::fmt::Debug,
        {
            for &v in all {
                let text = v.to_string();
                assert_eq!(text, text.to_lowercase(), "{v:?}");
                assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{text}\""));
                assert_eq!(text.parse::<T>().unwrap(), v);
                let legacy = serde_json::to_string(&format!("{v:?}")).unwrap();
                assert_eq!(
                    serde_json::from_str::<T>(&legacy).unwrap(),
                    v,
                    "old states load"
                );
            }
        }
        check(Service::ALL);
        check(Protocol::ALL);
        check(Outcome::ALL);
        assert!("Postfix".parse::<Service>().is_err(), "FromStr is strict");
    }

    #[test]
    fn networks_are_24_and_64() {
        assert_eq!(network("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(
            network("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(network("2001:db8::1".parse().unwrap()), "2001:db8::/64");
    }

    #[test]
    fn push_ip_writes_what_display_writes() {
        for ip in [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "2001:db8::1",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = String::from("x");
            push_ip(&mut out, ip);
            assert_eq!(out, format!("x{ip}"));
        }
        for n in 0..=255u8 {
            let ip = IpAddr::from([n, n, n, n]);
            let mut out = String::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
    }
}

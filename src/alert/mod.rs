//! Alerts: the JSON of a detection (a contract, documented in the README), its one-line
//! text for people (mail subject, ntfy, Slack), and its delivery from the store's queue
//! (`deliver`).
//!
//! Not here: deciding what is an attack (`policy`), the queue's rows (`store`).

pub mod deliver;

use serde::{Deserialize, Serialize};

use crate::sink::printable;

/// What a detection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A successful login from a source with recent failures.
    Compromise,
    /// Many failures from one address or network.
    Bruteforce,
    /// One user tried from many addresses.
    Spraying,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Compromise, Kind::Bruteforce, Kind::Spraying];

    /// The kind stored as `name` (`as_str`).
    pub fn named(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Compromise => "compromise",
            Kind::Bruteforce => "bruteforce",
            Kind::Spraying => "spraying",
        }
    }
}

/// The earlier failures a detection rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What the failures were counted by: `ip`, `network`, `asn` or `user`.
    pub by: String,
    /// That address, network, ASN or user.
    pub value: String,
    /// Failed attempts in the window (for spraying: the addresses).
    pub failures: u64,
    /// The window looked at, in seconds.
    pub window_seconds: u64,
    /// The addresses seen (spraying), latest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// One alert, as sent to webhooks and commands (`webhook_format = json`) and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: Kind,
    /// The time of the line that completed the detection (RFC 3339, UTC).
    pub time: String,
    /// The log's host name, else this server's name.
    pub server: Option<String>,
    pub ip: String,
    /// The address's /24 or /64.
    pub network: String,
    /// The user of that line; `null` when it names none.
    pub user: Option<String>,
    /// Failed attempts counted (spraying: addresses).
    pub count: u64,
    /// The first of those failures (RFC 3339, UTC).
    pub first_seen: String,
    pub evidence: Evidence,
    pub service: String,
    pub protocol: String,
    pub hostname: Option<String>,
    pub reverse_dns_status: Option<String>,
    pub country_code: Option<String>,
    pub asn: Option<String>,
    pub aso: Option<String>,
}

impl Alert {
    /// A short title (mail subject, ntfy title).
    pub fn title(&self) -> String {
        let what = match self.kind {
            Kind::Compromise => "POSSIBLE COMPROMISE",
            Kind::Bruteforce => "Brute force",
            Kind::Spraying => "Password spraying",
        };
        let server = self.server.as_deref().unwrap_or("mail server");
        clean(&format!("{what} on {server}"))
    }

    /// One line for people, every log-derived value made printable.
    pub fn text(&self) -> String {
        let user = self.user.as_deref().unwrap_or("(no user)");
        let known: Vec<&str> = [&self.hostname, &self.country_code, &self.asn]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .collect();
        let from = if known.is_empty() {
            String::new()
        } else {
            format!(" ({})", known.join(", "))
        };
        let ev = &self.evidence;
        let line = match self.kind {
            Kind::Compromise => format!(
                "{} logged in ({} {}) from {}{from} at {} after {} failed attempts from {} {} since {}",
                user,
                self.service,
                self.protocol,
                self.ip,
                self.time,
                ev.failures,
                ev.by,
                ev.value,
                self.first_seen
            ),
            Kind::Bruteforce => format!(
                "{} failed attempts from {} {}{from} in {} s (since {}), last user {}",
                self.count, ev.by, ev.value, ev.window_seconds, self.first_seen, user
            ),
            Kind::Spraying => format!(
                "user {} failed from {} addresses in {} s (since {}), last {}{from}",
                user, self.count, ev.window_seconds, self.first_seen, self.ip
            ),
        };
        clean(&line)
    }
}

/// Text from log lines, safe for a terminal, a chat or a mail: controls become `\xNN`.
fn clean(s: &str) -> String {
    printable(s.as_bytes()).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Alert {
        Alert {
            kind: Kind::Compromise,
            time: "2026-12-03T10:00:00Z".into(),
            server: Some("mx1".into()),
            ip: "203.0.113.5".into(),
            network: "203.0.113.0/24".into(),
            user: Some("bob\u{1b}[31m\nx".into()),
            count: 12,
            first_seen: "2026-12-03T09:00:00Z".into(),
            evidence: Evidence {
                by: "network".into(),
                value: "203.0.113.0/24".into(),
                failures: 12,
                window_seconds: 86_400,
                addresses: Vec::new(),
            },
            service: "dovecot".into(),
            protocol: "imap".into(),
            hostname: None,
            reverse_dns_status: None,
            country_code: Some("FR".into()),
            asn: None,
            aso: None,
        }
    }

    #[test]
    fn json_has_the_contract_fields_and_text_no_controls() {
        let a = sample();
        let v: serde_json::Value = serde_json::to_value(&a).unwrap();
        for key in [
            "kind",
            "time",
            "server",
            "ip",
            "network",
            "user",
            "count",
            "first_seen",
            "evidence",
            "country_code",
            "asn",
            "aso",
            "hostname",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        assert_eq!(v["kind"], "compromise");
        let text = a.text();
        assert!(!text.chars().any(char::is_control), "{text}");
        assert!(text.contains("bob\\x1b[31m\\x0ax"), "{text}");
        assert!(text.contains("12 failed attempts from network 203.0.113.0/24"));
    }
}

//! The abuse-report export: a window's attacking addresses as AbuseIPDB's bulk-report CSV
//! (`IP,Categories,ReportDate,Comment`), one row per address, for admins who report to abuse
//! desks. The comment holds counts, protocols and times only: never a user name, a host name
//! or anything else a log line chose.
//!
//! Left out: addresses that also logged in successfully in the window (a customer behind a
//! NAT who mistyped a password is not reported), `[policy] allow` networks, and addresses no
//! abuse desk takes (private, loopback, link-local, unspecified, multicast).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;

use crate::envelope::timestamp::rfc3339;
use crate::event::{Outcome, Service};
use crate::policy::Cidr;
use crate::store::StoredEvent;

/// AbuseIPDB categories: 18 Brute-Force; 11 Email Spam (SMTP logins are tried to relay spam).
const BRUTE_FORCE: &str = "18";
const EMAIL_SPAM: &str = "11";

const ABUSE_HEADER: &str = "IP,Categories,ReportDate,Comment";

#[derive(Default)]
struct Attacker {
    attempts: u64,
    first: i64,
    last: i64,
    protocols: BTreeSet<&'static str>,
    smtp: bool,
}

/// The CSV of the failures among `events` (one window's), `allow` left out.
pub fn abuse_report(events: impl IntoIterator<Item = StoredEvent>, allow: &[Cidr]) -> String {
    let mut by_ip: BTreeMap<IpAddr, Attacker> = BTreeMap::new();
    let mut logged_in: HashSet<IpAddr> = HashSet::new();
    for e in events {
        let (Some(t), ip) = (e.event.time.map(|t| t.unix), e.event.ip) else {
            continue;
        };
        if e.event.outcome == Outcome::Success {
            logged_in.insert(ip);
            continue;
        }
        let a = by_ip.entry(ip).or_insert(Attacker {
            first: t,
            last: t,
            ..Attacker::default()
        });
        a.attempts += u64::from(e.event.attempts);
        a.first = a.first.min(t);
        a.last = a.last.max(t);
        a.protocols.insert(e.event.protocol.as_str());
        a.smtp |= e.event.service == Service::Postfix;
    }
    let mut out = format!("{ABUSE_HEADER}\n");
    for (ip, a) in by_ip {
        let host = Cidr::host(ip);
        if logged_in.contains(&ip) || !reportable(ip) || allow.iter().any(|n| n.overlaps(&host)) {
            continue;
        }
        let categories = if a.smtp {
            format!("{BRUTE_FORCE},{EMAIL_SPAM}")
        } else {
            BRUTE_FORCE.to_owned()
        };
        let protocols: Vec<&str> = a.protocols.into_iter().collect();
        let comment = format!(
            "{} failed mail login attempts ({}) from {} to {} (MailLogSentinel)",
            a.attempts,
            protocols.join(", "),
            rfc3339(a.first),
            rfc3339(a.last)
        );
        out.push_str(&format!(
            "{ip},\"{categories}\",{},\"{comment}\"\n",
            rfc3339(a.last)
        ));
    }
    out
}

/// An address an abuse desk accepts: global unicast, as far as std tells.
fn reportable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::timestamp::EventTime;
    use crate::event::{AuthEvent, Protocol};
    use crate::store::Enrichment;

    fn event(
        t: i64,
        ip: &str,
        service: Service,
        protocol: Protocol,
        outcome: Outcome,
    ) -> StoredEvent {
        StoredEvent {
            id: 0,
            event: AuthEvent {
                time: Some(EventTime {
                    unix: t,
                    nanos: 0,
                    offset_secs: 0,
                }),
                server: Some("mx1.internal.example".into()),
                service,
                protocol,
                outcome,
                ip: ip.parse().unwrap(),
                user: Some(b"=HYPERLINK(\"x\"),alice".to_vec()),
                mechanism: None,
                reason: Some("secret".into()),
                attempts: 2,
                session: None,
            },
            source: String::new(),
            enrichment: Enrichment {
                hostname: Some("ptr.attacker.example".into()),
                ..Enrichment::default()
            },
        }
    }

    #[test]
    fn one_row_per_attacker_without_users_hosts_customers_or_private_addresses() {
        use Outcome::*;
        let t = 1_764_547_200;
        let events = vec![
            event(
                t + 10,
                "198.51.100.7",
                Service::Postfix,
                Protocol::Smtp,
                Failure,
            ),
            event(
                t + 20,
                "198.51.100.7",
                Service::Dovecot,
                Protocol::Imap,
                Failure,
            ),
            event(
                t + 5,
                "2001:db8::9",
                Service::Dovecot,
                Protocol::Pop3,
                Failure,
            ),
            // A customer: failed, then logged in.
            event(
                t + 30,
                "203.0.113.5",
                Service::Dovecot,
                Protocol::Imap,
                Failure,
            ),
            event(
                t + 31,
                "203.0.113.5",
                Service::Dovecot,
                Protocol::Imap,
                Success,
            ),
            event(
                t + 40,
                "10.1.2.3",
                Service::Postfix,
                Protocol::Smtp,
                Failure,
            ),
            event(t + 50, "fe80::1", Service::Postfix, Protocol::Smtp, Failure),
            event(
                t + 60,
                "192.0.2.1",
                Service::Postfix,
                Protocol::Smtp,
                Failure,
            ),
        ];
        let allow = ["192.0.2.0/24".parse().unwrap()];
        let csv = abuse_report(events, &allow);
        assert_eq!(
            csv,
            "IP,Categories,ReportDate,Comment\n\
             198.51.100.7,\"18,11\",2025-12-01T00:00:20Z,\"4 failed mail login attempts (imap, smtp) from 2025-12-01T00:00:10Z to 2025-12-01T00:00:20Z (MailLogSentinel)\"\n\
             2001:db8::9,\"18\",2025-12-01T00:00:05Z,\"2 failed mail login attempts (pop3) from 2025-12-01T00:00:05Z to 2025-12-01T00:00:05Z (MailLogSentinel)\"\n"
        );
        for leak in [
            "alice",
            "HYPERLINK",
            "mx1",
            "internal",
            "ptr.attacker",
            "secret",
        ] {
            assert!(!csv.contains(leak), "{leak} in {csv}");
        }
    }
}

//! Detections as they happen, over the stored events in id order: possible compromise (a
//! login from an address, /24-/64 or ASN with recent failures), brute force (many failures
//! from one address, or from several of one network) and spraying (one user failing from
//! many addresses). The windows live in bounded memory (`window`) and are rebuilt from the
//! store after a restart; one detection per source and kind per hold-off.
//!
//! Not here: storing detections and sending alerts (`realtime`, `alert`), the thresholds'
//! defaults (`config::PolicyConfig`).

mod cidr;
mod window;

use std::collections::HashMap;
use std::net::IpAddr;

pub use cidr::Cidr;
use window::{Sources, Spread};

use crate::alert::{Alert, Evidence, Kind};
use crate::config::PolicyConfig;
use crate::envelope::timestamp::rfc3339;
use crate::event::Outcome;
use crate::sink::printable;
use crate::store::StoredEvent;

/// Hold-offs remembered before the expired ones are dropped.
const MAX_HELD: usize = 100_000;

/// One detection: the hold-off key (`kind`, `source`), what a blocklist would list, and its
/// alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub source: String,
    pub block: Option<Cidr>,
    pub time_unix: i64,
    pub alert: Alert,
}

/// What failures are counted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    Net(Cidr),
    Asn(String),
}

pub struct Detector {
    policy: PolicyConfig,
    hold_off: i64,
    failures: Sources<Key>,
    spread: Spread,
    /// The last detection time of each (kind, source).
    held: HashMap<(Kind, String), i64>,
}

impl Detector {
    pub fn new(policy: &PolicyConfig, hold_off: u64) -> Detector {
        Detector {
            spread: Spread::new(policy.spraying_addresses),
            policy: policy.clone(),
            hold_off: secs(hold_off),
            failures: Sources::new(),
            held: HashMap::new(),
        }
    }

    /// Restores a hold-off (a detection stored before a restart).
    pub fn hold(&mut self, kind: Kind, source: String, t: i64) {
        let last = self.held.entry((kind, source)).or_insert(t);
        *last = (*last).max(t);
    }

    /// Feeds `e` to the windows; with `detect`, returns what it completes.
    pub fn observe(&mut self, e: &StoredEvent, detect: bool) -> Vec<Detection> {
        let mut found = Vec::new();
        let Some(t) = e.event.time.map(|t| t.unix) else {
            return found;
        };
        let ip = e.event.ip;
        let net = Cidr::network_of(ip);
        let p = &self.policy;
        match e.event.outcome {
            Outcome::Failure => {
                let keep_from = t - secs(p.longest_window());
                let n = u64::from(e.event.attempts);
                let asn = e.enrichment.asn.clone().map(Key::Asn);
                for key in [Some(Key::Ip(ip)), Some(Key::Net(net)), asn]
                    .into_iter()
                    .flatten()
                {
                    self.failures.add(key, t, n, keep_from);
                }
                let user_spread = e.event.user.as_ref().map(|user| {
                    let from = t - secs(p.spraying_window) + 1;
                    (user, self.spread.add(user, ip, t, from))
                });
                if !detect {
                    return found;
                }
                let rules = [
                    (p.bruteforce_threshold, p.bruteforce_window),
                    (p.slow_bruteforce_threshold, p.slow_bruteforce_window),
                ];
                let over = |key: &Key| {
                    rules.iter().find_map(|&(threshold, window)| {
                        let (count, first) = self.failures.between(key, t - secs(window) + 1, t);
                        (count >= threshold).then_some((count, first.unwrap_or(t), window))
                    })
                };
                // An address over a rule is listed alone; its network only when several of its
                // addresses together are (one attacker does not list its neighbours).
                let by_ip = over(&Key::Ip(ip)).map(|o| ("ip", ip.to_string(), Cidr::host(ip), o));
                let by_net = || over(&Key::Net(net)).map(|o| ("network", net.to_string(), net, o));
                if let Some((by, value, block, (count, first, window))) = by_ip.or_else(by_net) {
                    let evidence = Evidence {
                        by: by.into(),
                        value: value.clone(),
                        failures: count,
                        window_seconds: window,
                        addresses: Vec::new(),
                    };
                    found.extend(self.detect(
                        Kind::Bruteforce,
                        value,
                        Some(block),
                        e,
                        first,
                        evidence,
                    ));
                }
                if let Some((user, seen)) = user_spread
                    && seen.len() >= self.policy.spraying_addresses
                {
                    let first = seen.iter().map(|&(_, s)| s).min().unwrap_or(t);
                    let user = printable(user).into_owned();
                    let evidence = Evidence {
                        by: "user".into(),
                        value: user.clone(),
                        failures: seen.len() as u64,
                        window_seconds: self.policy.spraying_window,
                        addresses: seen.iter().map(|(a, _)| a.to_string()).collect(),
                    };
                    found.extend(self.detect(Kind::Spraying, user, None, e, first, evidence));
                }
            }
            Outcome::Success if detect => {
                let lookback = p.compromise_lookback;
                let keys = [
                    Some(("ip", ip.to_string(), Key::Ip(ip))),
                    Some(("network", net.to_string(), Key::Net(net))),
                    e.enrichment
                        .asn
                        .clone()
                        .map(|a| ("asn", a.clone(), Key::Asn(a))),
                ];
                let hit = keys.into_iter().flatten().find_map(|(by, value, key)| {
                    let (count, first) = self.failures.between(&key, t - secs(lookback), t);
                    (count > 0).then(|| (by, value, count, first.unwrap_or(t)))
                });
                if let Some((by, value, count, first)) = hit {
                    let evidence = Evidence {
                        by: by.into(),
                        value,
                        failures: count,
                        window_seconds: lookback,
                        addresses: Vec::new(),
                    };
                    let block = Some(Cidr::host(ip));
                    found.extend(self.detect(
                        Kind::Compromise,
                        ip.to_string(),
                        block,
                        e,
                        first,
                        evidence,
                    ));
                }
            }
            Outcome::Success => {}
        }
        found
    }

    /// A detection of `kind` from `source`, unless one was made less than a hold-off ago; its
    /// count is the evidence's.
    fn detect(
        &mut self,
        kind: Kind,
        source: String,
        block: Option<Cidr>,
        e: &StoredEvent,
        first: i64,
        evidence: Evidence,
    ) -> Option<Detection> {
        let t = e.event.time.map(|t| t.unix)?;
        if let Some(&last) = self.held.get(&(kind, source.clone()))
            && t < last.saturating_add(self.hold_off)
        {
            return None;
        }
        if self.held.len() >= MAX_HELD {
            let hold_off = self.hold_off;
            self.held
                .retain(|_, last| t < last.saturating_add(hold_off));
        }
        self.held.insert((kind, source.clone()), t);
        let en = &e.enrichment;
        let alert = Alert {
            kind,
            time: rfc3339(t),
            server: e.event.server.clone(),
            ip: e.event.ip.to_string(),
            network: Cidr::network_of(e.event.ip).to_string(),
            user: e.event.user.as_ref().map(|u| printable(u).into_owned()),
            count: evidence.failures,
            first_seen: rfc3339(first),
            evidence,
            service: e.event.service.as_str().into(),
            protocol: e.event.protocol.as_str().into(),
            hostname: en.hostname.clone(),
            reverse_dns_status: en.reverse_dns_status.clone(),
            country_code: en.country_code.clone(),
            asn: en.asn.clone(),
            aso: en.aso.clone(),
        };
        Some(Detection {
            source,
            block,
            time_unix: t,
            alert,
        })
    }
}

/// A configured number of seconds as a time difference (saturating: a huge value is "ever").
pub fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests;

//! Blocklists from the stored detections: the addresses (and networks) of brute force and of
//! possible compromises, each until `ban_time` after its last detection; `network_threshold`
//! addresses of one /24 or /64 listed as the network; `[policy] allow` never listed; an
//! address with recent successful logins listed only for a compromise (customers behind a
//! NAT fail too). Rendered for nftables (`nft -f`, sets with timeouts), Postfix
//! (`check_client_access cidr:`) or as plain lines, and written atomically.
//!
//! Not here: the detections (`policy`), when the file is written (`realtime`).

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use crate::alert::Kind;
use crate::config::{BlocklistFormat, Config};
use crate::policy::{Cidr, secs};
use crate::store::{Store, StoreError};

/// The mail ports the nftables chain closes to listed clients.
const MAIL_PORTS: &str = "25, 110, 143, 465, 587, 993, 995, 4190";

/// One listed address or network, until `expires_unix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub net: Cidr,
    pub expires_unix: i64,
    /// Listed for a possible compromise (not only brute force).
    pub compromise: bool,
}

/// The list at `now`, sorted by address.
pub fn entries(store: &Store, config: &Config, now: i64) -> Result<Vec<Entry>, StoreError> {
    let ban = secs(config.blocklist.ban_time);
    let mut listed: BTreeMap<Cidr, Entry> = BTreeMap::new();
    for (kind, block, t) in store.blockable_detections(now - ban)? {
        let Ok(net) = block.parse::<Cidr>() else {
            continue;
        };
        let compromise = kind == Kind::Compromise.as_str();
        let e = listed.entry(net).or_insert(Entry {
            net,
            expires_unix: t + ban,
            compromise,
        });
        e.expires_unix = e.expires_unix.max(t + ban);
        e.compromise |= compromise;
    }
    let lookback = secs(config.policy.compromise_lookback);
    let logins: Vec<IpAddr> = store
        .login_addresses_since(now - lookback)?
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    let policy = &config.policy;
    let keep = |e: &Entry| {
        !policy.allows(&e.net) && (e.compromise || !logins.iter().any(|&ip| e.net.contains(ip)))
    };
    let mut kept: Vec<Entry> = listed.into_values().filter(|e| keep(e)).collect();
    // Enough addresses of one network: the network instead (when it may be listed itself).
    let mut by_net: BTreeMap<Cidr, Vec<usize>> = BTreeMap::new();
    for (i, e) in kept.iter().enumerate() {
        if e.net.is_host() {
            by_net
                .entry(Cidr::network_of(e.net.addr()))
                .or_default()
                .push(i);
        }
    }
    let mut merged: HashSet<usize> = HashSet::new();
    let mut nets = Vec::new();
    for (net, hosts) in by_net {
        if hosts.len() < config.blocklist.network_threshold.max(1) {
            continue;
        }
        let joined = Entry {
            net,
            expires_unix: hosts
                .iter()
                .map(|&i| kept[i].expires_unix)
                .max()
                .unwrap_or(now),
            compromise: hosts.iter().any(|&i| kept[i].compromise),
        };
        if keep(&joined) {
            merged.extend(hosts);
            nets.push(joined);
        }
    }
    let mut out: Vec<Entry> = kept
        .drain(..)
        .enumerate()
        .filter(|(i, _)| !merged.contains(i))
        .map(|(_, e)| e)
        .collect();
    // A network listed by a detection and by merging: once, the later expiry.
    for n in nets {
        match out.iter_mut().find(|e| e.net == n.net) {
            Some(e) => e.expires_unix = e.expires_unix.max(n.expires_unix),
            None => out.push(n),
        }
    }
    out.retain(|e| e.expires_unix > now);
    out.sort_by_key(|e| e.net);
    Ok(out)
}

/// The list as `format` writes it; timeouts (nftables) count from `now`.
pub fn render(entries: &[Entry], format: BlocklistFormat, now: i64) -> String {
    let mut out = format!(
        "# MailLogSentinel blocklist: {} entries at {}\n",
        entries.len(),
        crate::envelope::timestamp::rfc3339(now)
    );
    match format {
        BlocklistFormat::Plain => {
            for e in entries {
                out.push_str(&format!("{}\n", e.net));
            }
        }
        BlocklistFormat::Postfix => {
            out.push_str("# check_client_access cidr:/PATH (see the README)\n");
            for e in entries {
                let why = if e.compromise {
                    "possible account compromise"
                } else {
                    "authentication attacks"
                };
                out.push_str(&format!(
                    "{} REJECT 554 5.7.1 Blocked by MailLogSentinel for {why}\n",
                    e.net
                ));
            }
        }
        BlocklistFormat::Nftables => {
            out.push_str(
                "# Load with `nft -f PATH`: replaces table inet maillogsentinel as a whole.\n",
            );
            out.push_str("table inet maillogsentinel {}\ndelete table inet maillogsentinel\n");
            out.push_str("table inet maillogsentinel {\n");
            for (name, ty, v4) in [
                ("blocked4", "ipv4_addr", true),
                ("blocked6", "ipv6_addr", false),
            ] {
                out.push_str(&format!(
                    "\tset {name} {{\n\t\ttype {ty}\n\t\tflags interval, timeout\n"
                ));
                let elements: Vec<String> = entries
                    .iter()
                    .filter(|e| e.net.addr().is_ipv4() == v4)
                    .map(|e| format!("{} timeout {}s", e.net, (e.expires_unix - now).max(1)))
                    .collect();
                if !elements.is_empty() {
                    out.push_str(&format!("\t\telements = {{ {} }}\n", elements.join(", ")));
                }
                out.push_str("\t}\n");
            }
            out.push_str(&format!(
                "\tchain input {{\n\t\ttype filter hook input priority filter - 10; policy accept;\n\
                 \t\tip saddr @blocked4 tcp dport {{ {MAIL_PORTS} }} drop\n\
                 \t\tip6 saddr @blocked6 tcp dport {{ {MAIL_PORTS} }} drop\n\t}}\n}}\n"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn entry(net: &str, expires_unix: i64) -> Entry {
        Entry {
            net: net.parse().unwrap(),
            expires_unix,
            compromise: false,
        }
    }

    /// A store with detections (kind, block, time) and logins (address, time).
    fn store_with(dir: &Path, found: &[(&str, &str, i64)], logins: &[(&str, i64)]) -> Store {
        use crate::envelope::timestamp::EventTime;
        use crate::event::{AuthEvent, Outcome, Protocol, Service};
        use crate::store::{Commit, IngestStore, NewDetection};
        let mut store = Store::open(&dir.join("s.db")).unwrap();
        let events: Vec<(AuthEvent, String)> = logins
            .iter()
            .map(|&(ip, t)| {
                let e = AuthEvent {
                    time: Some(EventTime {
                        unix: t,
                        nanos: 0,
                        offset_secs: 0,
                    }),
                    server: None,
                    service: Service::Dovecot,
                    protocol: Protocol::Imap,
                    outcome: Outcome::Success,
                    ip: ip.parse().unwrap(),
                    user: Some(b"carol".to_vec()),
                    mechanism: None,
                    reason: None,
                    attempts: 1,
                    session: None,
                };
                (e, String::new())
            })
            .collect();
        store
            .commit(&Commit {
                events: &events,
                ..Commit::default()
            })
            .unwrap();
        let found: Vec<NewDetection> = found
            .iter()
            .map(|&(kind, block, t)| NewDetection {
                kind: if kind == "compromise" {
                    "compromise"
                } else {
                    "bruteforce"
                },
                source: block.into(),
                block: Some(block.into()),
                time_unix: t,
                alert: "{}".into(),
            })
            .collect();
        store.save_detections(&found, &[], 0, 0, 0).unwrap();
        store
    }

    #[test]
    fn entries_expire_merge_and_spare_allowed_and_logged_in_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let now = 1_000_000;
        let store = store_with(
            dir.path(),
            &[
                ("bruteforce", "192.0.2.1", now - 100),
                // Expired: 4 h and 1 s ago.
                ("bruteforce", "192.0.2.2", now - 4 * 3600 - 1),
                // Three of one /24: the network, expiring with the latest.
                ("bruteforce", "198.51.100.1", now - 300),
                ("bruteforce", "198.51.100.2", now - 200),
                ("bruteforce", "198.51.100.3", now - 50),
                // Allowed.
                ("bruteforce", "203.0.113.9", now - 10),
                // Logged in this morning: brute force alone does not list it, a compromise does.
                ("bruteforce", "233.252.0.1", now - 10),
                ("bruteforce", "233.252.1.1", now - 10),
                ("compromise", "233.252.1.1", now - 5),
                ("bruteforce", "2001:db8::/64", now - 10),
            ],
            &[("233.252.0.1", now - 3000), ("233.252.1.1", now - 3000)],
        );
        let mut config = crate::config::Config::from_str(
            "[policy]\nallow = 203.0.113.0/24\n",
            Path::new("/etc/maillogsentinel.conf"),
        )
        .unwrap()
        .config;
        let listed = |config: &Config| -> Vec<(String, i64, bool)> {
            entries(&store, config, now)
                .unwrap()
                .into_iter()
                .map(|e| (e.net.to_string(), e.expires_unix - now, e.compromise))
                .collect()
        };
        assert_eq!(
            listed(&config),
            [
                ("192.0.2.1".into(), 4 * 3600 - 100, false),
                ("198.51.100.0/24".into(), 4 * 3600 - 50, false),
                ("233.252.1.1".into(), 4 * 3600 - 5, true),
                ("2001:db8::/64".into(), 4 * 3600 - 10, false),
            ]
        );
        // One more address needed: the three stay addresses.
        config.blocklist.network_threshold = 4;
        assert!(listed(&config).iter().any(|(n, _, _)| n == "198.51.100.3"));
    }

    #[test]
    fn renders_each_format() {
        let list = [entry("192.0.2.1", 1100), entry("2001:db8::/64", 1010)];
        let plain = render(&list, BlocklistFormat::Plain, 1000);
        assert!(plain.ends_with("192.0.2.1\n2001:db8::/64\n"), "{plain}");
        let postfix = render(&list, BlocklistFormat::Postfix, 1000);
        assert!(
            postfix.contains("\n2001:db8::/64 REJECT 554 5.7.1 "),
            "{postfix}"
        );
        let nft = render(&list, BlocklistFormat::Nftables, 1000);
        assert!(
            nft.contains("elements = { 192.0.2.1 timeout 100s }"),
            "{nft}"
        );
        assert!(
            nft.contains("elements = { 2001:db8::/64 timeout 10s }"),
            "{nft}"
        );
        let empty = render(&[], BlocklistFormat::Nftables, 1000);
        assert!(!empty.contains("elements"), "{empty}");
    }
}

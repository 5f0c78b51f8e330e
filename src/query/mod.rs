//! `query`: what the store holds about an address, a user, a network, a country…: the
//! filters and their meaning ([`Filters::matches`], the one definition both stores obey), the
//! grouping of the matching events ([`Groups`]), and their rendering (`render`).
//!
//! Not here: how a store finds the events (`store::query` for the local one, through
//! `event_index` and the day summary; `CentralReader::query_events` for the fleet), the
//! command line (`cli::query`).

pub mod render;

use std::collections::HashMap;

use jiff::tz::TimeZone;

use serde::{Deserialize, Serialize};

use crate::event::{Outcome, UnknownName, spelled_enum};
use crate::policy::Cidr;
use crate::sink::printable;
use crate::store::StoredEvent;

/// A user filter: one name, or a glob (`*` any run of bytes, `?` one byte; case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFilter {
    Exact(Vec<u8>),
    Like(Vec<u8>),
}

impl UserFilter {
    pub fn matches(&self, user: &[u8]) -> bool {
        match self {
            UserFilter::Exact(u) => u == user,
            UserFilter::Like(pattern) => glob(pattern, user),
        }
    }

    /// The bytes every matching name starts with (all of an exact name).
    pub fn prefix(&self) -> &[u8] {
        match self {
            UserFilter::Exact(u) => u,
            UserFilter::Like(p) => {
                &p[..p
                    .iter()
                    .position(|c| matches!(c, b'*' | b'?'))
                    .unwrap_or(p.len())]
            }
        }
    }
}

/// Shell-style `*` and `?` over bytes, iteratively (a hostile pattern cannot recurse deep):
/// on a mismatch the last `*` takes one more byte.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Which events a query is about: all the given filters hold (none given: every event).
/// Times are Unix seconds, `until` excluded. Events without a time (no syslog header) are in
/// no query's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// An address (a /32 or /128) or a network.
    pub ip: Option<Cidr>,
    pub user: Option<UserFilter>,
    /// The AS number, digits only.
    pub asn: Option<String>,
    /// ISO 3166 code, upper case.
    pub country: Option<String>,
    pub server: Option<String>,
    pub outcome: Option<Outcome>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filters {
    /// Of a source's failure and login kinds, those the outcome filter keeps.
    pub fn by_outcome<T>(&self, failed: T, login: T) -> Vec<T> {
        match self.outcome {
            Some(Outcome::Failure) => vec![failed],
            Some(Outcome::Success) => vec![login],
            None => vec![failed, login],
        }
    }

    pub fn matches(&self, e: &StoredEvent) -> bool {
        let ev = &e.event;
        let en = &e.enrichment;
        let Some(t) = ev.time else { return false };
        self.since.is_none_or(|s| t.unix >= s)
            && self.until.is_none_or(|u| t.unix < u)
            && self.ip.is_none_or(|c| c.contains(ev.ip))
            && self
                .user
                .as_ref()
                .is_none_or(|f| ev.user.as_deref().is_some_and(|u| f.matches(u)))
            && self.asn.as_ref().is_none_or(|a| en.asn.as_ref() == Some(a))
            && self
                .country
                .as_ref()
                .is_none_or(|c| en.country_code.as_ref() == Some(c))
            && self
                .server
                .as_ref()
                .is_none_or(|s| ev.server.as_ref() == Some(s))
            && self.outcome.is_none_or(|o| ev.outcome == o)
    }
}

spelled_enum! {
    /// What `--group-by` can group on, spelled as on the command line.
    "grouping", GroupBy {
        Ip = "ip",
        Net = "net",
        User = "user",
        Asn = "asn",
        Country = "country",
        Server = "server",
        Day = "day",
        Hour = "hour",
    }
}

impl clap::ValueEnum for GroupBy {
    fn value_variants<'a>() -> &'a [GroupBy] {
        GroupBy::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl GroupBy {
    /// The group of an event (`None`: the event has no such value, e.g. no ASN looked up).
    /// Days and hours are those of `tz`, the zone `--since`/`--until` are read in.
    fn key(self, e: &StoredEvent, tz: &TimeZone) -> Option<String> {
        let ev = &e.event;
        let en = &e.enrichment;
        match self {
            GroupBy::Ip => Some(ev.ip.to_string()),
            GroupBy::Net => Some(Cidr::network_of(ev.ip).to_string()),
            GroupBy::User => ev.user.as_deref().map(|u| printable(u).into_owned()),
            GroupBy::Asn => en.asn.clone(),
            GroupBy::Country => en.country_code.clone(),
            GroupBy::Server => ev.server.clone(),
            GroupBy::Day | GroupBy::Hour => {
                let t = jiff::Timestamp::from_second(ev.time?.unix)
                    .ok()?
                    .to_zoned(tz.clone());
                let shape = if self == GroupBy::Day {
                    "%Y-%m-%d"
                } else {
                    "%Y-%m-%d %H:00%:z"
                };
                Some(t.strftime(shape).to_string())
            }
        }
    }
}

/// The events of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's value (an address, a user, a day…); `None` for events without one.
    pub key: Option<String>,
    /// Stored events (a Dovecot summary of N attempts is one event).
    pub events: u64,
    pub failures: u64,
    pub successes: u64,
    pub first_unix: i64,
    pub last_unix: i64,
}

/// What [`Groups`] sums per key (a [`Group`] without its key).
#[derive(Clone, Copy)]
struct Tally {
    events: u64,
    failures: u64,
    successes: u64,
    first_unix: i64,
    last_unix: i64,
}

/// Groups events as they come, in any order.
pub struct Groups {
    by: GroupBy,
    tz: TimeZone,
    groups: HashMap<Option<String>, Tally>,
}

impl Groups {
    pub fn new(by: GroupBy, tz: TimeZone) -> Groups {
        Groups {
            by,
            tz,
            groups: HashMap::new(),
        }
    }

    pub fn add(&mut self, e: &StoredEvent) {
        let Some(t) = e.event.time.map(|t| t.unix) else {
            return;
        };
        let g = self
            .groups
            .entry(self.by.key(e, &self.tz))
            .or_insert(Tally {
                events: 0,
                failures: 0,
                successes: 0,
                first_unix: t,
                last_unix: t,
            });
        g.events += 1;
        match e.event.outcome {
            Outcome::Failure => g.failures += u64::from(e.event.attempts),
            Outcome::Success => g.successes += u64::from(e.event.attempts),
        }
        g.first_unix = g.first_unix.min(t);
        g.last_unix = g.last_unix.max(t);
    }

    /// The groups, most attempts first (days and hours in time order), at most `limit`.
    pub fn into_sorted(self, limit: usize) -> Vec<Group> {
        let by_time = matches!(self.by, GroupBy::Day | GroupBy::Hour);
        let mut all: Vec<Group> = self
            .groups
            .into_iter()
            .map(|(key, t)| Group {
                key,
                events: t.events,
                failures: t.failures,
                successes: t.successes,
                first_unix: t.first_unix,
                last_unix: t.last_unix,
            })
            .collect();
        all.sort_by(|a, b| {
            if by_time {
                a.first_unix.cmp(&b.first_unix)
            } else {
                (b.failures + b.successes)
                    .cmp(&(a.failures + a.successes))
                    .then_with(|| a.key.cmp(&b.key))
            }
        });
        all.truncate(limit);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_takes_stars_and_question_marks_over_bytes() {
        assert!(glob(b"adm*", b"admin"));
        assert!(glob(b"*@example.org", b"alice@example.org"));
        assert!(!glob(b"*@example.org", b"alice@example.org.evil"));
        assert!(glob(b"a?ice", b"alice"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"Admin", b"admin"));
        assert!(glob(b"*a*b*c*", b"xxaxxbxxcxx"));
        assert!(glob(&[b'*'; 64], b""));
        assert_eq!(UserFilter::Like(b"info@*".to_vec()).prefix(), b"info@");
        assert_eq!(UserFilter::Like(b"*x".to_vec()).prefix(), b"");
    }
}

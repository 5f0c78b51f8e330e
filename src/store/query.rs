//! `query` over the local store. The events table has one index, on time (more would cost the
//! run its write speed, see schema 3); the day summary `source_days` plays the others' part: a
//! filter naming a value (an address, a network, a user, an ASN, a country, a server) finds the
//! days that value was seen on, and from when to when, through the summary's primary key; only
//! the events of those spans are read, through the time index, newest first. No filter reads
//! the events in full (`tests::every_filter_is_served_by_an_index` checks the plans).
//!
//! Not here: what the filters mean (`query::Filters::matches`, applied to every event read
//! here too), grouping and rendering (`query`).

use std::collections::BTreeMap;

use rusqlite::params_from_iter;
use rusqlite::types::{Value, ValueRef};

use super::error::Doing;
use super::{SourceKind, Store, StoreError, StoredEvent};
use crate::event::Outcome;
use crate::policy::Cidr;
use crate::query::{Filters, UserFilter, network_text_prefix};

const DOING: &str = "reading the events of a query";

/// The spans a filter's values were seen in: UTC day -> (first, last) time that day.
type Spans = BTreeMap<i64, (i64, i64)>;

/// Which values of a summary range belong to a filter (a glob, a network).
type Keep = Box<dyn Fn(&[u8]) -> bool>;

/// How a filter's values are looked up in the summary.
struct Lookup {
    kinds: Vec<SourceKind>,
    /// Values from `low` (included) to `high` (excluded; `None`: no end), or exactly `low`.
    low: Value,
    high: Option<Value>,
    exact: bool,
    /// Which values of the range are the filter's (`None`: all).
    keep: Option<Keep>,
}

impl Lookup {
    fn exact(kinds: Vec<SourceKind>, value: Value) -> Lookup {
        Lookup {
            kinds,
            low: value,
            high: None,
            exact: true,
            keep: None,
        }
    }

    /// Values starting with `prefix` (as text, or as bytes when `blob`).
    fn prefixed(kinds: Vec<SourceKind>, prefix: &[u8], blob: bool, keep: Keep) -> Lookup {
        // The first byte string after every one starting with `prefix`: its last byte below
        // 0xFF incremented (none: no end).
        let mut high = prefix.to_vec();
        while high.last() == Some(&0xFF) {
            high.pop();
        }
        let high = high.last_mut().map(|b| *b += 1).map(|()| high);
        let value = |b: Vec<u8>| {
            if blob {
                Value::Blob(b)
            } else {
                Value::Text(String::from_utf8_lossy(&b).into_owned())
            }
        };
        Lookup {
            kinds,
            low: value(prefix.to_vec()),
            high: high.map(value),
            exact: false,
            keep: Some(keep),
        }
    }
}

/// The summary kinds of a filter with a failure and a login kind, narrowed by the outcome.
fn by_outcome(outcome: Option<Outcome>, failed: SourceKind, login: SourceKind) -> Vec<SourceKind> {
    match outcome {
        Some(Outcome::Failure) => vec![failed],
        Some(Outcome::Success) => vec![login],
        None => vec![failed, login],
    }
}

/// The summary lookups of the filters that name values.
fn lookups(f: &Filters) -> Vec<Lookup> {
    let o = f.outcome;
    let mut out = Vec::new();
    if let Some(c) = f.ip {
        let whole = if c.addr().is_ipv4() { 24 } else { 64 };
        out.push(if c.is_host() {
            Lookup::exact(
                by_outcome(o, SourceKind::FailedIp, SourceKind::LoginIp),
                Value::Text(c.addr().to_string()),
            )
        } else if c.prefix() >= whole {
            Lookup::exact(
                by_outcome(o, SourceKind::FailedNet, SourceKind::LoginNet),
                Value::Text(Cidr::network_of(c.addr()).to_string()),
            )
        } else {
            let keep = move |net: &[u8]| {
                std::str::from_utf8(net)
                    .ok()
                    .and_then(|n| n.parse::<Cidr>().ok())
                    .is_some_and(|n| c.overlaps(&n))
            };
            Lookup::prefixed(
                by_outcome(o, SourceKind::FailedNet, SourceKind::LoginNet),
                network_text_prefix(&c).as_bytes(),
                false,
                Box::new(keep),
            )
        });
    }
    if let Some(u) = &f.user {
        let kinds = by_outcome(o, SourceKind::FailedUser, SourceKind::LoginUser);
        out.push(match u {
            UserFilter::Exact(name) => Lookup::exact(kinds, Value::Blob(name.clone())),
            UserFilter::Like(_) => {
                let filter = u.clone();
                Lookup::prefixed(
                    kinds,
                    u.prefix(),
                    true,
                    Box::new(move |v| filter.matches(v)),
                )
            }
        });
    }
    if let Some(asn) = &f.asn {
        out.push(Lookup::exact(
            by_outcome(o, SourceKind::FailedAsn, SourceKind::LoginAsn),
            Value::Text(asn.clone()),
        ));
    }
    if let Some(cc) = &f.country {
        out.push(Lookup::exact(
            vec![SourceKind::Country],
            Value::Text(cc.clone()),
        ));
    }
    if let Some(server) = &f.server {
        out.push(Lookup::exact(
            vec![SourceKind::Server],
            Value::Text(server.clone()),
        ));
    }
    out
}

/// The statement of a summary lookup and its parameters.
fn lookup_statement(l: &Lookup, kind: SourceKind) -> (String, Vec<Value>) {
    let mut params = vec![Value::Integer(kind as i64), l.low.clone()];
    let condition = if l.exact {
        "value = ?2"
    } else if let Some(high) = &l.high {
        params.push(high.clone());
        "value >= ?2 AND value < ?3"
    } else {
        "value >= ?2"
    };
    let sql = format!(
        "SELECT value, day, first_unix, last_unix FROM source_days WHERE kind = ?1 AND {condition}"
    );
    (sql, params)
}

/// The statement reading the events of one span (`?1`..`?2`, both included) with the
/// filters SQL can apply by equality, newest first; the others are applied to each row.
fn span_statement(f: &Filters) -> (String, Vec<Value>) {
    let mut sql = String::from("INDEXED BY events_time WHERE time_unix >= ?1 AND time_unix <= ?2");
    let mut params = Vec::new();
    let mut equal = |column: &str, v: Value| {
        params.push(v);
        sql.push_str(&format!(" AND {column} = ?{}", params.len() + 2));
    };
    if let Some(c) = f.ip.filter(Cidr::is_host) {
        equal("ip", Value::Text(c.addr().to_string()));
    }
    if let Some(UserFilter::Exact(u)) = &f.user {
        equal("user", Value::Blob(u.clone()));
    }
    if let Some(a) = &f.asn {
        equal("asn", Value::Text(a.clone()));
    }
    if let Some(c) = &f.country {
        equal("country_code", Value::Text(c.clone()));
    }
    if let Some(s) = &f.server {
        equal("server", Value::Text(s.clone()));
    }
    if let Some(o) = f.outcome {
        equal("outcome", Value::Text(o.as_str().to_owned()));
    }
    sql.push_str(" ORDER BY time_unix DESC, id DESC");
    (sql, params)
}

impl Store {
    /// Calls `f` with each event `filters` match, newest first, until `f` returns false.
    pub fn query(
        &self,
        filters: &Filters,
        mut f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError> {
        let (tail, equal) = span_statement(filters);
        let mut go_on = true;
        for (lo, hi) in self.spans(filters)?.into_iter().rev() {
            let mut params = vec![Value::Integer(lo), Value::Integer(hi)];
            params.extend(equal.iter().cloned());
            self.each_event_while(&tail, params_from_iter(params), DOING, |e| {
                if filters.matches(&e) {
                    go_on = f(e);
                }
                go_on
            })?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// The time spans (both ends included, oldest first) holding every event `filters`
    /// may match.
    fn spans(&self, filters: &Filters) -> Result<Vec<(i64, i64)>, StoreError> {
        let clip = |(lo, hi): (i64, i64)| {
            let lo = filters.since.map_or(lo, |s| lo.max(s));
            let hi = filters.until.map_or(hi, |u| hi.min(u - 1));
            (lo <= hi).then_some((lo, hi))
        };
        if !filters.names_values() {
            return Ok(clip((i64::MIN, i64::MAX)).into_iter().collect());
        }
        let mut all: Option<Spans> = None;
        for lookup in lookups(filters) {
            let mut spans = self.lookup_spans(&lookup)?;
            if let Some(before) = all {
                // Days every filter saw, within the part of the day they share.
                spans = spans
                    .into_iter()
                    .filter_map(|(day, (lo, hi))| {
                        let (blo, bhi) = before.get(&day)?;
                        Some((day, (lo.max(*blo), hi.min(*bhi))))
                    })
                    .collect();
            }
            all = Some(spans);
        }
        Ok(all
            .unwrap_or_default()
            .into_values()
            .filter_map(clip)
            .collect())
    }

    fn lookup_spans(&self, l: &Lookup) -> Result<Spans, StoreError> {
        let mut spans = Spans::new();
        for &kind in &l.kinds {
            let (sql, params) = lookup_statement(l, kind);
            let mut stmt = self.conn.prepare_cached(&sql).doing(DOING)?;
            let mut rows = stmt.query(params_from_iter(params)).doing(DOING)?;
            while let Some(r) = rows.next().doing(DOING)? {
                if let Some(keep) = &l.keep {
                    let value = match r.get_ref(0).doing(DOING)? {
                        ValueRef::Text(b) | ValueRef::Blob(b) => b,
                        _ => continue,
                    };
                    if !keep(value) {
                        continue;
                    }
                }
                let (day, first, last): (i64, i64, i64) = (
                    r.get(1).doing(DOING)?,
                    r.get(2).doing(DOING)?,
                    r.get(3).doing(DOING)?,
                );
                let span = spans.entry(day).or_insert((first, last));
                *span = (span.0.min(first), span.1.max(last));
            }
        }
        Ok(spans)
    }
}

#[cfg(test)]
mod tests;

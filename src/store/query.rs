//! `query` over the local store, and the per-event index it reads.
//!
//! The events table has one index, on time: an index entry per event and value written at
//! a random place in a big tree cost the run most of its time (schema 3). Two structures
//! serve the filters instead:
//! - `event_index`, (kind, value, time, id) for the values that pick a few events among
//!   many: an address, a network (/24, /64), a user. It is written after the commits, in key
//!   order, by [`Store::index_pending`]: by a pass that stored few events (a timer's run, a
//!   follow pass, [`INDEX_PER_FOLLOW_PASS`] at a time after its alerts), or once too many
//!   wait. A query reads the entries, then the events not indexed yet by their ids
//!   (`id > indexed_up_to`).
//! - the day summary `source_days` for an ASN, a country, a server: the days (and from when
//!   to when) the value was seen; only those spans' events are read, through the time index.
//!
//! Either way newest first, and no filter reads the events in full
//! (`tests::every_filter_is_served_by_an_index` checks the plans).
//!
//! Not here: what the filters mean (`query::Filters::matches`, applied to every event read
//! here too), grouping and rendering (`query`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{OptionalExtension, TransactionBehavior, params, params_from_iter};

use super::error::Doing;
use super::{SourceKind, Store, StoreError, StoredEvent};
use crate::policy::Cidr;
use crate::query::{Filters, UserFilter};

const DOING: &str = "reading the events of a query";
const META_INDEXED: &str = "indexed_up_to";

/// A pass that stored fewer events than this indexes what waits (a timer's hourly run, a
/// follow pass): a backlog's first run leaves its events for the next one.
const QUIET_PASS: u64 = 20_000;
/// More events than this waiting are indexed by any pass: queries read them one by one.
const MOST_PENDING: i64 = 1_000_000;
/// Events indexed per transaction.
const INDEX_CHUNK: i64 = 100_000;
/// Events a follow pass indexes at most, after its alerts: a new line waits for them. In a
/// 10,000,000-event store, 10,000 events took 0.2 s to index and 0.3 s to commit; 100,000
/// took 2.4 s, more than the alerts' budget.
pub const INDEX_PER_FOLLOW_PASS: i64 = 10_000;

/// What an `event_index` entry's value is (its `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndexKind {
    Ip = 0,
    /// The /24 or /64, as `events.net`.
    Net = 1,
    User = 2,
}

/// The entries for one chunk of events, in the index's key order.
const INDEX_EVENTS: &str = "INSERT INTO event_index (kind, value, time_unix, id)
    SELECT 0, ip, time_unix, id FROM events
        WHERE id > ?1 AND id <= ?2 AND time_unix IS NOT NULL
    UNION ALL SELECT 1, net, time_unix, id FROM events
        WHERE id > ?1 AND id <= ?2 AND time_unix IS NOT NULL AND net IS NOT NULL
    UNION ALL SELECT 2, user, time_unix, id FROM events
        WHERE id > ?1 AND id <= ?2 AND time_unix IS NOT NULL AND user IS NOT NULL
    ORDER BY 1, 2, 3, 4";

/// Which values of a lookup's range belong to a filter (a glob, a network).
type Keep = Box<dyn Fn(&[u8]) -> bool>;

/// The values a filter looks up: one value, or the values from `low` (included) to `high`
/// (excluded; `None`: no end) that `keep` keeps (a glob's users, a network's /24s or /64s).
enum Lookup {
    Exact(Value),
    Range {
        low: Value,
        high: Option<Value>,
        keep: Keep,
    },
}

impl Lookup {
    /// Values starting with `prefix` (as text, or as bytes when `blob`).
    fn prefixed(prefix: &[u8], blob: bool, keep: Keep) -> Lookup {
        let high = prefix_end(prefix);
        let value = |b: Vec<u8>| {
            if blob {
                Value::Blob(b)
            } else {
                Value::Text(String::from_utf8_lossy(&b).into_owned())
            }
        };
        Lookup::Range {
            low: value(prefix.to_vec()),
            high: high.map(value),
            keep,
        }
    }

    /// `value = ?2`, or the range as `?2` and `?3`, and the parameters from `?2` on.
    fn condition(&self) -> (&'static str, Vec<Value>) {
        match self {
            Lookup::Exact(v) => ("value = ?2", vec![v.clone()]),
            Lookup::Range {
                low, high: Some(h), ..
            } => ("value >= ?2 AND value < ?3", vec![low.clone(), h.clone()]),
            Lookup::Range { low, .. } => ("value >= ?2", vec![low.clone()]),
        }
    }

    fn keeps(&self, value: ValueRef) -> bool {
        match (self, value) {
            (Lookup::Exact(_), _) => true,
            (Lookup::Range { keep, .. }, ValueRef::Text(b) | ValueRef::Blob(b)) => keep(b),
            _ => false,
        }
    }
}

/// The first byte string after every one starting with `prefix`: its last byte below 0xFF
/// incremented (`None`: no end).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut high = prefix.to_vec();
    while high.last() == Some(&0xFF) {
        high.pop();
    }
    high.last_mut().map(|b| *b += 1).map(|()| high)
}

/// The values an address filter is looked up by, as the stores write them (both stores' indexes
/// and summaries): the address, its /24 or /64 (a filter inside one), or the networks whose
/// text starts with a prefix (a wider filter: a superset, filtered again).
pub enum AddressLookup {
    Address(String),
    Network(String),
    NetworksFrom(String),
}

impl AddressLookup {
    pub fn of(c: Cidr) -> AddressLookup {
        let net = Cidr::network_of(c.addr());
        if c.is_host() {
            AddressLookup::Address(c.addr().to_string())
        } else if c.prefix() >= net.prefix() {
            AddressLookup::Network(net.to_string())
        } else {
            AddressLookup::NetworksFrom(network_text_prefix(&c))
        }
    }
}

/// The text every network of `c` starts with as the store writes networks
/// (`event::network`): its whole octets for IPv4, its first group for IPv6 (never compressed
/// away in a routable address). Empty when nothing narrows it.
fn network_text_prefix(c: &Cidr) -> String {
    match c.addr() {
        IpAddr::V4(v4) => {
            let whole = usize::from((c.prefix() / 8).min(3));
            v4.octets()[..whole]
                .iter()
                .map(|o| format!("{o}."))
                .collect()
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if c.prefix() >= 16 && first != 0 {
                format!("{first:x}:")
            } else {
                String::new()
            }
        }
    }
}

/// The index lookup of the most selective filter the index holds: an address, a network, a
/// user (`None`: the day summary serves the filters).
fn index_lookup(f: &Filters) -> Option<(IndexKind, Lookup)> {
    if let Some(c) = f.ip {
        return Some(match AddressLookup::of(c) {
            AddressLookup::Address(a) => (IndexKind::Ip, Lookup::Exact(Value::Text(a))),
            AddressLookup::Network(n) => (IndexKind::Net, Lookup::Exact(Value::Text(n))),
            AddressLookup::NetworksFrom(prefix) => {
                let keep = move |net: &[u8]| {
                    std::str::from_utf8(net)
                        .ok()
                        .and_then(|n| n.parse::<Cidr>().ok())
                        .is_some_and(|n| c.overlaps(&n))
                };
                (
                    IndexKind::Net,
                    Lookup::prefixed(prefix.as_bytes(), false, Box::new(keep)),
                )
            }
        });
    }
    let u = f.user.as_ref()?;
    Some(match u {
        UserFilter::Exact(name) => (IndexKind::User, Lookup::Exact(Value::Blob(name.clone()))),
        UserFilter::Like(_) => {
            let filter = u.clone();
            let keep = Box::new(move |v: &[u8]| filter.matches(v));
            (IndexKind::User, Lookup::prefixed(u.prefix(), true, keep))
        }
    })
}

/// The statement of an index lookup between two times (`?4`..`?5`, both included).
fn index_statement(l: &Lookup, kind: IndexKind, lo: i64, hi: i64) -> (String, Vec<Value>) {
    let (condition, values) = l.condition();
    let mut params = vec![Value::Integer(kind as i64)];
    params.extend(values);
    let n = params.len();
    params.extend([Value::Integer(lo), Value::Integer(hi)]);
    let sql = format!(
        "SELECT value, time_unix, id FROM event_index WHERE kind = ?1 AND {condition}
             AND time_unix >= ?{} AND time_unix <= ?{}",
        n + 1,
        n + 2
    );
    (sql, params)
}

/// The summary lookups (kinds, value) of the filters the summary serves.
fn summary_lookups(f: &Filters) -> Vec<(Vec<SourceKind>, Value)> {
    let mut out = Vec::new();
    if let Some(asn) = &f.asn {
        let kinds = f.by_outcome(SourceKind::FailedAsn, SourceKind::LoginAsn);
        out.push((kinds, Value::Text(asn.clone())));
    }
    if let Some(cc) = &f.country {
        out.push((vec![SourceKind::Country], Value::Text(cc.clone())));
    }
    if let Some(server) = &f.server {
        out.push((vec![SourceKind::Server], Value::Text(server.clone())));
    }
    out
}

const SUMMARY_STATEMENT: &str =
    "SELECT day, first_unix, last_unix FROM source_days WHERE kind = ?1 AND value = ?2";

/// The `WHERE` conditions (after `first`) and parameters of the filters SQL applies by
/// equality; the others are applied to each row.
fn equal_conditions(f: &Filters, mut sql: String, mut params: Vec<Value>) -> (String, Vec<Value>) {
    let mut equal = |column: &str, v: Value| {
        params.push(v);
        sql.push_str(&format!(" AND {column} = ?{}", params.len()));
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
    (sql, params)
}

/// Reading one span's events (`?1`..`?2`, both included), newest first.
fn span_statement(f: &Filters, lo: i64, hi: i64) -> (String, Vec<Value>) {
    let (mut sql, params) = equal_conditions(
        f,
        "INDEXED BY events_time WHERE time_unix >= ?1 AND time_unix <= ?2".into(),
        vec![Value::Integer(lo), Value::Integer(hi)],
    );
    sql.push_str(" ORDER BY time_unix DESC, id DESC");
    (sql, params)
}

/// Reading the events not indexed yet (`id > ?1`).
fn pending_statement(f: &Filters, indexed: i64) -> (String, Vec<Value>) {
    equal_conditions(f, "WHERE id > ?1".into(), vec![Value::Integer(indexed)])
}

/// Reading one event by id.
const BY_ID: &str = "WHERE id = ?1";

/// The span of times `filters` allows (both ends included), if any.
fn time_bounds(f: &Filters) -> Option<(i64, i64)> {
    let lo = f.since.unwrap_or(i64::MIN);
    let hi = f.until.map_or(i64::MAX, |u| u - 1);
    (lo <= hi).then_some((lo, hi))
}

impl Store {
    /// Calls `f` with each event `filters` match, newest first, until `f` returns false.
    pub fn query(
        &self,
        filters: &Filters,
        mut f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError> {
        let Some((lo, hi)) = time_bounds(filters) else {
            return Ok(());
        };
        // One snapshot for all the statements: a run indexing meanwhile changes nothing
        // seen here (dropped at the end: nothing to commit).
        let _snapshot = self.conn.unchecked_transaction().doing(DOING)?;
        if let Some((kind, lookup)) = index_lookup(filters) {
            return self.query_indexed(filters, kind, &lookup, (lo, hi), f);
        }
        let mut go_on = true;
        for (lo, hi) in self.spans(filters, lo, hi)?.into_iter().rev() {
            let (tail, params) = span_statement(filters, lo, hi);
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

    /// Through `event_index`: the entries' ids, and the events not indexed yet, merged
    /// newest first; each indexed event is read by its id when its turn comes.
    fn query_indexed(
        &self,
        filters: &Filters,
        kind: IndexKind,
        lookup: &Lookup,
        (lo, hi): (i64, i64),
        mut f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError> {
        let indexed = self.indexed_up_to()?;
        // (time, id) of every candidate.
        let mut found: Vec<(i64, i64)> = Vec::new();
        let (sql, params) = index_statement(lookup, kind, lo, hi);
        let mut stmt = self.conn.prepare_cached(&sql).doing(DOING)?;
        let mut rows = stmt.query(params_from_iter(params)).doing(DOING)?;
        while let Some(r) = rows.next().doing(DOING)? {
            if lookup.keeps(r.get_ref(0).doing(DOING)?) {
                found.push((r.get(1).doing(DOING)?, r.get(2).doing(DOING)?));
            }
        }
        drop(rows);
        drop(stmt);
        let mut pending = HashMap::new();
        let (tail, params) = pending_statement(filters, indexed);
        self.each_event(&tail, params_from_iter(params), DOING, |e| {
            if let Some(t) = e.event.time.filter(|_| filters.matches(&e)) {
                found.push((t.unix, e.id));
                pending.insert(e.id, e);
            }
        })?;
        found.sort_unstable_by(|a, b| b.cmp(a));
        for (_, id) in found {
            let event = match pending.remove(&id) {
                Some(e) => Some(e),
                None => {
                    let mut one = None;
                    self.each_event(BY_ID, [id], DOING, |e| one = Some(e))?;
                    one
                }
            };
            if let Some(e) = event.filter(|e| filters.matches(e))
                && !f(e)
            {
                break;
            }
        }
        Ok(())
    }

    /// The time spans (both ends included, oldest first) within `lo..=hi` holding every
    /// event `filters` may match: the days the summary saw all the filters' values on.
    fn spans(&self, filters: &Filters, lo: i64, hi: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let lookups = summary_lookups(filters);
        if lookups.is_empty() {
            return Ok(vec![(lo, hi)]);
        }
        let mut all: Option<BTreeMap<i64, (i64, i64)>> = None;
        for (kinds, value) in lookups {
            let mut spans = BTreeMap::new();
            let mut stmt = self.conn.prepare_cached(SUMMARY_STATEMENT).doing(DOING)?;
            for kind in kinds {
                let mut rows = stmt.query(params![kind as i64, value]).doing(DOING)?;
                while let Some(r) = rows.next().doing(DOING)? {
                    let (day, first, last): (i64, i64, i64) = (
                        r.get(0).doing(DOING)?,
                        r.get(1).doing(DOING)?,
                        r.get(2).doing(DOING)?,
                    );
                    let span: &mut (i64, i64) = spans.entry(day).or_insert((first, last));
                    *span = (span.0.min(first), span.1.max(last));
                }
            }
            // Days every filter saw, within the part of the day they share.
            all = Some(match all {
                None => spans,
                Some(before) => spans
                    .into_iter()
                    .filter_map(|(day, (a, b))| {
                        let (c, d) = before.get(&day)?;
                        Some((day, (a.max(*c), b.min(*d))))
                    })
                    .collect(),
            });
        }
        Ok(all
            .unwrap_or_default()
            .into_values()
            .filter_map(|(a, b)| {
                let (a, b) = (a.max(lo), b.min(hi));
                (a <= b).then_some((a, b))
            })
            .collect())
    }

    /// The last event id in `event_index` (the events after it are read one by one).
    fn indexed_up_to(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [META_INDEXED],
                |r| r.get(0),
            )
            .optional()
            .doing("reading how far the events are indexed")?
            .unwrap_or(0))
    }

    /// Indexes the events waiting for `event_index` (the first `most` of them) when the pass
    /// that just stored `just_stored` events was a quiet one, or too many wait; in
    /// transactions of [`INDEX_CHUNK`] events, each recording how far it went (a kill loses
    /// nothing). Returns how many events it indexed.
    pub fn index_pending(&mut self, just_stored: u64, most: i64) -> Result<u64, StoreError> {
        const DOING: &str = "indexing the stored events";
        let last: i64 = self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))
            .doing(DOING)?;
        let mut from = self.indexed_up_to()?;
        if last <= from || (just_stored >= QUIET_PASS && last - from <= MOST_PENDING) {
            return Ok(0);
        }
        let (start, last) = (from, last.min(from.saturating_add(most)));
        while from < last {
            let to = last.min(from + INDEX_CHUNK);
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .doing(DOING)?;
            tx.execute(INDEX_EVENTS, params![from, to]).doing(DOING)?;
            tx.execute(super::UPSERT_META, params![META_INDEXED, to])
                .doing(DOING)?;
            tx.commit().doing(DOING)?;
            from = to;
        }
        Ok((last - start) as u64)
    }
}

#[cfg(test)]
mod tests;

//! The central store as a [`ReportStore`]: the server report's builder runs unchanged over the
//! whole fleet (or one server of it), so "failed before" looks at every server's failures: a
//! success on one server from a source that failed on another is a possible compromise.
//!
//! Not here: shipping, the fleet-only sections.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use postgres::Client;

use super::{ASN_KINDS, COUNTRY_KIND, CentralError, IP_KINDS, NET_KINDS, USER_KINDS};

use crate::envelope::timestamp::EventTime;
use crate::event::{AuthEvent, Outcome};
use crate::query::{Filters, UserFilter};
use crate::store::{
    AddressLookup, EarlierFailures, Enrichment, FailureKey, ReportStore, RunCounts, ServerHealth,
    StoreError, StoredEvent,
};

/// Makes a connection to the central store (each reader has one of its own).
pub type Connect = Arc<dyn Fn() -> Result<Client, CentralError> + Send + Sync>;

/// Reads the central store, for all servers or for `server` alone.
pub struct CentralReader {
    client: RefCell<Client>,
    server: Option<String>,
    connect: Connect,
}

fn central(e: postgres::Error) -> StoreError {
    StoreError::Central(super::describe(&e))
}

impl CentralReader {
    /// A reader, through a connection of `connect`, of a central store of the current schema.
    pub fn new(connect: Connect, server: Option<String>) -> Result<CentralReader, CentralError> {
        let mut client = connect()?;
        super::require_current(&mut client)?;
        Ok(CentralReader {
            client: RefCell::new(client),
            server,
            connect,
        })
    }

    /// `AND {column} = $N` when the report is of one server.
    fn scope(&self, column: &str, n: usize) -> String {
        if self.server.is_some() {
            format!(" AND {column} = ${n}")
        } else {
            String::new()
        }
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let mut all: Vec<&(dyn postgres::types::ToSql + Sync)> = params.to_vec();
        if let Some(s) = &self.server {
            all.push(s);
        }
        self.client.borrow_mut().query(sql, &all).map_err(central)
    }
}

/// The event column of a key, which is also its `kind` in `mls_source_days`.
fn key_column(key: FailureKey) -> &'static str {
    match key {
        FailureKey::Ip => IP_KINDS.0,
        FailureKey::Network => NET_KINDS.0,
        FailureKey::Asn => ASN_KINDS.0,
    }
}

/// The columns [`row_event`] reads.
const SELECT_EVENTS: &str = "SELECT local_id, server, time_unix, has_time, time_nanos,
    offset_secs, service, protocol, outcome, ip, \"user\", mechanism, reason, attempts, session,
    hostname, reverse_dns_status, country_code, asn, aso, ptr_confirmed FROM mls_events";

fn row_event(r: &postgres::Row) -> Result<StoredEvent, StoreError> {
    let bad = |what: &str, v: &str| StoreError::corrupt(format!("central event with {what} {v:?}"));
    let text = |i: usize| -> String { r.get(i) };
    let has_time: bool = r.get(3);
    let (service, protocol, outcome, ip) = (text(6), text(7), text(8), text(9));
    Ok(StoredEvent {
        id: r.get(0),
        event: AuthEvent {
            time: has_time.then(|| EventTime {
                unix: r.get(2),
                nanos: r.get::<_, i32>(4) as u32,
                offset_secs: r.get(5),
            }),
            server: Some(text(1)),
            service: service.parse().map_err(|_| bad("service", &service))?,
            protocol: protocol.parse().map_err(|_| bad("protocol", &protocol))?,
            outcome: outcome.parse().map_err(|_| bad("outcome", &outcome))?,
            ip: ip.parse().map_err(|_| bad("ip", &ip))?,
            user: r.get(10),
            mechanism: r.get(11),
            reason: r.get(12),
            attempts: r.get::<_, i32>(13) as u32,
            session: r.get(14),
        },
        source: String::new(),
        enrichment: Enrichment {
            hostname: r.get(15),
            reverse_dns_status: r.get(16),
            country_code: r.get(17),
            asn: r.get(18),
            aso: r.get(19),
            ptr_confirmed: r.get(20),
        },
    })
}

impl CentralReader {
    /// `query --fleet`: calls `f` with each event `filters` match, newest first, at most
    /// `limit` of them, each checked once more by [`Filters::matches`]. A filter the summary
    /// holds reads the days the value was seen, newest first, one statement a day (a day's
    /// events are all newer than the day before's), until the limit.
    pub fn query_events(
        &self,
        filters: &Filters,
        limit: Option<usize>,
        mut f: impl FnMut(StoredEvent),
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        use postgres::types::ToSql;
        let mut client = self.client.borrow_mut();
        // A day's statement is small, but planned for an array of unknown length it looks
        // costly enough to be compiled: 0.5 s a statement.
        client.batch_execute("SET jit = off").map_err(central)?;
        let mut left = limit;
        // Lists the events of `windows` (all: `None`) up to `left`: how many are left then.
        let mut read = |client: &mut Client, day: Option<&DayReading>, mut left: Option<usize>| {
            let (sql, params) = events_statement(filters, day, left);
            let mut rows = client
                .query_raw(&sql, params.iter().map(|p| &**p as &dyn ToSql))
                .map_err(central)?;
            while let Some(r) = rows.next().map_err(central)? {
                let e = row_event(&r)?;
                if filters.matches(&e) {
                    f(e);
                    left = left.map(|n| n.saturating_sub(1));
                }
            }
            Ok::<_, StoreError>(left)
        };
        let Some((sql, params)) = days_statement(filters) else {
            return read(&mut client, None, left).map(drop);
        };
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p).collect();
        let windows: Vec<(i64, Window)> = client
            .query(&sql, &params)
            .map_err(central)?
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        for day in windows.chunk_by(|a, b| a.0 == b.0) {
            let day: Vec<Window> = day.iter().map(|(_, w)| w.clone()).collect();
            left = read(&mut client, Some(&DayReading::of(&day)), left)?;
            if left == Some(0) {
                break;
            }
        }
        Ok(())
    }
}

/// Where a value was seen on one day: a server, from when to when (both included).
pub type Window = (String, i64, i64);

/// How the events of a value's day are read through the time index (which has no server).
#[derive(Debug)]
pub enum DayReading<'a> {
    /// Each window apart: when they are narrow and far apart (a rare value).
    Windows(&'a [Window]),
    /// Once from the first window's start to the last one's end, newest first until the
    /// limit: when the windows overlap (a value seen all day on many servers: reading each
    /// server's window apart read the day once a server, 7 s against 0.03 s in a
    /// 50,000,000-event store of 20 servers).
    Span {
        servers: Vec<String>,
        from: i64,
        to: i64,
    },
}

impl DayReading<'_> {
    /// The reading that covers less time: the windows' lengths added up, or their span.
    pub fn of(windows: &[Window]) -> DayReading<'_> {
        let from = windows.iter().map(|w| w.1).min().unwrap_or(0);
        let to = windows.iter().map(|w| w.2).max().unwrap_or(0);
        let apart: i64 = windows.iter().map(|(_, lo, hi)| hi - lo + 1).sum();
        if apart < to - from + 1 {
            return DayReading::Windows(windows);
        }
        let mut servers: Vec<String> = windows.iter().map(|w| w.0.clone()).collect();
        servers.dedup();
        DayReading::Span { servers, from, to }
    }
}

/// Statement parameters.
pub type Params = Vec<Box<dyn postgres::types::ToSql + Sync>>;

/// The values of a summary lookup: one, or those from the first (included) to the second
/// (excluded; `None`: no end).
enum SummaryValues {
    Exact(Vec<u8>),
    From(Vec<u8>, Option<Vec<u8>>),
}

/// Values starting with `prefix`.
fn prefixed(prefix: &[u8]) -> SummaryValues {
    SummaryValues::From(prefix.to_vec(), crate::store::prefix_end(prefix))
}

/// The `mls_source_days` lookup of the filter that narrows `f` most (an address, a network,
/// a user, an ASN, a country): its kinds and values (a superset: the events are filtered
/// again). `None`: no filter the summary holds.
fn summary_lookup(f: &Filters) -> Option<(Vec<&'static str>, SummaryValues)> {
    if let Some(c) = f.ip {
        return Some(match AddressLookup::of(c) {
            AddressLookup::Address(a) => (
                f.by_outcome(IP_KINDS.0, IP_KINDS.1),
                SummaryValues::Exact(a.into_bytes()),
            ),
            AddressLookup::Network(n) => (
                f.by_outcome(NET_KINDS.0, NET_KINDS.1),
                SummaryValues::Exact(n.into_bytes()),
            ),
            AddressLookup::NetworksFrom(p) => (
                f.by_outcome(NET_KINDS.0, NET_KINDS.1),
                prefixed(p.as_bytes()),
            ),
        });
    }
    if let Some(u) = &f.user {
        let values = match u {
            UserFilter::Exact(name) => SummaryValues::Exact(name.clone()),
            UserFilter::Like(_) => prefixed(u.prefix()),
        };
        return Some((f.by_outcome(USER_KINDS.0, USER_KINDS.1), values));
    }
    if let Some(asn) = &f.asn {
        let asn = asn.clone().into_bytes();
        return Some((
            f.by_outcome(ASN_KINDS.0, ASN_KINDS.1),
            SummaryValues::Exact(asn),
        ));
    }
    let cc = f.country.as_ref()?;
    Some((
        vec![COUNTRY_KIND],
        SummaryValues::Exact(cc.clone().into_bytes()),
    ))
}

/// The days, newest first, and per server the spans, on which the value of the filter the
/// summary holds was seen (`day`, `server`, `lo`, `hi`); `None`: no such filter.
pub fn days_statement(filters: &Filters) -> Option<(String, Params)> {
    let (kinds, values) = summary_lookup(filters)?;
    let mut s = Statement::default();
    s.and(
        // The day from `first_unix` (the UTC day's number, as `day`): the index holds it,
        // so that no row is read.
        "SELECT first_unix / 86400 AS day, server, min(first_unix), max(last_unix)
         FROM mls_source_days WHERE kind = ANY($)",
        Box::new(kinds),
    );
    match values {
        SummaryValues::Exact(v) => s.and(" AND value = $", Box::new(v)),
        SummaryValues::From(low, high) => {
            s.and(" AND value >= $", Box::new(low));
            if let Some(h) = high {
                s.and(" AND value < $", Box::new(h));
            }
        }
    }
    // Only the days of the time span.
    if let Some(t) = filters.since {
        s.and(" AND last_unix >= $", Box::new(t));
    }
    if let Some(t) = filters.until {
        s.and(" AND first_unix < $", Box::new(t));
    }
    s.sql
        .push_str(" GROUP BY 1, server ORDER BY 1 DESC, server");
    Some((s.sql, s.params))
}

/// The events `filters` match, newest first, at most `limit`: those of a value's day (read
/// through the time index, its windows by a `LATERAL` join, or its span), or all (through the
/// primary key or the time index: a server, an outcome, a time span). Every filter is applied
/// by PostgreSQL (a network by `inet` containment, a user glob as `LIKE`).
pub fn events_statement(
    filters: &Filters,
    day: Option<&DayReading>,
    limit: Option<usize>,
) -> (String, Params) {
    let mut s = Statement::default();
    s.sql = match day {
        Some(DayReading::Windows(w)) => {
            let (servers, (los, his)): (Vec<String>, (Vec<i64>, Vec<i64>)) =
                w.iter().map(|(s, lo, hi)| (s.clone(), (*lo, *hi))).unzip();
            s.params
                .extend::<Params>(vec![Box::new(servers), Box::new(los), Box::new(his)]);
            // Materialized, so that the windows drive the reading: with the order and the
            // limit at the same level, PostgreSQL read every month's events by time instead
            // (38 s against 3 ms in a 50,000,000-event store).
            format!(
                "WITH e AS MATERIALIZED (SELECT e.*
                     FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS w (server, lo, hi)
                     CROSS JOIN LATERAL ({SELECT_EVENTS}
                         WHERE server = w.server AND time_unix >= w.lo AND time_unix <= w.hi
                         AND has_time"
            )
        }
        _ => format!("{SELECT_EVENTS} WHERE has_time"),
    };
    if let Some(DayReading::Span { servers, from, to }) = day {
        s.and(" AND server = ANY($)", Box::new(servers.clone()));
        s.and(" AND time_unix >= $", Box::new(*from));
        s.and(" AND time_unix <= $", Box::new(*to));
    }
    if let Some(c) = filters.ip {
        if c.is_host() {
            s.and(" AND ip = $", Box::new(c.addr().to_string()));
        } else {
            s.and(" AND ip::inet <<= $::text::inet", Box::new(c.to_string()));
        }
    }
    match &filters.user {
        Some(UserFilter::Exact(u)) => s.and(" AND \"user\" = $", Box::new(u.clone())),
        Some(UserFilter::Like(p)) => s.and(" AND \"user\" LIKE $", Box::new(glob_to_like(p))),
        None => {}
    }
    for (column, value) in [
        ("asn", &filters.asn),
        ("country_code", &filters.country),
        ("server", &filters.server),
    ] {
        if let Some(v) = value {
            s.and(&format!(" AND {column} = $"), Box::new(v.clone()));
        }
    }
    if let Some(o) = filters.outcome {
        s.and(" AND outcome = $", Box::new(o.as_str()));
    }
    if let Some(t) = filters.since {
        s.and(" AND time_unix >= $", Box::new(t));
    }
    if let Some(t) = filters.until {
        s.and(" AND time_unix < $", Box::new(t));
    }
    if let Some(DayReading::Windows(_)) = day {
        s.sql.push_str(") e) SELECT * FROM e");
    }
    s.sql
        .push_str(" ORDER BY time_unix DESC, server, local_id DESC");
    if let Some(n) = limit {
        s.sql.push_str(&format!(" LIMIT {n}"));
    }
    (s.sql, s.params)
}

/// A statement being built: its text and its parameters, numbered in order.
#[derive(Default)]
struct Statement {
    sql: String,
    params: Params,
}

impl Statement {
    /// Appends `condition` with its `$` numbered for `v`.
    fn and(&mut self, condition: &str, v: Box<dyn postgres::types::ToSql + Sync>) {
        self.params.push(v);
        let n = self.params.len();
        self.sql.push_str(&condition.replace('$', &format!("${n}")));
    }
}

/// A `*`/`?` glob as a `LIKE` pattern (`%`, `_` and `\` of the glob taken literally).
fn glob_to_like(glob: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(glob.len() + 4);
    for &c in glob {
        match c {
            b'*' => out.push(b'%'),
            b'?' => out.push(b'_'),
            b'%' | b'_' | b'\\' => out.extend([b'\\', c]),
            c => out.push(c),
        }
    }
    out
}

impl ReportStore for CentralReader {
    fn for_each_event_between(
        &self,
        since: i64,
        until: i64,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<(), StoreError> {
        let sql = format!(
            "{SELECT_EVENTS} WHERE has_time AND time_unix >= $1 AND time_unix < $2{}
             ORDER BY time_unix, server, local_id",
            self.scope("server", 3)
        );
        for r in self.query(&sql, &[&since, &until])? {
            f(row_event(&r)?);
        }
        Ok(())
    }

    fn attempts_between(
        &self,
        outcome: Outcome,
        since: i64,
        until: i64,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT coalesce(sum(attempts), 0)::bigint FROM mls_events
             WHERE outcome = $1 AND time_unix >= $2 AND time_unix < $3{}",
            self.scope("server", 4)
        );
        let rows = self.query(&sql, &[&outcome.as_str(), &since, &until])?;
        Ok(rows[0].get::<_, i64>(0) as u64)
    }

    /// Fleet-wide on purpose: the failures of every server count as evidence. From the
    /// summary: per ask and server, the days before `before`'s, and that day's rows when they
    /// all ended before it; when one of that day's rows runs past `before`, that server's
    /// day is counted from the events instead, all such days in one scan.
    fn earlier_failures(
        &self,
        key: FailureKey,
        asks: &[(&str, i64)],
    ) -> Result<Vec<Option<EarlierFailures>>, StoreError> {
        let column = key_column(key);
        let values: Vec<&[u8]> = asks.iter().map(|a| a.0.as_bytes()).collect();
        let befores: Vec<i64> = asks.iter().map(|a| a.1).collect();
        let day_starts: Vec<i64> = befores.iter().map(|b| day_start(*b)).collect();
        let rows = self
            .client
            .borrow_mut()
            .query(
                // The day from first_unix (a row's times are of its day), not `day`: then
                // the index covers the query. Grouped per ask (a few rows each) rather than
                // once over all asks' rows, which sorts them all.
                "SELECT a.i::bigint, s.*
                 FROM unnest($1::bytea[], $2::bigint[], $4::bigint[]) WITH ORDINALITY
                     AS a (value, before, day_start, i)
                 CROSS JOIN LATERAL (
                     SELECT d.server,
                         min(d.first_unix) FILTER (WHERE d.first_unix < a.day_start),
                         coalesce(sum(d.attempts) FILTER (WHERE d.first_unix < a.day_start), 0)
                             ::bigint,
                         min(d.first_unix) FILTER (WHERE d.first_unix >= a.day_start),
                         coalesce(sum(d.attempts) FILTER (WHERE d.first_unix >= a.day_start), 0)
                             ::bigint,
                         coalesce(bool_or(d.last_unix >= a.before), false)
                     FROM mls_source_days d
                     WHERE d.kind = $3 AND d.value = a.value AND d.first_unix < a.before
                     GROUP BY d.server) s",
                &[&values, &befores, &column, &day_starts],
            )
            .map_err(central)?;
        // Per ask: (first, attempts, servers); and the (ask, server) days to count anew.
        let mut sums: Vec<Sums> = asks.iter().map(|_| (None, 0, Vec::new())).collect();
        let mut recount: Vec<(usize, String)> = Vec::new();
        for r in &rows {
            let i = r.get::<_, i64>(0) as usize - 1;
            let server: String = r.get(1);
            if let Some(first) = r.get::<_, Option<i64>>(2) {
                add_failures(&mut sums[i], first, r.get(3));
            }
            if r.get::<_, bool>(6) {
                recount.push((i, server.clone()));
            } else if let Some(first) = r.get::<_, Option<i64>>(4) {
                add_failures(&mut sums[i], first, r.get(5));
            }
            sums[i].2.push(server);
        }
        if !recount.is_empty() {
            let lo = recount.iter().map(|r| day_starts[r.0]).min().unwrap_or(0);
            let hi = recount.iter().map(|r| asks[r.0].1).max().unwrap_or(0);
            let wanted: Vec<&str> = recount.iter().map(|r| asks[r.0].0).collect();
            let sql = format!(
                "SELECT server, {column}, time_unix, attempts::bigint FROM mls_events
                 WHERE outcome = 'failure' AND has_time AND time_unix >= $1 AND time_unix < $2
                     AND {column} = ANY($3)"
            );
            let mut events: HashMap<(String, String), Vec<(i64, i64)>> = HashMap::new();
            for r in self
                .client
                .borrow_mut()
                .query(&sql, &[&lo, &hi, &wanted])
                .map_err(central)?
            {
                events
                    .entry((r.get(0), r.get(1)))
                    .or_default()
                    .push((r.get(2), r.get(3)));
            }
            for (i, server) in recount {
                let (value, before) = asks[i];
                let from = day_starts[i];
                for &(t, n) in events
                    .get(&(server, value.to_string()))
                    .into_iter()
                    .flatten()
                {
                    if t >= from && t < before {
                        add_failures(&mut sums[i], t, n);
                    }
                }
            }
        }
        Ok(sums
            .into_iter()
            .map(|(first, attempts, mut servers)| {
                servers.sort();
                first.map(|first_unix| EarlierFailures {
                    first_unix,
                    attempts,
                    servers,
                })
            })
            .collect())
    }

    fn count_new(&self, key: FailureKey, values: &[&str], before: i64) -> Result<u64, StoreError> {
        let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT count(*) FROM unnest($1::bytea[]) AS v (value)
                 WHERE NOT EXISTS (SELECT 1 FROM mls_source_days d
                     WHERE d.kind = $2 AND d.value = v.value AND d.first_unix < $3)",
                &[&values, &key_column(key), &before],
            )
            .map_err(central)?;
        Ok(rows[0].get::<_, i64>(0) as u64)
    }

    fn users_ever_succeeded(&self, users: &[&[u8]]) -> Result<Vec<bool>, StoreError> {
        let found: std::collections::HashSet<Vec<u8>> = self
            .client
            .borrow_mut()
            .query(
                "SELECT v.value FROM unnest($1::bytea[]) AS v (value)
                 WHERE EXISTS (SELECT 1 FROM mls_source_days d
                     WHERE d.kind = 'user' AND d.value = v.value)",
                &[&users],
            )
            .map_err(central)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(users.iter().map(|u| found.contains(*u)).collect())
    }

    fn parallel_reader(&self) -> Result<Box<dyn ReportStore + Send>, StoreError> {
        let reader = CentralReader::new(self.connect.clone(), self.server.clone())
            .map_err(|e| StoreError::Central(e.to_string()))?;
        Ok(Box::new(reader))
    }

    fn fleet_health(&self, since: i64, until: i64) -> Result<Vec<ServerHealth>, StoreError> {
        let sql = format!(
            // One pass over each server's runs and one over its events of the window.
            "SELECT s.name,
                 (SELECT max(finished_unix) FROM mls_runs r WHERE r.server = s.name),
                 (SELECT extract(epoch FROM max(shipped_at))::bigint FROM mls_ships p
                     WHERE p.server = s.name),
                 w.lines, w.unmatched, w.events, e.failures, e.successes
             FROM mls_servers s
             CROSS JOIN LATERAL (
                 SELECT coalesce(sum(lines), 0)::bigint AS lines,
                     coalesce(sum(unmatched), 0)::bigint AS unmatched,
                     coalesce(sum(events), 0)::bigint AS events
                 FROM mls_runs r
                 WHERE r.server = s.name AND finished_unix >= $1 AND finished_unix < $2) w
             CROSS JOIN LATERAL (
                 SELECT coalesce(sum(attempts) FILTER (WHERE outcome = 'failure'), 0)::bigint
                         AS failures,
                     coalesce(sum(attempts) FILTER (WHERE outcome = 'success'), 0)::bigint
                         AS successes
                 FROM mls_events x
                 WHERE x.server = s.name AND time_unix >= $1 AND time_unix < $2) e
             WHERE true{} ORDER BY s.name",
            self.scope("s.name", 3)
        );
        let n = |r: &postgres::Row, i: usize| r.get::<_, i64>(i) as u64;
        Ok(self
            .query(&sql, &[&since, &until])?
            .iter()
            .map(|r| ServerHealth {
                server: r.get(0),
                last_run_unix: r.get(1),
                last_ship_unix: r.get(2),
                lines: n(r, 3),
                unmatched: n(r, 4),
                events: n(r, 5),
                failures: n(r, 6),
                successes: n(r, 7),
            })
            .collect())
    }

    fn runs_between(&self, since: i64, until: i64) -> Result<(u64, RunCounts), StoreError> {
        let sql = format!(
            "SELECT count(*), coalesce(sum(lines), 0)::bigint, coalesce(sum(events), 0)::bigint,
                 coalesce(sum(unmatched), 0)::bigint, coalesce(sum(tempfails), 0)::bigint,
                 coalesce(sum(aborted), 0)::bigint
             FROM mls_runs WHERE finished_unix >= $1 AND finished_unix < $2{}",
            self.scope("server", 3)
        );
        let r = &self.query(&sql, &[&since, &until])?[0];
        let n = |i: usize| r.get::<_, i64>(i) as u64;
        Ok((
            n(0),
            RunCounts {
                finished_unix: until,
                lines: n(1),
                events: n(2),
                unmatched: n(3),
                tempfails: n(4),
                aborted: n(5),
                ..RunCounts::default()
            },
        ))
    }
}

/// An ask's sums so far: first failure, attempts, servers.
type Sums = (Option<i64>, u64, Vec<String>);

/// Adds `attempts` failures, the first of them at `first`, to an ask's sums.
fn add_failures(s: &mut Sums, first: i64, attempts: i64) {
    s.0 = Some(s.0.map_or(first, |f| f.min(first)));
    s.1 += attempts as u64;
}

/// The start of the UTC day of `t`: the summary's day boundary.
fn day_start(t: i64) -> i64 {
    super::utc_day(t) * 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_read_by_its_windows_when_they_cover_less_time_than_their_span() {
        let window = |server: &str, lo, hi| (server.to_string(), lo, hi);
        // A rare value: a minute at each end of the day.
        let rare = [window("a", 0, 59), window("b", 86_340, 86_399)];
        assert!(matches!(DayReading::of(&rare), DayReading::Windows(w) if w.len() == 2));
        // One window, or windows that overlap: their span, once.
        let one = [window("a", 100, 200)];
        let DayReading::Span { servers, from, to } = DayReading::of(&one) else {
            panic!("one window");
        };
        assert_eq!((servers, from, to), (vec!["a".to_string()], 100, 200));
        let all_day = [window("a", 0, 86_000), window("b", 300, 86_399)];
        let DayReading::Span { servers, from, to } = DayReading::of(&all_day) else {
            panic!("overlapping windows");
        };
        assert_eq!(
            (servers, from, to),
            (vec!["a".into(), "b".into()], 0, 86_399)
        );
    }
}

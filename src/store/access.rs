//! The store as the pipeline sees it: two traits, one per side. [`IngestStore`] is what the
//! ingestion writes and reads back (checkpoints, cursor, correlator state, commits, runs);
//! [`ReportStore`] is what the reports read (a window's events and the facts about sources
//! before it). Ingest and report code take `dyn` or generic stores, never `Store` itself, so
//! a second backend (the fleet's central PostgreSQL store) is one new implementation. The
//! SQLite [`Store`] implements both, here.
//!
//! Not here: opening, migrating and checking a store (`Store`'s own methods).

use std::collections::HashMap;
use std::net::IpAddr;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::error::Doing;
use super::*;
use crate::event::{Protocol, Service};

/// What the ingestion needs of a store. `Send`: the writer runs on a thread of its own.
pub trait IngestStore: Send {
    /// The checkpoint of the file with this identity.
    fn checkpoint(&self, fingerprint: &str) -> Result<Option<Checkpoint>, StoreError>;
    fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError>;
    /// Where reading the journal (`source`) stopped.
    fn cursor(&self, source: &str) -> Result<Option<String>, StoreError>;
    /// The correlator's waiting lines, as the last commit left them.
    fn correlator_state(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// The CSV's length as of the last commit (`None`: never committed).
    fn csv_committed_len(&self) -> Result<Option<u64>, StoreError>;
    fn jsonl_committed_len(&self) -> Result<Option<u64>, StoreError>;
    /// Writes everything of `c` in one transaction, or nothing.
    fn commit(&mut self, c: &Commit) -> Result<(), StoreError>;
    fn record_run(&mut self, run: &RunCounts) -> Result<(), StoreError>;
    /// The reverse DNS cache.
    fn cached_ptr(&self, ip: IpAddr) -> Result<Option<PtrRecord>, StoreError>;
    /// A second, read-only handle on the same store, for a thread of its own (lookups while
    /// the first one writes).
    fn another(&self) -> Result<Box<dyn IngestStore>, StoreError>;
}

/// What the reports read.
pub trait ReportStore {
    /// Calls `f` with every event whose time is in `[since, until)`, in time order.
    fn for_each_event_between(
        &self,
        since: i64,
        until: i64,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<(), StoreError>;
    /// Attempts with `outcome` in `[since, until)`.
    fn attempts_between(&self, outcome: Outcome, since: i64, until: i64)
    -> Result<u64, StoreError>;
    /// For each `(value, before)` of `asks`, in order: the failures before `before` whose
    /// `key` is `value`, if any. One call for many sources: a fleet store answers in a few
    /// queries, not a round trip each.
    fn earlier_failures(
        &self,
        key: FailureKey,
        asks: &[(&str, i64)],
    ) -> Result<Vec<Option<EarlierFailures>>, StoreError>;
    /// How many of `values` had no failure with this `key` before `before`.
    fn count_new(&self, key: FailureKey, values: &[&str], before: i64) -> Result<u64, StoreError>;
    /// For each of `users`, in order: whether it ever logged in successfully (one call for
    /// all of a report's sprayed users).
    fn users_ever_succeeded(&self, users: &[&[u8]]) -> Result<Vec<bool>, StoreError>;
    /// Runs finished in `[since, until)` and the sum of their counts.
    fn runs_between(&self, since: i64, until: i64) -> Result<(u64, RunCounts), StoreError>;
    /// Each server of a fleet in `[since, until)`; empty for one server's own store.
    fn fleet_health(&self, _since: i64, _until: i64) -> Result<Vec<ServerHealth>, StoreError> {
        Ok(Vec::new())
    }
    /// A second handle on the same store, so that a report asks its independent figures on a
    /// thread of its own while this one reads the window's events.
    fn parallel_reader(&self) -> Result<Box<dyn ReportStore + Send>, StoreError>;
}

/// The failures from one source before an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierFailures {
    pub first_unix: i64,
    pub attempts: u64,
    /// The servers they were on, for a fleet store (a cross-server compromise names them);
    /// empty for one server's own store.
    pub servers: Vec<String>,
}

/// One server of a fleet, as the fleet report's health table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHealth {
    pub server: String,
    pub last_run_unix: Option<i64>,
    pub last_ship_unix: Option<i64>,
    /// In the window: lines read, auth-looking lines no rule took, events stored, failed
    /// attempts, successful logins.
    pub lines: u64,
    pub unmatched: u64,
    pub events: u64,
    pub failures: u64,
    pub successes: u64,
}

impl IngestStore for Store {
    /// The checkpoint of the file with this fingerprint, if it was ever read.
    fn checkpoint(&self, fingerprint: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT fingerprint, path, offset, finished FROM checkpoints WHERE fingerprint = ?1",
            )
            .doing("reading a checkpoint")?
            .query_row([fingerprint], row_checkpoint)
            .optional()
            .doing("reading a checkpoint")?
            .transpose()
    }

    /// Every checkpoint, by path.
    fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT fingerprint, path, offset, finished FROM checkpoints ORDER BY path, fingerprint",
            )
            .doing("reading checkpoints")?;
        let rows = stmt
            .query_map([], row_checkpoint)
            .doing("reading checkpoints")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .doing("reading checkpoints")?;
        rows.into_iter().collect()
    }

    /// The cursor stored for `source` (the journal).
    fn cursor(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT cursor FROM cursors WHERE source = ?1",
                [source],
                |r| r.get(0),
            )
            .optional()
            .doing("reading the journal cursor")
    }

    /// The correlator's state blob of the last commit that had one.
    fn correlator_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [META_CORRELATOR],
                |r| r.get(0),
            )
            .optional()
            .doing("reading the correlator state")
    }

    /// The CSV export's committed length; `None` if never recorded.
    fn csv_committed_len(&self) -> Result<Option<u64>, StoreError> {
        self.meta_len(META_CSV_LEN)
    }

    /// The JSON Lines export's committed length; `None` if never recorded.
    fn jsonl_committed_len(&self) -> Result<Option<u64>, StoreError> {
        self.meta_len(META_JSONL_LEN)
    }

    /// Writes everything of `c` in one transaction: all of it, or (on error, or if the process
    /// dies before this returns) nothing.
    fn commit(&mut self, c: &Commit) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .doing("starting a commit")?;
        write_events(&tx, c)?;
        write_ptrs(&tx, c.ptrs)?;
        write_checkpoints(&tx, c.checkpoints)?;
        write_positions(&tx, c)?;
        tx.commit().doing("committing")
    }

    /// Records what a run did (for the report's parser-health line).
    fn record_run(&mut self, run: &RunCounts) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (finished_unix, lines, events, unmatched, tempfails, aborted,
                     dns_lookups, dns_timeouts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    run.finished_unix,
                    to_i64(run.lines, "a line count")?,
                    to_i64(run.events, "an event count")?,
                    to_i64(run.unmatched, "a line count")?,
                    to_i64(run.tempfails, "a line count")?,
                    to_i64(run.aborted, "a line count")?,
                    to_i64(run.dns_lookups, "a lookup count")?,
                    to_i64(run.dns_timeouts, "a lookup count")?
                ],
            )
            .doing("recording the run")?;
        Ok(())
    }

    /// The cached reverse DNS answer for `ip`, however old (the caller applies the TTL).
    fn cached_ptr(&self, ip: IpAddr) -> Result<Option<PtrRecord>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT hostname, status, confirmed, resolved_unix FROM dns_cache WHERE ip = ?1",
            )
            .doing("reading the DNS cache")?
            .query_row([ip.to_string()], |r| {
                Ok(PtrRecord {
                    ip,
                    hostname: r.get(0)?,
                    status: r.get(1)?,
                    confirmed: r.get(2)?,
                    resolved_unix: r.get(3)?,
                })
            })
            .optional()
            .doing("reading the DNS cache")
    }

    fn another(&self) -> Result<Box<dyn IngestStore>, StoreError> {
        // Read-only: a second handle only looks up (checkpoints, the DNS cache), and opening
        // one costs no schema transaction (follow mode opens one per pass).
        Ok(Box::new(Store::open_read_only(self.path())?))
    }
}

impl Store {
    /// First time and attempts of the failures before `before` whose `key` is `value`: the
    /// days before `before`'s from the summary; of that day, all or nothing when the source's
    /// failures were all before or all after it, else those before it, counted from the events
    /// (from its first failure of the day on, through the time index).
    pub(super) fn failures_before(
        &self,
        key: FailureKey,
        value: &str,
        before: i64,
    ) -> Result<Option<(i64, u64)>, StoreError> {
        const DOING: &str = "looking up earlier failures";
        let (column, kind) = key_source(key);
        let day = day_of(before);
        let (mut first, mut attempts): (Option<i64>, i64) = self
            .conn
            .prepare_cached(
                "SELECT min(first_unix), coalesce(sum(attempts), 0) FROM source_days
                 WHERE kind = ?1 AND value = ?2 AND day < ?3",
            )
            .doing(DOING)?
            .query_row(params![kind as i64, value, day], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .doing(DOING)?;
        let that_day: Option<(i64, i64, i64)> = self
            .conn
            .prepare_cached(
                "SELECT first_unix, last_unix, attempts FROM source_days
                 WHERE kind = ?1 AND value = ?2 AND day = ?3",
            )
            .doing(DOING)?
            .query_row(params![kind as i64, value, day], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .doing(DOING)?;
        if let Some((day_first, day_last, day_attempts)) = that_day
            && day_first < before
        {
            first = Some(first.map_or(day_first, |f| f.min(day_first)));
            attempts += if day_last < before {
                day_attempts
            } else {
                self.conn
                    .prepare_cached(&format!(
                        "SELECT coalesce(sum(attempts), 0) FROM events INDEXED BY events_time
                         WHERE time_unix >= ?1 AND time_unix < ?2 AND outcome = 'failure'
                             AND {column} = ?3"
                    ))
                    .doing(DOING)?
                    .query_row(params![day_first, before, value], |r| r.get::<_, i64>(0))
                    .doing(DOING)?
            };
        }
        Ok(first.map(|f| (f, attempts as u64)))
    }

    /// Whether a failure before `before` has this `key` value: a walk over the source's days.
    pub(super) fn failed_before(
        &self,
        key: FailureKey,
        value: &str,
        before: i64,
    ) -> Result<bool, StoreError> {
        let (_, kind) = key_source(key);
        self.conn
            .prepare_cached(
                "SELECT 1 FROM source_days WHERE kind = ?1 AND value = ?2 AND first_unix < ?3
                 LIMIT 1",
            )
            .doing("looking up earlier failures")?
            .query_row(params![kind as i64, value, before], |_| Ok(()))
            .optional()
            .doing("looking up earlier failures")
            .map(|r| r.is_some())
    }
}

impl ReportStore for Store {
    /// Calls `f` with every event whose time is in `[since, until)`, in time order (through
    /// the time index: a day of a large store reads only that day).
    fn for_each_event_between(
        &self,
        since: i64,
        until: i64,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<(), StoreError> {
        self.each_event(
            "WHERE time_unix >= ?1 AND time_unix < ?2 ORDER BY time_unix, id",
            [since, until],
            "reading events",
            f,
        )
    }

    /// Sum of `attempts` of the events with this outcome in `[since, until)`.
    fn attempts_between(
        &self,
        outcome: Outcome,
        since: i64,
        until: i64,
    ) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT coalesce(sum(attempts), 0) FROM events
                 WHERE outcome = ?1 AND time_unix >= ?2 AND time_unix < ?3",
            )
            .doing("summing attempts")?
            .query_row(params![outcome.as_str(), since, until], |r| r.get(0))
            .doing("summing attempts")
    }

    fn earlier_failures(
        &self,
        key: FailureKey,
        asks: &[(&str, i64)],
    ) -> Result<Vec<Option<EarlierFailures>>, StoreError> {
        asks.iter()
            .map(|&(value, before)| {
                Ok(self
                    .failures_before(key, value, before)?
                    .map(|(first_unix, attempts)| EarlierFailures {
                        first_unix,
                        attempts,
                        servers: Vec::new(),
                    }))
            })
            .collect()
    }

    fn count_new(&self, key: FailureKey, values: &[&str], before: i64) -> Result<u64, StoreError> {
        let mut new = 0;
        for value in values {
            if !self.failed_before(key, value, before)? {
                new += 1;
            }
        }
        Ok(new)
    }

    /// Whether each user ever logged in successfully (at a known time).
    fn users_ever_succeeded(&self, users: &[&[u8]]) -> Result<Vec<bool>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM source_days WHERE kind = ?1 AND value = ?2 LIMIT 1")
            .doing("looking up a user")?;
        users
            .iter()
            .map(|user| {
                stmt.query_row(params![SourceKind::LoginUser as i64, user], |_| Ok(()))
                    .optional()
                    .doing("looking up a user")
                    .map(|found| found.is_some())
            })
            .collect()
    }

    fn parallel_reader(&self) -> Result<Box<dyn ReportStore + Send>, StoreError> {
        Ok(Box::new(Store::open_read_only(self.path())?))
    }

    /// The runs that finished in `[since, until)`, summed (`finished_unix` is `until`).
    fn runs_between(&self, since: i64, until: i64) -> Result<(u64, RunCounts), StoreError> {
        self.conn
            .query_row(
                "SELECT count(*), coalesce(sum(lines), 0), coalesce(sum(events), 0),
                     coalesce(sum(unmatched), 0), coalesce(sum(tempfails), 0),
                     coalesce(sum(aborted), 0)
                 FROM runs WHERE finished_unix >= ?1 AND finished_unix < ?2",
                [since, until],
                |r| {
                    Ok((
                        r.get(0)?,
                        RunCounts {
                            finished_unix: until,
                            lines: r.get(1)?,
                            events: r.get(2)?,
                            unmatched: r.get(3)?,
                            tempfails: r.get(4)?,
                            aborted: r.get(5)?,
                            ..RunCounts::default()
                        },
                    ))
                },
            )
            .doing("reading the runs")
    }
}

/// The events of `c` with their enrichments.
fn write_events(tx: &Transaction, c: &Commit) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (time_unix, time_nanos, offset_secs, server, service,
                 protocol, outcome, ip, user, mechanism, reason, attempts, session, source,
                 hostname, reverse_dns_status, country_code, asn, aso, ptr_confirmed, net)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                 ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        )
        .doing("preparing the event insert")?;
    if !c.enrichments.is_empty() && c.enrichments.len() != c.events.len() {
        return Err(StoreError::corrupt(format!(
            "{} enrichments for {} events",
            c.enrichments.len(),
            c.events.len()
        )));
    }
    let none = Enrichment::default();
    let mut ip = String::with_capacity(48);
    let mut net = String::with_capacity(48);
    let mut days = SourceDays::default();
    let mut totals: FastMap<(Service, Protocol, Outcome), i64> = FastMap::default();
    for (i, (e, source)) in c.events.iter().enumerate() {
        *totals
            .entry((e.service, e.protocol, e.outcome))
            .or_default() += i64::from(e.attempts);
        let en = c.enrichments.get(i).unwrap_or(&none);
        ip.clear();
        crate::event::push_ip(&mut ip, e.ip);
        net.clear();
        crate::event::push_network(&mut net, e.ip);
        // Bound one by one with their own types (the statement keeps them until the next
        // bind): a parameter slice of `dyn ToSql` per event cost a sixth of the writer.
        macro_rules! bind {
            ($($n:literal: $v:expr),* $(,)?) => {
                $(insert.raw_bind_parameter($n, $v).doing("storing events")?;)*
            };
        }
        bind!(
            1: e.time.map(|t| t.unix),
            2: e.time.map_or(0, |t| t.nanos),
            3: e.time.map_or(0, |t| t.offset_secs),
            4: &e.server,
            5: e.service.as_str(),
            6: e.protocol.as_str(),
            7: e.outcome.as_str(),
            8: &ip,
            9: &e.user,
            10: &e.mechanism,
            11: &e.reason,
            12: e.attempts,
            13: &e.session,
            14: source,
            15: &en.hostname,
            16: &en.reverse_dns_status,
            17: &en.country_code,
            18: &en.asn,
            19: &en.aso,
            20: en.ptr_confirmed,
            21: &net,
        );
        insert.raw_execute().doing("storing events")?;
        if let Some(t) = e.time {
            let mut add = |kind: SourceKind, value: &[u8]| {
                let values = days.entry((kind, day_of(t.unix))).or_default();
                // The key is allocated only for a value not seen yet in this commit.
                let sums = match values.get_mut(value) {
                    Some(sums) => sums,
                    None => values.entry(value.into()).or_insert((t.unix, t.unix, 0)),
                };
                let (first, last, attempts) = sums;
                *first = (*first).min(t.unix);
                *last = (*last).max(t.unix);
                *attempts += i64::from(e.attempts);
            };
            match e.outcome {
                Outcome::Failure => {
                    add(SourceKind::FailedIp, ip.as_bytes());
                    add(SourceKind::FailedNet, net.as_bytes());
                    if let Some(asn) = &en.asn {
                        add(SourceKind::FailedAsn, asn.as_bytes());
                    }
                }
                Outcome::Success => {
                    add(SourceKind::LoginIp, ip.as_bytes());
                    if let Some(asn) = &en.asn {
                        add(SourceKind::LoginAsn, asn.as_bytes());
                    }
                    if let Some(user) = &e.user {
                        add(SourceKind::LoginUser, user);
                    }
                }
            }
            if let Some(cc) = &en.country_code {
                add(SourceKind::Country, cc.as_bytes());
            }
            if let Some(server) = &e.server {
                add(SourceKind::Server, server.as_bytes());
            }
        }
    }
    write_source_days(tx, days)?;
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO attempt_totals (service, protocol, outcome, attempts)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (service, protocol, outcome) DO UPDATE SET
                 attempts = attempts + excluded.attempts",
        )
        .doing("preparing the attempt totals")?;
    for ((service, protocol, outcome), attempts) in totals {
        upsert
            .execute(params![
                service.as_str(),
                protocol.as_str(),
                outcome.as_str(),
                attempts
            ])
            .doing("storing the attempt totals")?;
    }
    Ok(())
}

/// A commit's sums: (kind, day) -> value -> (first time, last time, attempts).
type SourceDays = FastMap<(SourceKind, i64), FastMap<Box<[u8]>, (i64, i64, i64)>>;

/// A map with a fast hash, seeded per process (the summary's values are an attacker's: a
/// fixed seed would let him choose colliding names).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Adds a commit's sums per source and day to `source_days`.
fn write_source_days(tx: &Transaction, days: SourceDays) -> Result<(), StoreError> {
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO source_days (kind, value, day, first_unix, last_unix, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (kind, value, day) DO UPDATE SET
                 first_unix = min(first_unix, excluded.first_unix),
                 last_unix = max(last_unix, excluded.last_unix),
                 attempts = attempts + excluded.attempts",
        )
        .doing("preparing the source summary")?;
    let mut rows: Vec<_> = days
        .into_iter()
        .flat_map(|((kind, day), values)| values.into_iter().map(move |(v, s)| (kind, v, day, s)))
        .collect();
    // In the table's key order, each upsert lands beside the previous one (its pages are
    // cached) instead of at a random place.
    rows.sort_unstable_by(|a, b| (a.0 as i64, &a.1, a.2).cmp(&(b.0 as i64, &b.1, b.2)));
    for (kind, value, day, (first, last, attempts)) in rows {
        // Users are bytes (BLOB), as in `events`; the other values text.
        let value = match kind {
            SourceKind::LoginUser => ToSqlOutput::Borrowed(ValueRef::Blob(&value)),
            _ => ToSqlOutput::Borrowed(ValueRef::Text(&value)),
        };
        upsert
            .execute(params![kind as i64, value, day, first, last, attempts])
            .doing("storing the source summary")?;
    }
    Ok(())
}

/// Reverse DNS answers into the cache.
fn write_ptrs(tx: &Transaction, ptrs: &[PtrRecord]) -> Result<(), StoreError> {
    if !ptrs.is_empty() {
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO dns_cache (ip, hostname, status, confirmed, resolved_unix)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(ip) DO UPDATE SET hostname = excluded.hostname,
                     status = excluded.status, confirmed = excluded.confirmed,
                     resolved_unix = excluded.resolved_unix",
            )
            .doing("preparing the DNS cache update")?;
        for p in ptrs {
            upsert
                .execute(params![
                    p.ip.to_string(),
                    p.hostname,
                    p.status,
                    p.confirmed,
                    p.resolved_unix
                ])
                .doing("storing a reverse DNS answer")?;
        }
    }
    Ok(())
}

/// Where reading each file stopped.
fn write_checkpoints(tx: &Transaction, checkpoints: &[Checkpoint]) -> Result<(), StoreError> {
    if !checkpoints.is_empty() {
        let now = jiff::Timestamp::now().as_second();
        let mut upsert = tx
            .prepare_cached(
                "INSERT INTO checkpoints (fingerprint, path, offset, finished, updated_unix)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(fingerprint) DO UPDATE SET path = excluded.path,
                     offset = excluded.offset, finished = excluded.finished,
                     updated_unix = excluded.updated_unix",
            )
            .doing("preparing the checkpoint update")?;
        for cp in checkpoints {
            upsert
                .execute(params![
                    cp.fingerprint,
                    cp.path.to_string_lossy(),
                    to_i64(cp.offset, "a checkpoint offset")?,
                    cp.finished,
                    now
                ])
                .doing("storing a checkpoint")?;
        }
    }
    Ok(())
}

/// The journal cursor, the correlator state and the exports' lengths.
fn write_positions(tx: &Transaction, c: &Commit) -> Result<(), StoreError> {
    if let Some((source, cursor)) = c.cursor {
        tx.prepare_cached(
            "INSERT INTO cursors (source, cursor) VALUES (?1, ?2)
             ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor",
        )
        .doing("preparing the cursor update")?
        .execute(params![source, cursor])
        .doing("storing the journal cursor")?;
    }
    let mut meta = tx
        .prepare_cached(UPSERT_META)
        .doing("preparing a meta update")?;
    if let Some(state) = c.correlator_state {
        meta.execute(params![META_CORRELATOR, state])
            .doing("storing the correlator state")?;
    }
    for (key, len) in [(META_CSV_LEN, c.csv_len), (META_JSONL_LEN, c.jsonl_len)] {
        if let Some(len) = len {
            meta.execute(params![key, to_i64(len, "an export length")?])
                .doing("storing an export length")?;
        }
    }
    Ok(())
}

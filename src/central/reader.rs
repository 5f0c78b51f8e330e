//! The central store as a [`ReportStore`]: the server report's builder runs unchanged over the
//! whole fleet (or one server of it), so "failed before" looks at every server's failures: a
//! success on one server from a source that failed on another is a possible compromise.
//!
//! Not here: shipping, the fleet-only sections.

use std::cell::RefCell;

use postgres::Client;

use crate::envelope::timestamp::EventTime;
use crate::event::{AuthEvent, Outcome};
use crate::store::{
    Enrichment, FailureKey, ReportStore, RunCounts, ServerHealth, StoreError, StoredEvent,
};

/// Reads the central store, for all servers or for `server` alone.
pub struct CentralReader {
    client: RefCell<Client>,
    server: Option<String>,
}

fn central(e: postgres::Error) -> StoreError {
    StoreError::Central(super::describe(&e))
}

impl CentralReader {
    pub fn new(client: Client, server: Option<String>) -> CentralReader {
        CentralReader {
            client: RefCell::new(client),
            server,
        }
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

fn key_column(key: FailureKey) -> &'static str {
    match key {
        FailureKey::Ip => "ip",
        FailureKey::Network => "net",
        FailureKey::Asn => "asn",
    }
}

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

impl ReportStore for CentralReader {
    fn for_each_event_between(
        &self,
        since: i64,
        until: i64,
        f: &mut dyn FnMut(StoredEvent),
    ) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT local_id, server, time_unix, has_time, time_nanos, offset_secs, service,
                 protocol, outcome, ip, \"user\", mechanism, reason, attempts, session, hostname,
                 reverse_dns_status, country_code, asn, aso, ptr_confirmed
             FROM mls_events WHERE has_time AND time_unix >= $1 AND time_unix < $2{}
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

    fn failures_before(
        &self,
        key: FailureKey,
        value: &str,
        before: i64,
    ) -> Result<Option<(i64, u64)>, StoreError> {
        // Fleet-wide on purpose: the failures of every server count as evidence.
        let sql = format!(
            "SELECT min(time_unix), coalesce(sum(attempts), 0)::bigint FROM mls_events
             WHERE {} = $1 AND outcome = 'failure' AND has_time AND time_unix < $2",
            key_column(key)
        );
        let rows = self
            .client
            .borrow_mut()
            .query(&sql, &[&value, &before])
            .map_err(central)?;
        let first: Option<i64> = rows[0].get(0);
        Ok(first.map(|f| (f, rows[0].get::<_, i64>(1) as u64)))
    }

    fn failed_before(&self, key: FailureKey, value: &str, before: i64) -> Result<bool, StoreError> {
        Ok(self.failures_before(key, value, before)?.is_some())
    }

    fn user_ever_succeeded(&self, user: &[u8]) -> Result<bool, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT 1 FROM mls_events WHERE \"user\" = $1 AND outcome = 'success' LIMIT 1",
                &[&user],
            )
            .map_err(central)?;
        Ok(!rows.is_empty())
    }

    fn failing_servers(
        &self,
        key: FailureKey,
        value: &str,
        before: i64,
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT server FROM mls_events
             WHERE {} = $1 AND outcome = 'failure' AND has_time AND time_unix < $2
             ORDER BY server",
            key_column(key)
        );
        let rows = self
            .client
            .borrow_mut()
            .query(&sql, &[&value, &before])
            .map_err(central)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
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
            },
        ))
    }
}

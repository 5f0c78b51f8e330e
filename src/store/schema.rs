//! The store's tables, its `schema_version`, and the migration hook that upgrades an older
//! store in place when the schema changes.
//!
//! Not here: reading or writing rows (`store`), connection settings (`Store::open`).

use rusqlite::{OptionalExtension, Transaction, params};

use super::error::{Doing, StoreError};

/// The version this program writes. Bump it and append to [`MIGRATIONS`] together.
pub const SCHEMA_VERSION: i64 = 5;

/// `MIGRATIONS[i]` upgrades schema `i + 1` to `i + 2` (run inside the opening transaction).
/// A new store is schema 1 with every migration applied: a new store and a migrated one
/// cannot differ.
const MIGRATIONS: &[&str] = &[
    // 1 -> 2: enrichment and reports: forward confirmation of PTR names, the client's network
    // (/24, /64; IPv6 rows of a version 1 store keep none), the indexes of the report's
    // "failed before" lookups, the reverse DNS cache, the per-run counters.
    "ALTER TABLE events ADD COLUMN ptr_confirmed INTEGER;
ALTER TABLE events ADD COLUMN net TEXT;
UPDATE events SET net = rtrim(ip, '0123456789') || '0/24' WHERE ip NOT LIKE '%:%';
DROP INDEX events_ip;
CREATE INDEX events_ip ON events(ip, outcome, time_unix);
CREATE INDEX events_failed_net ON events(net, time_unix) WHERE outcome = 'failure';
CREATE INDEX events_failed_asn ON events(asn, time_unix) WHERE outcome = 'failure' AND asn IS NOT NULL;
CREATE INDEX events_success_user ON events(user) WHERE outcome = 'success' AND user IS NOT NULL;
CREATE TABLE dns_cache (
    ip TEXT PRIMARY KEY,
    hostname TEXT,
    status TEXT NOT NULL,
    confirmed INTEGER,
    resolved_unix INTEGER NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    finished_unix INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    events INTEGER NOT NULL,
    unmatched INTEGER NOT NULL,
    tempfails INTEGER NOT NULL,
    aborted INTEGER NOT NULL
);
CREATE INDEX runs_finished ON runs(finished_unix);
",
    // 2 -> 3: store write speed. The four indexes in the order of addresses, networks, ASNs
    // and users were written at random places for every event (most of a run's time); a
    // summary per source and UTC day (`source_days`, see `store::SourceKind` for `kind`) is
    // written once per commit for each source of the commit, in one upsert. Events without a
    // time are in no day. (outcome, time) goes too: the time index serves a window.
    "CREATE TABLE source_days (
    kind INTEGER NOT NULL,
    value NOT NULL,
    day INTEGER NOT NULL,
    first_unix INTEGER NOT NULL,
    last_unix INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (kind, value, day)
) WITHOUT ROWID;
INSERT INTO source_days SELECT 0, ip, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE outcome = 'failure' AND time_unix IS NOT NULL GROUP BY ip, time_unix / 86400;
INSERT INTO source_days SELECT 1, net, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE outcome = 'failure' AND time_unix IS NOT NULL AND net IS NOT NULL
    GROUP BY net, time_unix / 86400;
INSERT INTO source_days SELECT 2, asn, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE outcome = 'failure' AND time_unix IS NOT NULL AND asn IS NOT NULL
    GROUP BY asn, time_unix / 86400;
INSERT INTO source_days SELECT 3, ip, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE outcome = 'success' AND time_unix IS NOT NULL GROUP BY ip, time_unix / 86400;
INSERT INTO source_days SELECT 4, user, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE outcome = 'success' AND time_unix IS NOT NULL AND user IS NOT NULL
    GROUP BY user, time_unix / 86400;
DROP INDEX IF EXISTS events_ip;
DROP INDEX IF EXISTS events_failed_net;
DROP INDEX IF EXISTS events_failed_asn;
DROP INDEX IF EXISTS events_success_user;
DROP INDEX IF EXISTS events_outcome_time;
",
    // 3 -> 4: the real-time side. Detections (one row per alert, the alert's JSON kept as
    // sent), the queue of their deliveries per channel (retried from here, so an alert
    // survives a restart), deliveries sent and failed per channel, attempts per service,
    // protocol and outcome (for metrics without a scan), reverse DNS lookups and timeouts per
    // run, and the detector's cursor: the last
    // event id looked at, the events already stored counting as looked at.
    "CREATE TABLE detections (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    block TEXT,
    time_unix INTEGER NOT NULL,
    alert TEXT NOT NULL
);
CREATE INDEX detections_time ON detections(time_unix);
CREATE TABLE alert_queue (
    detection INTEGER NOT NULL,
    channel TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_unix INTEGER NOT NULL,
    last_error TEXT,
    PRIMARY KEY (detection, channel)
);
CREATE TABLE alert_counts (
    channel TEXT PRIMARY KEY,
    sent INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE attempt_totals (
    service TEXT NOT NULL,
    protocol TEXT NOT NULL,
    outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (service, protocol, outcome)
);
INSERT INTO attempt_totals SELECT service, protocol, outcome, sum(attempts) FROM events
    GROUP BY service, protocol, outcome;
INSERT INTO meta(key, value) SELECT 'detected_up_to', coalesce(max(id), 0) FROM events;
ALTER TABLE runs ADD COLUMN dns_lookups INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN dns_timeouts INTEGER NOT NULL DEFAULT 0;
",
    // 4 -> 5: `query`. Per-event entries for the values that pick few events among many (an
    // address, a network, a user), in `event_index`, written after the commits in key order
    // (see `store::query`); the events already stored wait for the next run to index them.
    // The summary also says on which days ASNs logged in and countries and servers were
    // seen, so that those filters read only the events of their days.
    "CREATE TABLE event_index (
    kind INTEGER NOT NULL,
    value NOT NULL,
    time_unix INTEGER NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (kind, value, time_unix, id)
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES ('indexed_up_to', 0);
INSERT INTO source_days SELECT 7, asn, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE outcome = 'success' AND time_unix IS NOT NULL AND asn IS NOT NULL
    GROUP BY asn, time_unix / 86400;
INSERT INTO source_days SELECT 8, country_code, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE time_unix IS NOT NULL AND country_code IS NOT NULL
    GROUP BY country_code, time_unix / 86400;
INSERT INTO source_days SELECT 9, server, time_unix / 86400, min(time_unix), max(time_unix), sum(attempts)
    FROM events WHERE time_unix IS NOT NULL AND server IS NOT NULL
    GROUP BY server, time_unix / 86400;
",
];

/// Schema 1, as the first version wrote it: a new store starts here.
const SCHEMA_1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time_unix INTEGER,
    time_nanos INTEGER NOT NULL DEFAULT 0,
    offset_secs INTEGER NOT NULL DEFAULT 0,
    server TEXT,
    service TEXT NOT NULL,
    protocol TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ip TEXT NOT NULL,
    user BLOB,
    mechanism TEXT,
    reason TEXT,
    attempts INTEGER NOT NULL,
    session TEXT,
    source TEXT,
    hostname TEXT,
    reverse_dns_status TEXT,
    country_code TEXT,
    asn TEXT,
    aso TEXT
);
CREATE INDEX events_time ON events(time_unix);
CREATE INDEX events_outcome_time ON events(outcome, time_unix);
CREATE INDEX events_ip ON events(ip);
CREATE TABLE checkpoints (
    fingerprint TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    offset INTEGER NOT NULL,
    finished INTEGER NOT NULL,
    updated_unix INTEGER NOT NULL
);
CREATE TABLE cursors (source TEXT PRIMARY KEY, cursor TEXT NOT NULL);
";

/// Creates the schema of a new store, or checks and migrates an existing one. Runs inside
/// `tx` (an immediate transaction), so two processes opening a new store at once cannot both
/// create it, and a crash half-way leaves no half schema.
pub fn ensure(tx: &Transaction) -> Result<(), StoreError> {
    let has_meta = tx
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |_| Ok(()),
        )
        .optional()
        .doing("reading the schema")?
        .is_some();
    let found = if has_meta {
        version(tx)?.ok_or_else(|| StoreError::corrupt("the meta table has no schema_version"))?
    } else {
        tx.execute_batch(SCHEMA_1).doing("creating the schema")?;
        1
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found < 1 {
        return Err(StoreError::corrupt(format!(
            "invalid schema_version {found}"
        )));
    }
    for from in found..SCHEMA_VERSION {
        let sql = MIGRATIONS
            .get(usize::try_from(from - 1).unwrap_or(usize::MAX))
            .ok_or_else(|| StoreError::corrupt(format!("no migration from schema {from}")))?;
        tx.execute_batch(sql).doing("migrating the schema")?;
    }
    if found != SCHEMA_VERSION {
        set_version(tx, SCHEMA_VERSION)?;
    }
    Ok(())
}

/// The stored `schema_version` (`None` if missing).
pub fn version(tx: &rusqlite::Connection) -> Result<Option<i64>, StoreError> {
    tx.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )
    .optional()
    .doing("reading the schema version")
}

fn set_version(tx: &Transaction, v: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES('schema_version', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![v],
    )
    .doing("writing the schema version")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ensure_on(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
        let tx = conn.transaction().unwrap();
        ensure(&tx)?;
        tx.commit().unwrap();
        Ok(())
    }

    #[test]
    fn every_older_version_has_a_migration() {
        assert_eq!(MIGRATIONS.len() as i64, SCHEMA_VERSION - 1);
    }

    #[test]
    fn creates_then_accepts_its_own_schema() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        ensure_on(&mut conn).unwrap();
        ensure_on(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), Some(SCHEMA_VERSION));
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            tables,
            [
                "alert_counts",
                "alert_queue",
                "attempt_totals",
                "checkpoints",
                "cursors",
                "detections",
                "dns_cache",
                "event_index",
                "events",
                "meta",
                "runs",
                "source_days"
            ]
        );
    }

    #[test]
    fn a_version_1_store_is_migrated_and_keeps_its_events() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        // Schema 1 as issue 3 wrote it, with two events.
        conn.execute_batch(SCHEMA_1).unwrap();
        conn.execute_batch(
            "INSERT INTO meta VALUES ('schema_version', 1);
             INSERT INTO events (time_unix, service, protocol, outcome, ip, attempts)
                 VALUES (86400 * 3 + 5, 'postfix', 'smtp', 'failure', '192.0.2.123', 2),
                        (NULL, 'postfix', 'smtp', 'failure', '2001:db8::1', 1);",
        )
        .unwrap();
        ensure_on(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), Some(SCHEMA_VERSION));
        let rows: Vec<(String, Option<bool>, Option<String>)> = conn
            .prepare("SELECT ip, ptr_confirmed, net FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("192.0.2.123".into(), None, Some("192.0.2.0/24".into())),
                ("2001:db8::1".into(), None, None)
            ]
        );
        conn.execute(
            "INSERT INTO dns_cache (ip, status, resolved_unix) VALUES ('192.0.2.1', 'OK', 1)",
            [],
        )
        .unwrap();
        // Schema 3: the dated failure is summed by address and network on its day.
        let days: Vec<(i64, String, i64, i64)> = conn
            .prepare("SELECT kind, value, day, attempts FROM source_days ORDER BY kind")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            days,
            [
                (0, "192.0.2.123".into(), 3, 2),
                (1, "192.0.2.0/24".into(), 3, 2)
            ]
        );
        // Schema 4: the totals count both events; the detector starts after them.
        let totals: i64 = conn
            .query_row("SELECT sum(attempts) FROM attempt_totals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(totals, 3);
        let cursor: i64 = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'detected_up_to'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cursor, 2);
    }

    #[test]
    fn refuses_newer_and_invalid_versions() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        ensure_on(&mut conn).unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
        assert!(matches!(
            ensure_on(&mut conn),
            Err(StoreError::NewerSchema { found, known: SCHEMA_VERSION }) if found == SCHEMA_VERSION + 1
        ));
        conn.execute("UPDATE meta SET value = 0 WHERE key = 'schema_version'", [])
            .unwrap();
        assert!(matches!(
            ensure_on(&mut conn),
            Err(StoreError::Corrupt { .. })
        ));
        conn.execute("DELETE FROM meta WHERE key = 'schema_version'", [])
            .unwrap();
        assert!(matches!(
            ensure_on(&mut conn),
            Err(StoreError::Corrupt { .. })
        ));
    }
}

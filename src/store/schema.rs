//! The store's tables, its `schema_version`, and the migration hook that upgrades an older
//! store in place when the schema changes.
//!
//! Not here: reading or writing rows (`store`), connection settings (`Store::open`).

use rusqlite::{OptionalExtension, Transaction, params};

use super::error::{Doing, StoreError};

/// The version this program writes. Bump it and append to [`MIGRATIONS`] together.
pub const SCHEMA_VERSION: i64 = 2;

/// What schema 2 added, shared by [`SCHEMA`] and its migration so a new store and a migrated
/// one cannot differ: the indexes of the report's "failed before" lookups, the reverse DNS
/// cache, the per-run counters.
macro_rules! schema_2_indexes_and_tables {
    () => {
        "CREATE INDEX events_ip ON events(ip, outcome, time_unix);
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
"
    };
}

/// `MIGRATIONS[i]` upgrades schema `i + 1` to `i + 2` (run inside the opening transaction).
const MIGRATIONS: &[&str] = &[
    // 1 -> 2: enrichment and reports: forward confirmation of PTR names, the client's network
    // (/24, /64; IPv6 rows of a version 1 store keep none), and what schema 2 added.
    concat!(
        "ALTER TABLE events ADD COLUMN ptr_confirmed INTEGER;
ALTER TABLE events ADD COLUMN net TEXT;
UPDATE events SET net = rtrim(ip, '0123456789') || '0/24' WHERE ip NOT LIKE '%:%';
DROP INDEX events_ip;
",
        schema_2_indexes_and_tables!()
    ),
];

/// The current schema, for a new store.
const SCHEMA: &str = concat!(
    "
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
    aso TEXT,
    ptr_confirmed INTEGER,
    net TEXT
);
CREATE INDEX events_time ON events(time_unix);
CREATE INDEX events_outcome_time ON events(outcome, time_unix);
CREATE TABLE checkpoints (
    fingerprint TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    offset INTEGER NOT NULL,
    finished INTEGER NOT NULL,
    updated_unix INTEGER NOT NULL
);
CREATE TABLE cursors (source TEXT PRIMARY KEY, cursor TEXT NOT NULL);
",
    schema_2_indexes_and_tables!()
);

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
    if !has_meta {
        tx.execute_batch(SCHEMA).doing("creating the schema")?;
        set_version(tx, SCHEMA_VERSION)?;
        return Ok(());
    }
    let found =
        version(tx)?.ok_or_else(|| StoreError::corrupt("the meta table has no schema_version"))?;
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
                "checkpoints",
                "cursors",
                "dns_cache",
                "events",
                "meta",
                "runs"
            ]
        );
    }

    #[test]
    fn a_version_1_store_gains_the_dns_cache_and_keeps_its_events() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        ensure_on(&mut conn).unwrap();
        // Back to schema 1 as issue 3 wrote it.
        conn.execute_batch(
            "DROP TABLE dns_cache; DROP TABLE runs; DROP INDEX events_failed_net;
             DROP INDEX events_failed_asn; DROP INDEX events_success_user; ALTER TABLE events DROP COLUMN ptr_confirmed;
             ALTER TABLE events DROP COLUMN net;
             UPDATE meta SET value = 1 WHERE key = 'schema_version';
             INSERT INTO events (service, protocol, outcome, ip, attempts)
                 VALUES ('postfix', 'smtp', 'failure', '192.0.2.123', 1),
                        ('postfix', 'smtp', 'failure', '2001:db8::1', 1);",
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

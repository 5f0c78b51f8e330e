//! The embedded store: one SQLite file in the working directory, the source of truth. It holds
//! the events (successes too), the file checkpoints, the journal cursor, the correlator's
//! waiting lines and the exports' committed lengths, all written by one transaction per commit
//! (see the checkpoint protocol in docs/ARCHITECTURE.md).
//!
//! Not here: deciding what to commit (`ingest`), export formats (`sink`).

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::envelope::timestamp::EventTime;
use crate::event::{AuthEvent, Outcome, Protocol, Service};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the store is full: no space left on the device ({0})")]
    Full(rusqlite::Error),
    #[error("store error while {doing}: {source}")]
    Sqlite {
        doing: &'static str,
        source: rusqlite::Error,
    },
    #[error("the store was written by a newer version (schema {0})")]
    NewerSchema(i64),
}

trait Doing<T> {
    fn doing(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Doing<T> for rusqlite::Result<T> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(source),
            _ => StoreError::Sqlite { doing, source },
        })
    }
}

/// Where reading a file stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub fingerprint: String,
    pub path: PathBuf,
    /// Decompressed bytes up to the last complete line consumed.
    pub offset: u64,
    /// A compressed rotation read to its end: never read again.
    pub finished: bool,
}

/// Everything one commit writes, in one transaction.
pub struct Commit<'a> {
    /// New events, each with its source (a file fingerprint, or "journal").
    pub events: &'a [(AuthEvent, String)],
    pub checkpoints: &'a [Checkpoint],
    /// (source, cursor) of the journal.
    pub cursor: Option<(&'a str, &'a str)>,
    pub correlator_state: Option<&'a [u8]>,
    pub csv_len: Option<u64>,
    pub jsonl_len: Option<u64>,
}

/// A stored event with its source and enrichment columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: AuthEvent,
    pub source: String,
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    time_unix INTEGER, time_nanos INTEGER NOT NULL DEFAULT 0, offset_secs INTEGER NOT NULL DEFAULT 0,
    server TEXT, service TEXT NOT NULL, protocol TEXT NOT NULL, outcome TEXT NOT NULL,
    ip TEXT NOT NULL, user BLOB, mechanism TEXT, reason TEXT, attempts INTEGER NOT NULL,
    session TEXT, source TEXT,
    hostname TEXT, reverse_dns_status TEXT, country_code TEXT, asn TEXT, aso TEXT
);
CREATE INDEX IF NOT EXISTS events_time ON events(time_unix);
CREATE INDEX IF NOT EXISTS events_ip ON events(ip);
CREATE INDEX IF NOT EXISTS events_outcome_time ON events(outcome, time_unix);
CREATE TABLE IF NOT EXISTS checkpoints (
    fingerprint TEXT PRIMARY KEY, path TEXT NOT NULL, offset INTEGER NOT NULL,
    finished INTEGER NOT NULL, updated_unix INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (source TEXT PRIMARY KEY, cursor TEXT NOT NULL);
";

pub struct Store {
    conn: Connection,
}

fn service_of(s: &str) -> Service {
    match s {
        "dovecot" => Service::Dovecot,
        _ => Service::Postfix,
    }
}

fn protocol_of(s: &str) -> Protocol {
    [
        Protocol::Smtp,
        Protocol::Submission,
        Protocol::Smtps,
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::ManageSieve,
        Protocol::Lmtp,
    ]
    .into_iter()
    .find(|p| p.as_str() == s)
    .unwrap_or(Protocol::Unknown)
}

impl Store {
    /// Opens (or creates, mode 0640) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o640)
            .open(path)
            .map_err(|e| open_err(Box::new(e)))?;
        let conn = Connection::open(path).map_err(|e| open_err(Box::new(e)))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .doing("setting the busy timeout")?;
        // WAL: readers (reports) never block the run; FULL: a commit survives power loss.
        conn.pragma_update(None, "journal_mode", "WAL")
            .doing("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")
            .doing("setting synchronous")?;
        conn.execute_batch(SCHEMA).doing("creating the schema")?;
        let store = Store { conn };
        match store.meta_int("schema_version")? {
            None => store.set_meta("schema_version", SCHEMA_VERSION)?,
            Some(v) if v > SCHEMA_VERSION => return Err(StoreError::NewerSchema(v)),
            Some(_) => {} // migrations from older schemas go here
        }
        Ok(store)
    }

    fn meta_int(&self, key: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .doing("reading meta")
    }

    fn set_meta(&self, key: &str, value: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .doing("writing meta")?;
        Ok(())
    }

    pub fn checkpoint(&self, fingerprint: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.conn
            .query_row(
                "SELECT fingerprint, path, offset, finished FROM checkpoints WHERE fingerprint = ?1",
                [fingerprint],
                row_checkpoint,
            )
            .optional()
            .doing("reading a checkpoint")
    }

    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT fingerprint, path, offset, finished FROM checkpoints ORDER BY path")
            .doing("reading checkpoints")?;
        stmt.query_map([], row_checkpoint)
            .doing("reading checkpoints")?
            .collect::<rusqlite::Result<_>>()
            .doing("reading checkpoints")
    }

    pub fn cursor(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT cursor FROM cursors WHERE source = ?1",
                [source],
                |r| r.get(0),
            )
            .optional()
            .doing("reading the journal cursor")
    }

    pub fn correlator_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'correlator_state'",
                [],
                |r| r.get(0),
            )
            .optional()
            .doing("reading the correlator state")
    }

    pub fn csv_committed_len(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.meta_int("csv_len")?.map(|v| v as u64))
    }

    pub fn jsonl_committed_len(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.meta_int("jsonl_len")?.map(|v| v as u64))
    }

    /// Writes everything of `c` in one transaction: all of it, or (on error) nothing.
    pub fn commit(&mut self, c: &Commit) -> Result<(), StoreError> {
        let tx = self.conn.transaction().doing("starting a transaction")?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (time_unix, time_nanos, offset_secs, server, service, protocol, outcome, ip, user, mechanism, reason, attempts, session, source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .doing("preparing the event insert")?;
            for (e, source) in c.events {
                insert
                    .execute(params![
                        e.time.map(|t| t.unix),
                        e.time.map_or(0, |t| t.nanos),
                        e.time.map_or(0, |t| t.offset_secs),
                        e.server,
                        e.service.as_str(),
                        e.protocol.as_str(),
                        e.outcome.as_str(),
                        e.ip.to_string(),
                        e.user,
                        e.mechanism,
                        e.reason,
                        e.attempts,
                        e.session,
                        source,
                    ])
                    .doing("storing events")?;
            }
            let now = jiff::Timestamp::now().as_second();
            for cp in c.checkpoints {
                tx.execute(
                    "INSERT INTO checkpoints (fingerprint, path, offset, finished, updated_unix) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(fingerprint) DO UPDATE SET path = excluded.path, offset = excluded.offset, finished = excluded.finished, updated_unix = excluded.updated_unix",
                    params![cp.fingerprint, cp.path.to_string_lossy(), cp.offset as i64, cp.finished, now],
                )
                .doing("storing a checkpoint")?;
            }
            if let Some((source, cursor)) = c.cursor {
                tx.execute(
                    "INSERT INTO cursors (source, cursor) VALUES (?1, ?2) ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor",
                    params![source, cursor],
                )
                .doing("storing the journal cursor")?;
            }
            let mut meta = tx
                .prepare_cached(
                    "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )
                .doing("preparing a meta update")?;
            if let Some(state) = c.correlator_state {
                meta.execute(params!["correlator_state", state])
                    .doing("storing the correlator state")?;
            }
            for (key, len) in [("csv_len", c.csv_len), ("jsonl_len", c.jsonl_len)] {
                if let Some(len) = len {
                    meta.execute(params![key, len as i64])
                        .doing("storing an export length")?;
                }
            }
        }
        tx.commit().doing("committing")
    }

    pub fn event_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .doing("counting events")
    }

    /// Sum of `attempts` of the events with this outcome.
    pub fn attempts(&self, outcome: Outcome) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT coalesce(sum(attempts), 0) FROM events WHERE outcome = ?1",
                [outcome.as_str()],
                |r| r.get(0),
            )
            .doing("summing attempts")
    }

    /// Every stored event, in insertion order.
    pub fn for_each_event(&self, mut f: impl FnMut(StoredEvent)) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT time_unix, time_nanos, offset_secs, server, service, protocol, outcome, ip, user, mechanism, reason, attempts, session, source FROM events ORDER BY id",
            )
            .doing("reading events")?;
        let mut rows = stmt.query([]).doing("reading events")?;
        while let Some(r) = rows.next().doing("reading events")? {
            let ip: String = r.get(7).doing("reading events")?;
            let event = AuthEvent {
                time: r
                    .get::<_, Option<i64>>(0)
                    .doing("reading events")?
                    .map(|unix| -> rusqlite::Result<EventTime> {
                        Ok(EventTime {
                            unix,
                            nanos: r.get(1)?,
                            offset_secs: r.get(2)?,
                        })
                    })
                    .transpose()
                    .doing("reading events")?,
                server: r.get(3).doing("reading events")?,
                service: service_of(&r.get::<_, String>(4).doing("reading events")?),
                protocol: protocol_of(&r.get::<_, String>(5).doing("reading events")?),
                outcome: if r.get::<_, String>(6).doing("reading events")? == "success" {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                ip: ip.parse().map_err(|_| StoreError::Sqlite {
                    doing: "reading events",
                    source: rusqlite::Error::InvalidColumnType(
                        7,
                        "ip".into(),
                        rusqlite::types::Type::Text,
                    ),
                })?,
                user: r.get(8).doing("reading events")?,
                mechanism: r.get(9).doing("reading events")?,
                reason: r.get(10).doing("reading events")?,
                attempts: r.get(11).doing("reading events")?,
                session: r.get(12).doing("reading events")?,
            };
            f(StoredEvent {
                event,
                source: r
                    .get::<_, Option<String>>(13)
                    .doing("reading events")?
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}

fn row_checkpoint(r: &rusqlite::Row) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        fingerprint: r.get(0)?,
        path: PathBuf::from(r.get::<_, String>(1)?),
        offset: r.get::<_, i64>(2)? as u64,
        finished: r.get(3)?,
    })
}

#[cfg(test)]
mod tests;

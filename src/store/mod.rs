//! The embedded store: one SQLite file in the working directory, the source of truth. It holds
//! the events (successes too), the file checkpoints, the journal cursor, the correlator's
//! waiting lines and the exports' committed lengths, all written by one transaction per commit
//! (see the checkpoint protocol in docs/ARCHITECTURE.md): a run killed at any instant leaves the
//! store at its previous commit.
//!
//! Not here: deciding what to commit and when (`ingest`), export formats (`sink`), the schema
//! text and its migrations (`schema`).

mod access;
mod error;
mod query;
mod realtime;
mod schema;

use std::fs::{File, OpenOptions};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::envelope::timestamp::EventTime;
use crate::event::{AuthEvent, Outcome};

pub use access::{EarlierFailures, IngestStore, ReportStore, ServerHealth};
use error::Doing;
pub use error::StoreError;
pub use query::{AddressLookup, INDEX_PER_FOLLOW_PASS, prefix_end};
pub use realtime::{NewDetection, QueuedAlert, Totals};
pub use schema::SCHEMA_VERSION;

/// How long a statement waits for another process's write lock before failing with
/// [`StoreError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const META_CSV_LEN: &str = "csv_len";
const META_JSONL_LEN: &str = "jsonl_len";
const META_CORRELATOR: &str = "correlator_state";
const META_SCHEDULED_UNTIL: &str = "scheduled_report_until";
const META_STORE_ID: &str = "store_id";
const META_SHIPPED: &str = "central_shipped";
/// Sets one `meta` value, inserting the key if it is new.
const UPSERT_META: &str = "INSERT INTO meta(key, value) VALUES (?1, ?2)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value";

/// Where reading a file stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The file's identity (see `source::files`).
    pub fingerprint: String,
    /// Where the file was last seen (informative: the fingerprint identifies it).
    pub path: PathBuf,
    /// Decompressed bytes up to the last complete line consumed.
    pub offset: u64,
    /// A compressed rotation read to its end: never read again.
    pub finished: bool,
}

/// Everything one commit writes, in one transaction. `None` fields leave the stored value as
/// it is.
#[derive(Default)]
pub struct Commit<'a> {
    /// New events, each with its source (a file fingerprint, or "journal").
    pub events: &'a [(AuthEvent, String)],
    /// The enrichment of each event (same order), or empty: columns left `NULL`.
    pub enrichments: &'a [Enrichment],
    /// Reverse DNS answers to cache (insert or replace, by IP).
    pub ptrs: &'a [PtrRecord],
    /// Checkpoints to insert or replace (by fingerprint).
    pub checkpoints: &'a [Checkpoint],
    /// (source, cursor) of the journal.
    pub cursor: Option<(&'a str, &'a str)>,
    /// The correlator's waiting lines, opaque to the store.
    pub correlator_state: Option<&'a [u8]>,
    /// The CSV export's length once this commit's rows are appended.
    pub csv_len: Option<u64>,
    /// The JSON Lines export's length, likewise.
    pub jsonl_len: Option<u64>,
}

/// The enrichment columns of a stored event: `None` when enrichment had nothing (DNS off, no
/// geo database, an address outside every range).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrichment {
    pub hostname: Option<String>,
    pub reverse_dns_status: Option<String>,
    pub country_code: Option<String>,
    pub asn: Option<String>,
    pub aso: Option<String>,
    /// Whether `hostname` resolves back to the address (`None`: not checked).
    pub ptr_confirmed: Option<bool>,
}

/// One cached reverse DNS answer (the `dns_cache` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtrRecord {
    pub ip: IpAddr,
    /// The validated PTR name, when there is one.
    pub hostname: Option<String>,
    /// `reverse_dns_status` (`OK`, `NXDOMAIN`, `Timeout`, ...).
    pub status: String,
    pub confirmed: Option<bool>,
    /// When it was resolved (seconds since the epoch): the TTL counts from here.
    pub resolved_unix: i64,
}

/// What the store knows of one address (see [`Store::ip_summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSummary {
    pub first_seen_unix: Option<i64>,
    pub last_seen_unix: Option<i64>,
    /// Failed attempts, successful logins (sums of `attempts`).
    pub failures: u64,
    pub successes: u64,
    /// Users tried in failed attempts, most tried first (at most 100), with their attempts.
    pub users: Vec<(Vec<u8>, u64)>,
}

/// A stored event: the event, its source and its enrichment columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The row id (insertion order).
    pub id: i64,
    pub event: AuthEvent,
    /// A file fingerprint, or "journal" (empty if the row has none).
    pub source: String,
    pub enrichment: Enrichment,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, creating it (mode 0640) with the current schema if new,
    /// migrating an older schema, refusing a newer one.
    ///
    /// Settings: WAL journal (readers such as reports never block a run, and a run never
    /// blocks them), `synchronous = FULL` (a returned commit survives a power loss), a busy
    /// timeout of 10 s.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let created = !path.exists() && create(path)?;
        let (conn, mode) = connect(path)?;
        if !mode.eq_ignore_ascii_case("wal") {
            log::warn!(
                "{}: the file system refused the WAL journal (journal_mode is {mode}): \
                 reports will wait for runs and runs for reports",
                path.display()
            );
        }
        if created {
            log::debug!("{}: new store created", path.display());
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing store read-only, for commands that only look (check-config, ipinfo):
    /// nothing is written, created or migrated, so the file stays byte-identical. A store of an
    /// older schema is [`StoreError::OlderSchema`]: the next run migrates it.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let conn = read_only_connection(path)?;
        let found = schema::version(&conn).map_err(|e| not_a_store(path, e))?;
        match found {
            Some(v) if v == SCHEMA_VERSION => Ok(Store {
                conn,
                path: path.to_path_buf(),
            }),
            Some(v) if v > SCHEMA_VERSION => Err(StoreError::NewerSchema {
                found: v,
                known: SCHEMA_VERSION,
            }),
            Some(v) => Err(StoreError::OlderSchema { found: v }),
            None => Err(StoreError::corrupt(format!(
                "{}: not a maillogsentinel store (no schema version)",
                path.display()
            ))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored schema version (equal to [`SCHEMA_VERSION`] once opened).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema::version(&self.conn)?
            .ok_or_else(|| StoreError::corrupt("the meta table has no schema_version"))
    }

    /// Where the last scheduled report's window ended (seconds since the epoch): the next one
    /// starts there.
    pub fn scheduled_report_until(&self) -> Result<Option<i64>, StoreError> {
        self.meta_i64(
            META_SCHEDULED_UNTIL,
            "reading the end of the last scheduled report",
        )
    }

    /// Records the end of a scheduled report's window once it is delivered.
    pub fn set_scheduled_report_until(&mut self, until: i64) -> Result<(), StoreError> {
        self.conn
            .execute(UPSERT_META, params![META_SCHEDULED_UNTIL, until])
            .doing("storing the end of the scheduled report")?;
        Ok(())
    }

    /// This store's identity for the central store: a random 128-bit id made when first
    /// asked, kept in `meta`. A store created anew (`--reset`, a lost file) gets another, so
    /// that its event ids, which start again at 1, are never taken for ones already shipped.
    pub fn store_id(&mut self) -> Result<String, StoreError> {
        if let Some(id) = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [META_STORE_ID],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .doing("reading the store id")?
        {
            return Ok(id);
        }
        let id = crate::random::hex(16)
            .map_err(|e| StoreError::corrupt(format!("no randomness for a store id: {e}")))?;
        self.conn
            .execute(UPSERT_META, params![META_STORE_ID, id])
            .doing("storing the store id")?;
        Ok(id)
    }

    /// Calls `f` with each event `SELECT_EVENTS` followed by `tail` (its `WHERE`, `ORDER BY`,
    /// `LIMIT`) finds with `params`: the one loop over event rows.
    fn each_event(
        &self,
        tail: &str,
        params: impl rusqlite::Params,
        doing: &'static str,
        mut f: impl FnMut(StoredEvent),
    ) -> Result<(), StoreError> {
        self.each_event_while(tail, params, doing, |e| {
            f(e);
            true
        })
    }

    /// [`Store::each_event`], stopping once `f` returns false.
    fn each_event_while(
        &self,
        tail: &str,
        params: impl rusqlite::Params,
        doing: &'static str,
        mut f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_EVENTS} {tail}"))
            .doing(doing)?;
        let mut rows = stmt.query(params).doing(doing)?;
        while let Some(r) = rows.next().doing(doing)? {
            if !f(row_event(r)?) {
                break;
            }
        }
        Ok(())
    }

    /// Up to `limit` events with an id above `after`, in id order (the shipping outbox).
    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        self.each_event(
            "WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit as i64],
            "reading events to ship",
            |e| out.push(e),
        )?;
        Ok(out)
    }

    /// Events with an id above `after` (the backlog of the outbox).
    pub fn events_count_after(&self, after: i64) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM events WHERE id > ?1", [after], |r| {
                r.get::<_, i64>(0)
            })
            .doing("counting events to ship")
            .map(|n| n as u64)
    }

    /// The runs with an id above `after`, with their ids, in id order.
    pub fn runs_after(&self, after: i64) -> Result<Vec<(i64, RunCounts)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, finished_unix, lines, events, unmatched, tempfails, aborted
                 FROM runs WHERE id > ?1 ORDER BY id",
            )
            .doing("reading runs to ship")?;
        let rows = stmt
            .query_map([after], |r| {
                Ok((
                    r.get(0)?,
                    RunCounts {
                        finished_unix: r.get(1)?,
                        lines: r.get(2)?,
                        events: r.get(3)?,
                        unmatched: r.get(4)?,
                        tempfails: r.get(5)?,
                        aborted: r.get(6)?,
                        ..RunCounts::default()
                    },
                ))
            })
            .doing("reading runs to ship")?;
        rows.collect::<Result<_, _>>().doing("reading runs to ship")
    }

    /// What the last ship to the central store reached (ids of the last event and run, the
    /// time), as the central store confirmed it; for check-config.
    pub fn shipped(&self) -> Result<Option<(i64, i64, i64)>, StoreError> {
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [META_SHIPPED],
                |r| r.get(0),
            )
            .optional()
            .doing("reading the shipped mark")?;
        Ok(v.and_then(|v| {
            let mut it = v.split(' ').map(|x| x.parse::<i64>().ok());
            Some((it.next()??, it.next()??, it.next()??))
        }))
    }

    /// Records what the central store confirmed (informative: the central store is the truth).
    pub fn set_shipped(&mut self, event: i64, run: i64, at: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                UPSERT_META,
                params![META_SHIPPED, format!("{event} {run} {at}")],
            )
            .doing("storing the shipped mark")?;
        Ok(())
    }

    fn meta_i64(&self, key: &str, doing: &'static str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .doing(doing)
    }

    fn meta_len(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let v = self.meta_i64(key, "reading an export length")?;
        v.map(|v| u64::try_from(v).map_err(|_| StoreError::corrupt(format!("negative {key} {v}"))))
            .transpose()
    }

    /// Number of stored events (rows, not attempts).
    /// `PRAGMA quick_check` (every page and b-tree read, without the slower index-content
    /// comparison): a damaged store is reported as [`StoreError::Corrupt`], with what SQLite
    /// found, instead of being noticed only when a damaged page is next needed.
    pub fn quick_check(&self) -> Result<(), StoreError> {
        check_pages(&self.conn, &self.path, "quick_check")
    }

    /// `PRAGMA integrity_check` through a read-only connection of its own (check-config): it
    /// never writes, migrates or creates anything.
    pub fn verify_read_only(path: &Path) -> Result<(), StoreError> {
        let conn = read_only_connection(path)?;
        check_pages(&conn, path, "integrity_check")
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

    /// Failed attempts stored (sum of `attempts` of the failures).
    pub fn failure_attempts(&self) -> Result<u64, StoreError> {
        self.attempts(Outcome::Failure)
    }

    /// Successful logins stored (sum of `attempts` of the successes).
    pub fn success_attempts(&self) -> Result<u64, StoreError> {
        self.attempts(Outcome::Success)
    }

    /// Calls `f` with every stored event, in insertion order, from one consistent snapshot.
    pub fn for_each_event(&self, f: impl FnMut(StoredEvent)) -> Result<(), StoreError> {
        self.each_event("ORDER BY id", [], "reading events", f)
    }

    /// Number of cached reverse DNS answers.
    pub fn cached_ptr_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM dns_cache", [], |r| r.get(0))
            .doing("counting the DNS cache")
    }

    /// Copies the DNS cache of the store at `other` into this one (keeping this one's entries):
    /// `--reset` starts a new store but keeps what it learnt of the network.
    pub fn import_dns_cache(&mut self, other: &Path) -> Result<u64, StoreError> {
        self.conn
            .execute(
                "ATTACH DATABASE ?1 AS old",
                [other.to_string_lossy().as_ref()],
            )
            .doing("opening the archived store")?;
        let copied = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO dns_cache (ip, hostname, status, confirmed, resolved_unix)
                 SELECT ip, hostname, status, confirmed, resolved_unix FROM old.dns_cache",
                [],
            )
            .doing("copying the DNS cache");
        let detached = self
            .conn
            .execute("DETACH DATABASE old", [])
            .doing("closing the archived store");
        let copied = copied?;
        detached?;
        Ok(copied as u64)
    }

    /// What the store knows of one address, for `ipinfo`: its sums per day, then the users it
    /// tried, read from the events of those days (through the time index).
    pub fn ip_summary(&self, ip: IpAddr) -> Result<IpSummary, StoreError> {
        const DOING: &str = "summarising an address";
        let ip_text = ip.to_string();
        let mut summary = IpSummary {
            first_seen_unix: None,
            last_seen_unix: None,
            failures: 0,
            successes: 0,
            users: Vec::new(),
        };
        let mut failed_days = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, first_unix, last_unix, attempts FROM source_days
                 WHERE kind IN (?1, ?2) AND value = ?3 ORDER BY day",
            )
            .doing(DOING)?;
        let mut rows = stmt
            .query(params![
                SourceKind::FailedIp as i64,
                SourceKind::LoginIp as i64,
                ip_text
            ])
            .doing(DOING)?;
        while let Some(r) = rows.next().doing(DOING)? {
            let (kind, first, last, attempts): (i64, i64, i64, i64) = (
                r.get(0).doing(DOING)?,
                r.get(1).doing(DOING)?,
                r.get(2).doing(DOING)?,
                r.get(3).doing(DOING)?,
            );
            summary.first_seen_unix = Some(summary.first_seen_unix.map_or(first, |f| f.min(first)));
            summary.last_seen_unix = Some(summary.last_seen_unix.map_or(last, |l| l.max(last)));
            if kind == SourceKind::FailedIp as i64 {
                summary.failures += attempts as u64;
                failed_days.push((first, last));
            } else {
                summary.successes += attempts as u64;
            }
        }
        let mut users: std::collections::HashMap<Vec<u8>, u64> = Default::default();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT user, sum(attempts) FROM events INDEXED BY events_time
                 WHERE time_unix >= ?1 AND time_unix <= ?2 AND ip = ?3
                     AND outcome = 'failure' AND user IS NOT NULL
                 GROUP BY user",
            )
            .doing("listing the users an address tried")?;
        for (first, last) in failed_days {
            let day = stmt
                .query_map(params![first, last, ip_text], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
                })
                .doing("listing the users an address tried")?;
            for row in day {
                let (user, n) = row.doing("listing the users an address tried")?;
                *users.entry(user).or_default() += n as u64;
            }
        }
        let mut users: Vec<(Vec<u8>, u64)> = users.into_iter().collect();
        users.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        users.truncate(100);
        summary.users = users;
        Ok(summary)
    }

    /// Every stored event, in insertion order (for tests and small stores: all in memory).
    pub fn events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        self.for_each_event(|e| out.push(e))?;
        Ok(out)
    }
}

const SELECT_EVENTS: &str = "SELECT id, time_unix, time_nanos, offset_secs, server, service,
    protocol, outcome, ip, user, mechanism, reason, attempts, session, source,
    hostname, reverse_dns_status, country_code, asn, aso, ptr_confirmed FROM events";

/// The indexed columns [`Store::failures_before`] looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKey {
    Ip,
    Network,
    Asn,
}

/// What a `source_days` row sums, its `kind` column (schema 3's migration writes the same
/// numbers). Text values but for `LoginUser`, whose value is the user's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SourceKind {
    FailedIp = 0,
    FailedNet = 1,
    FailedAsn = 2,
    LoginIp = 3,
    LoginUser = 4,
    LoginAsn = 7,
    /// Either outcome.
    Country = 8,
    /// Either outcome.
    Server = 9,
}

/// The event column of a [`FailureKey`] and the summary that counts it.
fn key_source(key: FailureKey) -> (&'static str, SourceKind) {
    match key {
        FailureKey::Ip => ("ip", SourceKind::FailedIp),
        FailureKey::Network => ("net", SourceKind::FailedNet),
        FailureKey::Asn => ("asn", SourceKind::FailedAsn),
    }
}

/// The UTC day of a time, as `source_days` numbers them (SQLite's integer division).
fn day_of(unix: i64) -> i64 {
    unix / 86_400
}

/// What one run did, for the parser-health line of reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub finished_unix: i64,
    pub lines: u64,
    pub events: u64,
    /// Auth-related lines no rule took.
    pub unmatched: u64,
    pub tempfails: u64,
    pub aborted: u64,
    /// Reverse DNS lookups sent, and those that timed out.
    pub dns_lookups: u64,
    pub dns_timeouts: u64,
}

fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::corrupt(format!("{what} out of range: {v}")))
}

/// Makes the creation of `path` durable: fsync of its directory.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

fn row_checkpoint(r: &rusqlite::Row) -> rusqlite::Result<Result<Checkpoint, StoreError>> {
    let offset: i64 = r.get(2)?;
    let fingerprint: String = r.get(0)?;
    let path = PathBuf::from(r.get::<_, String>(1)?);
    let finished: bool = r.get(3)?;
    Ok(match u64::try_from(offset) {
        Ok(offset) => Ok(Checkpoint {
            fingerprint,
            path,
            offset,
            finished,
        }),
        Err(_) => Err(StoreError::corrupt(format!(
            "checkpoint {fingerprint} has a negative offset {offset}"
        ))),
    })
}

fn row_event(r: &rusqlite::Row) -> Result<StoredEvent, StoreError> {
    const DOING: &str = "reading events";
    let id: i64 = r.get(0).doing(DOING)?;
    let bad = |column: &str, value: &str| {
        StoreError::corrupt(format!("event {id} has an invalid {column}: {value:?}"))
    };
    let time = match r.get::<_, Option<i64>>(1).doing(DOING)? {
        None => None,
        Some(unix) => Some(EventTime {
            unix,
            nanos: r.get(2).doing(DOING)?,
            offset_secs: r.get(3).doing(DOING)?,
        }),
    };
    let service: String = r.get(5).doing(DOING)?;
    let protocol: String = r.get(6).doing(DOING)?;
    let outcome: String = r.get(7).doing(DOING)?;
    let ip: String = r.get(8).doing(DOING)?;
    let event = AuthEvent {
        time,
        server: r.get(4).doing(DOING)?,
        service: service.parse().map_err(|_| bad("service", &service))?,
        protocol: protocol.parse().map_err(|_| bad("protocol", &protocol))?,
        outcome: outcome.parse().map_err(|_| bad("outcome", &outcome))?,
        ip: ip.parse().map_err(|_| bad("ip", &ip))?,
        user: r.get(9).doing(DOING)?,
        mechanism: r.get(10).doing(DOING)?,
        reason: r.get(11).doing(DOING)?,
        attempts: r.get(12).doing(DOING)?,
        session: r.get(13).doing(DOING)?,
    };
    Ok(StoredEvent {
        id,
        event,
        source: r
            .get::<_, Option<String>>(14)
            .doing(DOING)?
            .unwrap_or_default(),
        enrichment: Enrichment {
            hostname: r.get(15).doing(DOING)?,
            reverse_dns_status: r.get(16).doing(DOING)?,
            country_code: r.get(17).doing(DOING)?,
            asn: r.get(18).doing(DOING)?,
            aso: r.get(19).doing(DOING)?,
            ptr_confirmed: r.get(20).doing(DOING)?,
        },
    })
}

#[cfg(test)]
mod tests;

/// A damaged-store error says which file and that it may not be a store at all.
fn not_a_store(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Corrupt { message } => StoreError::corrupt(format!(
            "{}: not a maillogsentinel store, or damaged ({message})",
            path.display()
        )),
        e => e,
    }
}

/// Makes a new store at `path` whole before any process can open it: it is built (page size,
/// WAL, schema) under a name of its own beside it, then hard-linked into place, which fails
/// if another process's store got there first; that one is then used. Opening one empty file
/// from two processes instead lets one switch it to WAL while the other fails with "database is
/// locked" or gives it SQLite's default page size, and a read-only opener (a report) would find
/// no schema. A kill during the build leaves the hidden file, never a half store at `path`.
/// Returns whether this process's store is the one in place.
fn create(path: &Path) -> Result<bool, StoreError> {
    let open_err = |source: std::io::Error| StoreError::open(path, source);
    /// Tells apart the stores that threads of this process build at once.
    static BUILT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = BUILT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".new-{}-{n}", std::process::id()));
    let building = path.with_file_name(name);
    // Created here rather than by SQLite so that the mode is 0640 whatever the umask allows
    // more of; SQLite gives its -wal and -shm files the mode of the database.
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(&building)
        .map_err(open_err)?;
    let built = connect(&building).and_then(|(conn, _)| {
        // Closing the only connection moves the WAL into the file and removes the -wal.
        conn.close()
            .map_err(|(_, e)| StoreError::sqlite("closing the new store", e))
    });
    let linked = built.and_then(|()| {
        file.sync_all().map_err(open_err)?;
        match std::fs::hard_link(&building, path) {
            Ok(()) => sync_parent(path).map(|()| true).map_err(open_err),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(open_err(e)),
        }
    });
    for leftover in ["", "-wal", "-shm"] {
        let mut p = building.clone().into_os_string();
        p.push(leftover);
        let _ = std::fs::remove_file(p);
    }
    linked
}

/// A connection to the store at `path` with the settings of [`Store::open`], its schema
/// created or migrated, and the journal mode the file system allowed.
fn connect(path: &Path) -> Result<(Connection, String), StoreError> {
    /// Bytes per page of a new store: the appends of a run's events cost a tenth less than
    /// with SQLite's 4 KiB (fewer page splits and WAL frames). Set before the first table and
    /// the WAL mode; an existing store keeps its page size.
    const PAGE_SIZE: i64 = 16 << 10;
    let mut conn = Connection::open(path).map_err(|e| StoreError::open(path, e))?;
    let not_a_store = |e| not_a_store(path, e);
    conn.busy_timeout(BUSY_TIMEOUT)
        .doing("setting the busy timeout")?;
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .doing("setting the page size")?;
    let journal_mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .doing("enabling the WAL journal")
        .map_err(not_a_store)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .doing("setting synchronous = FULL")?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .doing("opening the store")
        .map_err(not_a_store)?;
    schema::ensure(&tx).map_err(not_a_store)?;
    tx.commit().doing("creating the schema")?;
    Ok((conn, journal_mode))
}

/// A connection that cannot write: no schema work, no migration (SQLite may leave an empty
/// -wal beside a checkpointed store).
fn read_only_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::open(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .doing("setting the busy timeout")?;
    Ok(conn)
}

/// Runs `PRAGMA {pragma}` and turns anything but `ok` into [`StoreError::Corrupt`].
fn check_pages(conn: &Connection, path: &Path, pragma: &str) -> Result<(), StoreError> {
    let damaged = |found: String| not_a_store(path, StoreError::corrupt(found));
    let classify =
        |e: rusqlite::Error| not_a_store(path, StoreError::sqlite("checking the store", e));
    let found: Vec<String> = conn
        .prepare(&format!("PRAGMA {pragma}(20)"))
        .and_then(|mut stmt| stmt.query_map([], |r| r.get::<_, String>(0))?.collect())
        .map_err(classify)?;
    if found.len() == 1 && found[0] == "ok" {
        Ok(())
    } else {
        Err(damaged(found.join("; ")))
    }
}

//! The store's side of the real-time mode: the detector's cursor and restored windows, the
//! detections and their delivery queue, and the totals metrics read.
//!
//! Not here: what a detection is (`policy`), how an alert is sent (`alert::deliver`).

use std::collections::HashSet;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::error::Doing;
use super::{Store, StoreError, StoredEvent, UPSERT_META};

const META_DETECTED: &str = "detected_up_to";

/// A detection to store: the hold-off key (`kind`, `source`), what a blocklist lists, the
/// time of its line and the alert's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDetection {
    pub kind: &'static str,
    pub source: String,
    pub block: Option<String>,
    pub time_unix: i64,
    pub alert: String,
}

/// One delivery waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedAlert {
    pub detection: i64,
    pub channel: String,
    pub attempts: u32,
    pub alert: String,
    /// The detection's line time.
    pub time_unix: i64,
}

/// Totals of the store for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// (service, protocol, outcome, attempts).
    pub attempts: Vec<(String, String, String, u64)>,
    /// Over every recorded run: lines, unmatched, tempfails.
    pub lines: u64,
    pub unmatched: u64,
    pub tempfails: u64,
    pub dns_lookups: u64,
    pub dns_timeouts: u64,
    pub runs: u64,
    pub last_run_unix: Option<i64>,
    /// (channel, sent, failed).
    pub alerts: Vec<(String, u64, u64)>,
    /// Deliveries waiting.
    pub queued: u64,
    /// Detections by kind.
    pub detections: Vec<(String, u64)>,
}

impl Store {
    /// The last event id the detector looked at.
    pub fn detected_up_to(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta_i64(META_DETECTED, "reading the detector's cursor")?
            .unwrap_or(0))
    }

    /// The time of the last dated event up to id `up_to` (where the detector stopped).
    pub fn last_time_up_to(&self, up_to: i64) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT time_unix FROM events WHERE id <= ?1 AND time_unix IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
                [up_to],
                |r| r.get(0),
            )
            .optional()
            .doing("reading the detector's last event")
    }

    /// The events with a time from `from_unix` on and an id up to `up_to`, in id order: what
    /// the detector had seen before it stopped.
    pub fn events_seen_since(
        &self,
        from_unix: i64,
        up_to: i64,
        f: impl FnMut(StoredEvent),
    ) -> Result<(), StoreError> {
        self.each_event(
            "WHERE time_unix >= ?1 AND id <= ?2 ORDER BY id",
            params![from_unix, up_to],
            "reading recent events",
            f,
        )
    }

    /// Up to `limit` events with an id in `after + 1..=up_to` and a time from `from_unix` on, in
    /// id order (older or undated ones are skipped by SQLite, never read).
    pub fn events_to_detect(
        &self,
        after: i64,
        up_to: i64,
        from_unix: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        // By id, whatever statistics say: the time index would read and sort every event
        // since the horizon (a day and more) at every look of follow.
        self.each_event(
            "NOT INDEXED WHERE id > ?1 AND id <= ?2 AND time_unix >= ?3 ORDER BY id LIMIT ?4",
            params![after, up_to, from_unix, limit as i64],
            "reading events to look at",
            |e| out.push(e),
        )?;
        Ok(out)
    }

    /// Whether an event has a time from `from_unix` on (the time index: instant).
    pub fn has_events_since(&self, from_unix: i64) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT 1 FROM events WHERE time_unix >= ?1 LIMIT 1",
                [from_unix],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .doing("reading recent events")
    }

    /// The highest event id (0 for no events).
    pub fn last_event_id(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))
            .doing("reading the last event id")
    }

    /// The latest detection time of each (kind, source) from `from_unix` on (the hold-offs).
    pub fn recent_detections(
        &self,
        from_unix: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        const DOING: &str = "reading recent detections";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT kind, source, max(time_unix) FROM detections WHERE time_unix >= ?1
                 GROUP BY kind, source",
            )
            .doing(DOING)?;
        stmt.query_map([from_unix], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .doing(DOING)?
            .collect::<Result<_, _>>()
            .doing(DOING)
    }

    /// Stores `found`, queues each one with a time from `send_from` on for every channel, and
    /// moves the cursor to `up_to`: one transaction, so a kill neither loses nor repeats one.
    pub fn save_detections(
        &mut self,
        found: &[NewDetection],
        channels: &[&str],
        send_from: i64,
        now: i64,
        up_to: i64,
    ) -> Result<(), StoreError> {
        const DOING: &str = "storing detections";
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .doing(DOING)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO detections (kind, source, block, time_unix, alert)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .doing(DOING)?;
            let mut queue = tx
                .prepare_cached(
                    "INSERT INTO alert_queue (detection, channel, next_unix) VALUES (?1, ?2, ?3)",
                )
                .doing(DOING)?;
            for d in found {
                insert
                    .execute(params![d.kind, d.source, d.block, d.time_unix, d.alert])
                    .doing(DOING)?;
                let id = tx.last_insert_rowid();
                if d.time_unix >= send_from {
                    for c in channels {
                        queue.execute(params![id, c, now]).doing(DOING)?;
                    }
                }
            }
            tx.execute(UPSERT_META, params![META_DETECTED, up_to])
                .doing(DOING)?;
        }
        tx.commit().doing(DOING)
    }

    /// Deliveries due at `now`, oldest first.
    pub fn due_alerts(&self, now: i64, limit: usize) -> Result<Vec<QueuedAlert>, StoreError> {
        const DOING: &str = "reading the alert queue";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT q.detection, q.channel, q.attempts, d.alert, d.time_unix
                 FROM alert_queue q JOIN detections d ON d.id = q.detection
                 WHERE q.next_unix <= ?1 ORDER BY q.detection, q.channel LIMIT ?2",
            )
            .doing(DOING)?;
        stmt.query_map(params![now, limit as i64], |r| {
            Ok(QueuedAlert {
                detection: r.get(0)?,
                channel: r.get(1)?,
                attempts: r.get(2)?,
                alert: r.get(3)?,
                time_unix: r.get(4)?,
            })
        })
        .doing(DOING)?
        .collect::<Result<_, _>>()
        .doing(DOING)
    }

    /// The earliest time a queued delivery is due, if any is queued.
    pub fn next_alert_due(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT min(next_unix) FROM alert_queue", [], |r| r.get(0))
            .optional()
            .map(Option::flatten)
            .doing("reading the alert queue")
    }

    /// A delivery's outcome: `Ok` sent (out of the queue); `Err(Some(next))` failed, retried
    /// at `next`; `Err(None)` failed for the last time (out of the queue, counted failed).
    pub fn alert_tried(
        &mut self,
        a: &QueuedAlert,
        outcome: Result<(), (Option<i64>, &str)>,
    ) -> Result<(), StoreError> {
        const DOING: &str = "updating the alert queue";
        let tx = self.conn.transaction().doing(DOING)?;
        match outcome {
            Err((Some(next), error)) => {
                tx.execute(
                    "UPDATE alert_queue SET attempts = attempts + 1, next_unix = ?3,
                         last_error = ?4 WHERE detection = ?1 AND channel = ?2",
                    params![a.detection, a.channel, next, error],
                )
                .doing(DOING)?;
            }
            done => {
                tx.execute(
                    "DELETE FROM alert_queue WHERE detection = ?1 AND channel = ?2",
                    params![a.detection, a.channel],
                )
                .doing(DOING)?;
                let (sent, failed) = if done.is_ok() { (1, 0) } else { (0, 1) };
                tx.execute(
                    "INSERT INTO alert_counts (channel, sent, failed) VALUES (?1, ?2, ?3)
                     ON CONFLICT (channel) DO UPDATE SET sent = sent + excluded.sent,
                         failed = failed + excluded.failed",
                    params![a.channel, sent, failed],
                )
                .doing(DOING)?;
            }
        }
        tx.commit().doing(DOING)
    }

    /// Every detection of one of `sources` (an address, its network, a user): (kind, source,
    /// time), oldest first, at most `limit` of the latest.
    pub fn detections_of(
        &self,
        sources: &[&str],
        limit: usize,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        const DOING: &str = "reading detections";
        let marks = vec!["?"; sources.len()].join(", ");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT kind, source, time_unix FROM (SELECT kind, source, time_unix, id
                 FROM detections WHERE source IN ({marks}) ORDER BY id DESC LIMIT {limit})
                 ORDER BY id"
            ))
            .doing(DOING)?;
        stmt.query_map(rusqlite::params_from_iter(sources), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .doing(DOING)?
        .collect::<Result<_, _>>()
        .doing(DOING)
    }

    /// Detections with something to block from `from_unix` on: (kind, block, time), oldest
    /// first.
    pub fn blockable_detections(
        &self,
        from_unix: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        const DOING: &str = "reading detections";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT kind, block, time_unix FROM detections
                 WHERE time_unix >= ?1 AND block IS NOT NULL ORDER BY time_unix",
            )
            .doing(DOING)?;
        stmt.query_map([from_unix], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .doing(DOING)?
            .collect::<Result<_, _>>()
            .doing(DOING)
    }

    /// The addresses with a successful login from `from_unix` on.
    pub fn login_addresses_since(&self, from_unix: i64) -> Result<HashSet<String>, StoreError> {
        const DOING: &str = "reading recent logins";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT value FROM source_days WHERE kind = ?1 AND day >= ?2
                     AND last_unix >= ?3",
            )
            .doing(DOING)?;
        stmt.query_map(
            params![
                super::SourceKind::LoginIp as i64,
                super::day_of(from_unix),
                from_unix
            ],
            |r| r.get(0),
        )
        .doing(DOING)?
        .collect::<Result<_, _>>()
        .doing(DOING)
    }

    /// What the metrics show.
    pub fn totals(&self) -> Result<Totals, StoreError> {
        const DOING: &str = "reading totals";
        let c = &self.conn;
        let mut totals = c
            .query_row(
                "SELECT coalesce(sum(lines), 0), coalesce(sum(unmatched), 0),
                     coalesce(sum(tempfails), 0), coalesce(sum(dns_lookups), 0),
                     coalesce(sum(dns_timeouts), 0), count(*), max(finished_unix) FROM runs",
                [],
                |r| {
                    Ok(Totals {
                        lines: r.get(0)?,
                        unmatched: r.get(1)?,
                        tempfails: r.get(2)?,
                        dns_lookups: r.get(3)?,
                        dns_timeouts: r.get(4)?,
                        runs: r.get(5)?,
                        last_run_unix: r.get(6)?,
                        ..Totals::default()
                    })
                },
            )
            .doing(DOING)?;
        totals.attempts = c
            .prepare(
                "SELECT service, protocol, outcome, attempts FROM attempt_totals ORDER BY 1, 2, 3",
            )
            .doing(DOING)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .doing(DOING)?
            .collect::<Result<_, _>>()
            .doing(DOING)?;
        totals.alerts = c
            .prepare("SELECT channel, sent, failed FROM alert_counts ORDER BY channel")
            .doing(DOING)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .doing(DOING)?
            .collect::<Result<_, _>>()
            .doing(DOING)?;
        totals.queued = c
            .query_row("SELECT count(*) FROM alert_queue", [], |r| r.get(0))
            .doing(DOING)?;
        totals.detections = c
            .prepare("SELECT kind, count(*) FROM detections GROUP BY kind ORDER BY kind")
            .doing(DOING)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .doing(DOING)?
            .collect::<Result<_, _>>()
            .doing(DOING)?;
        Ok(totals)
    }
}

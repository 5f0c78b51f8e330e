//! The real-time side, after the ingestion's commits: detections over the newly stored
//! events (the detections, their queued alerts and the detector's cursor in one transaction:
//! exactly once across kills), the blocklist file, the metrics file. Follow mode keeps one
//! [`Realtime`] across its passes; a default run makes one at its end.
//!
//! Not here: the rules (`policy`), sending (`alert::deliver`), formats (`blocklist`,
//! `metrics`).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use log::{error, info, warn};

use crate::alert::{Kind, deliver};
use crate::blocklist::{self, Entry};
use crate::config::Config;
use crate::metrics::{self, Live};
use crate::policy::{Detector, secs};
use crate::store::{NewDetection, Store, StoreError};

/// Events read from the store at a time.
const BATCH: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the blocklist's reload_command `{command}` failed: {message}")]
    Reload { command: String, message: String },
}

/// How often the blocklist is recomputed without a new detection (entries expire, logins
/// spare addresses).
const BLOCKLIST_EVERY: Duration = Duration::from_secs(30);

pub struct Realtime {
    detector: Detector,
    cursor: i64,
    channels: Vec<&'static str>,
    /// The blocklist entries last written (`None`: not written by this process yet), and
    /// when they were computed.
    written: Option<(Vec<Entry>, Instant)>,
    /// A detection since the blocklist was last computed.
    detected: bool,
}

/// Lines older than this can neither be sent (`max_age`) nor listed (`ban_time`), nor weigh
/// on a line that can (the longest window): the detector skips them, so a first run over
/// months of logs costs it nothing.
fn horizon(config: &Config, now: i64) -> i64 {
    let reach = config.alerts.max_age.max(config.blocklist.ban_time);
    now.saturating_sub(secs(config.policy.longest_window()))
        .saturating_sub(secs(reach))
}

impl Realtime {
    /// Rebuilds the windows from the events the detector had seen (those of the longest
    /// window before the last of them: the log's time, which after downtime or with a
    /// lagging clock is not the wall clock's) and the hold-offs from the stored detections.
    pub fn open(store: &Store, config: &Config, now: i64) -> Result<Realtime, StoreError> {
        let mut detector = Detector::new(&config.policy, config.alerts.hold_off);
        let cursor = store.detected_up_to()?;
        let last = store.last_time_up_to(cursor)?.unwrap_or(now);
        let from = (last - secs(config.policy.longest_window())).max(horizon(config, now));
        store.events_seen_since(from, cursor, |e| {
            detector.observe(&e, false);
        })?;
        for (kind, source, t) in store.recent_detections(last - secs(config.alerts.hold_off))? {
            if let Some(kind) = Kind::named(&kind) {
                detector.hold(kind, source, t);
            }
        }
        Ok(Realtime {
            detector,
            cursor,
            channels: deliver::channels(config),
            written: None,
            detected: false,
        })
    }

    /// Detections over the events stored since the last call; how many were found.
    pub fn detect(
        &mut self,
        store: &mut Store,
        config: &Config,
        now: i64,
    ) -> Result<usize, StoreError> {
        let send_from = now - secs(config.alerts.max_age);
        let from = horizon(config, now);
        let end = store.last_event_id()?;
        let mut total = 0;
        // Only old lines (a first run over old logs): nothing to look at.
        if self.cursor < end && !store.has_events_since(from)? {
            store.save_detections(&[], &self.channels, send_from, now, end)?;
            self.cursor = end;
        }
        while self.cursor < end {
            let events = store.events_to_detect(self.cursor, end, from, BATCH)?;
            // The rest is older than the horizon: looked at, nothing to find.
            let last = match events.last() {
                Some(e) if events.len() == BATCH => e.id,
                _ => end,
            };
            let mut found = Vec::new();
            for e in &events {
                for d in self.detector.observe(e, true) {
                    if d.time_unix < send_from {
                        info!(
                            "{}: {} (in old lines: not sent)",
                            d.alert.title(),
                            d.alert.text()
                        );
                    } else {
                        warn!("{}: {}", d.alert.title(), d.alert.text());
                    }
                    found.push(NewDetection {
                        kind: d.alert.kind.as_str(),
                        source: d.source,
                        block: d.block.map(|b| b.to_string()),
                        time_unix: d.time_unix,
                        alert: serde_json::to_string(&d.alert)
                            .map_err(|e| StoreError::corrupt(format!("an alert as JSON: {e}")))?,
                    });
                }
            }
            store.save_detections(&found, &self.channels, send_from, now, last)?;
            self.cursor = last;
            total += found.len();
        }
        self.detected |= total > 0;
        Ok(total)
    }

    /// Rewrites `[blocklist] path` when its entries changed (and then runs `reload_command`);
    /// returns the number of entries.
    pub fn refresh_blocklist(
        &mut self,
        store: &Store,
        config: &Config,
        now: i64,
    ) -> Result<Option<u64>, RealtimeError> {
        let Some(path) = &config.blocklist.path else {
            return Ok(None);
        };
        if let Some((entries, at)) = &self.written
            && !self.detected
            && at.elapsed() < BLOCKLIST_EVERY
        {
            return Ok(Some(entries.len() as u64));
        }
        let entries = blocklist::entries(store, config, now)?;
        let n = entries.len() as u64;
        self.detected = false;
        if let Some((written, at)) = &mut self.written
            && *written == entries
        {
            *at = Instant::now();
            return Ok(Some(n));
        }
        let text = blocklist::render(&entries, config.blocklist.format, now);
        crate::setup::write_atomic(path, text.as_bytes(), 0o644).map_err(|source| {
            RealtimeError::Write {
                path: path.clone(),
                source,
            }
        })?;
        info!("blocklist {}: {n} entries", path.display());
        self.written = Some((entries, Instant::now()));
        if let Some(cmd) = &config.blocklist.reload_command {
            run_reload(cmd)?;
        }
        Ok(Some(n))
    }
}

fn run_reload(cmd: &str) -> Result<(), RealtimeError> {
    let out = Command::new("/bin/sh")
        .args(["-c", cmd])
        .output()
        .map_err(|e| RealtimeError::Reload {
            command: cmd.to_owned(),
            message: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(RealtimeError::Reload {
        command: cmd.to_owned(),
        message: format!(
            "{}: {}",
            out.status,
            crate::sink::printable(String::from_utf8_lossy(&out.stderr).trim().as_bytes())
        ),
    })
}

/// Writes `[metrics] textfile`, if configured.
pub fn write_metrics_file(
    store: &Store,
    config: &Config,
    live: &Live,
) -> Result<(), RealtimeError> {
    let Some(path) = &config.metrics.textfile else {
        return Ok(());
    };
    let text = metrics::render(&store.totals()?, live);
    crate::setup::write_atomic(path, text.as_bytes(), 0o644).map_err(|source| {
        RealtimeError::Write {
            path: path.clone(),
            source,
        }
    })
}

/// The end of a default run: detections, the alerts due (one try each; what fails waits for
/// the next run), the blocklist and the metrics file. A step that fails does not keep the
/// others from running; the first failure is returned.
pub fn after_run(store: &mut Store, config: &Config) -> Result<(), RealtimeError> {
    let now = jiff::Timestamp::now().as_second();
    let mut rt = Realtime::open(store, config, now)?;
    rt.detect(store, config, now)?;
    let sent = deliver::deliver_due(store, config, now, usize::MAX)?;
    if sent.failed > 0 {
        error!(
            "{} alert deliveries failed: retried at the next run",
            sent.failed
        );
    }
    let entries = rt.refresh_blocklist(store, config, now);
    let live = Live {
        blocklist_entries: entries.as_ref().ok().copied().flatten(),
        ..Live::default()
    };
    let metrics = write_metrics_file(store, config, &live);
    entries.and(metrics)
}

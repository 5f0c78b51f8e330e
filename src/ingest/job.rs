//! The extraction job of a working directory: opens its store, CSV and JSONL export (repairing
//! what a killed run left, reconciling a CSV the store does not know), runs the ingestion of
//! the configured mail log (files or journal) and records the run. What the default run and
//! the report's scan before reporting do.
//!
//! Not here: the lock and the logger (the caller holds and installs them), the command line.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use log::{info, warn};

use super::{IngestError, Outputs, RunOptions, RunReport};
use crate::config::{Config, MailLog};
use crate::enrich::{EnrichStats, Enricher};
use crate::sink::{JsonlExport, LegacyCsv, Repair};
use crate::source::journal::{JournalFollower, JournalQuery};
use crate::store::{Commit, INDEX_PER_FOLLOW_PASS, IngestStore, RunCounts, Store};
use crate::workdir::WorkDir;

/// How one extraction runs (the run's command-line options).
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// On the first run, start at the end of the logs instead of reading all rotated files.
    pub from_end: bool,
    /// Also export every event as JSON Lines here (overrides `[paths] jsonl_export`).
    pub jsonl: Option<PathBuf>,
    /// A progress line on stderr (when it is a terminal).
    pub progress: bool,
    /// No reverse DNS lookups.
    pub no_dns: bool,
}

/// Stores up to this size are checked page by page at every run; larger ones once a day.
const CHECK_EVERY_RUN_BYTES: u64 = 512 << 20;

fn export_error(path: &Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Export {
        path: path.to_path_buf(),
        source,
    }
}

fn report_repair(what: &Path, repair: &Repair) {
    match repair {
        Repair::None | Repair::Created => {}
        Repair::CutTail { bytes } => warn!(
            "{}: cut {bytes} bytes written by a run that did not finish",
            what.display()
        ),
        Repair::Shorter { committed, actual } => warn!(
            "{}: {actual} bytes, shorter than the {committed} committed: edited by hand? appending at its end",
            what.display()
        ),
        Repair::Adopted { cut } => info!(
            "{}: adopted as it is{}",
            what.display(),
            if *cut > 0 {
                format!(" (cut an unfinished last line of {cut} bytes)")
            } else {
                String::new()
            }
        ),
    }
}

/// Notices a damaged store at the next run, not when a damaged page is next needed (which a
/// run with nothing new may never do): `PRAGMA quick_check`, ~0.1 s per 100 MB.
fn check_store(dir: &WorkDir, store: &Store) -> Result<(), IngestError> {
    let marker = dir.checked_marker();
    let size = std::fs::metadata(store.path()).map_or(0, |m| m.len());
    let recent = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < std::time::Duration::from_secs(24 * 3600));
    if size > CHECK_EVERY_RUN_BYTES && recent {
        return Ok(());
    }
    store.quick_check()?;
    if size > CHECK_EVERY_RUN_BYTES {
        std::fs::write(&marker, b"").map_err(export_error(&marker))?;
    }
    Ok(())
}

/// The CSV, reconciled when it holds rows the store does not account for (the store was
/// deleted, or the CSV is the old tool's), so that reading the logs again does not double it.
/// The marker keeps reconciling across runs until one finishes (a run killed halfway).
fn open_csv(
    dir: &WorkDir,
    config: &Config,
    store: &Store,
) -> Result<(LegacyCsv, PathBuf), IngestError> {
    let csv_path = dir.csv();
    let (mut csv, repair) = LegacyCsv::open(
        &csv_path,
        store.csv_committed_len()?,
        config.general.csv_date_format,
    )
    .map_err(export_error(&csv_path))?;
    report_repair(&csv_path, &repair);
    let marker = dir.reconcile_marker();
    let fresh_store = store.checkpoints()?.is_empty()
        && store.cursor(super::JOURNAL_SOURCE)?.is_none()
        && store.event_count()? == 0;
    if fresh_store && matches!(repair, Repair::Adopted { .. }) {
        std::fs::write(&marker, b"").map_err(export_error(&marker))?;
    }
    if marker.exists() {
        let stored = store.events()?;
        let left = csv
            .reconcile(stored.iter().map(|s| &s.event))
            .map_err(export_error(&csv_path))?;
        warn!(
            "{}: {left} rows are not accounted for by the store (it was deleted, or the CSV is the old tool's): rows already there are not written again when the logs are read again",
            csv_path.display()
        );
    }
    Ok((csv, marker))
}

/// A working directory opened for extraction: its store, exports and enricher, with what a
/// killed run left repaired.
struct Extraction {
    dir: WorkDir,
    store: Store,
    csv: LegacyCsv,
    /// Present while a CSV the store does not account for is being reconciled.
    reconcile_marker: PathBuf,
    jsonl: Option<JsonlExport>,
    enricher: Enricher,
    /// The enricher's counters at the last record (follow records every minute).
    recorded_dns: EnrichStats,
}

impl Extraction {
    fn open(config: &Config, opts: &JobOptions) -> Result<Extraction, IngestError> {
        let dir = WorkDir::of(config);
        let mut store = Store::open(&dir.store())?;
        check_store(&dir, &store)?;
        let (csv, reconcile_marker) = open_csv(&dir, config, &store)?;
        let jsonl = open_jsonl(config, opts, &store)?;
        adopt_lengths(&mut store, &csv, jsonl.as_ref())?;
        let (enricher, warnings) = Enricher::from_config(config, opts.no_dns);
        for w in &warnings {
            warn!("{w}");
        }
        Ok(Extraction {
            dir,
            store,
            csv,
            reconcile_marker,
            jsonl,
            enricher,
            recorded_dns: EnrichStats::default(),
        })
    }

    /// One incremental pass over the configured source (in follow mode over the journal:
    /// over what `journal` has handed over).
    fn pass(
        &mut self,
        config: &Config,
        opts: &JobOptions,
        journal: Option<&mut JournalFollower>,
    ) -> Result<RunReport, IngestError> {
        let mut outputs = Outputs {
            store: &mut self.store,
            csv: &mut self.csv,
            jsonl: self.jsonl.as_mut(),
            enricher: Some(&mut self.enricher),
        };
        match journal {
            Some(f) => super::follow_journal(f, config.time_zone(), &mut outputs),
            None => ingest(config, opts, &mut outputs),
        }
    }

    /// Records what `report` (one pass, or a follow's passes since the last record) did.
    fn record(&mut self, report: &RunReport, took: std::time::Duration) -> Result<(), IngestError> {
        let s = &report.stats;
        let dns = &self.enricher.stats;
        self.store.record_run(&RunCounts {
            dns_lookups: dns.looked_up - self.recorded_dns.looked_up,
            dns_timeouts: dns.timeouts - self.recorded_dns.timeouts,
            finished_unix: jiff::Timestamp::now().as_second(),
            lines: s.lines,
            events: report.events_stored,
            unmatched: s.unmatched,
            tempfails: s.ambiguous,
            aborted: s.aborted,
        })?;
        self.recorded_dns = *dns;
        log_summary(report, took, &self.enricher);
        if self.reconcile_marker.exists() {
            if self.csv.already_there > 0 {
                info!(
                    "{}: {} rows were already there and were not written again",
                    self.dir.csv().display(),
                    self.csv.already_there
                );
            }
            std::fs::remove_file(&self.reconcile_marker)
                .map_err(export_error(&self.reconcile_marker))?;
        }
        for d in &report.damaged {
            warn!("{d}: could not be read whole; the lines before the damage are stored");
        }
        Ok(())
    }
}

/// The incremental extraction into `config`'s working directory, for a locked run.
/// Returns the store, for what follows the commits (`realtime::after_run`).
pub fn run(config: &Config, opts: &JobOptions) -> Result<Store, IngestError> {
    let mut x = Extraction::open(config, opts)?;
    let started = Instant::now();
    let report = x.pass(config, opts, None)?;
    x.store.index_pending(report.events_stored, i64::MAX)?;
    x.record(&report, started.elapsed())?;
    Ok(x.store)
}

/// How often follow mode looks for new lines without inotify (each look commits what it
/// read); with inotify, it looks when the log's directory changes.
const FOLLOW_POLL: Duration = Duration::from_millis(250);
/// With inotify: the least time between two looks (a busy log changes all the time, and a
/// look costs its setup, some milliseconds, however little it reads).
const FOLLOW_MIN_GAP: Duration = Duration::from_millis(300);
/// With inotify: the most time between two looks (a change it missed, a file system it does
/// not see).
const FOLLOW_IDLE: Duration = Duration::from_secs(5);
/// How often follow mode records a run (the report's parser health): its passes summed.
const FOLLOW_RECORD_EVERY: Duration = Duration::from_secs(60);

/// Follow mode, for a locked run: passes over the configured source when its files change
/// (inotify; every [`FOLLOW_POLL`] without), each committing what it read (the checkpoint
/// protocol of the default run, so a kill loses and doubles nothing), until `stop` is set.
/// `alive` is called once the store is open and after every pass (the service manager's
/// readiness and watchdog); `after_pass` gets the store and what the passes did since the
/// last record (the real-time side); runs are recorded every minute and at the end, each
/// time followed by `recorded` (shipping).
pub fn follow(
    config: &Config,
    opts: &JobOptions,
    stop: &AtomicBool,
    mut alive: impl FnMut(),
    mut after_pass: impl FnMut(&mut Store, &RunReport),
    mut recorded: impl FnMut(&Store),
) -> Result<(), IngestError> {
    let mut x = Extraction::open(config, opts)?;
    let mut opts = JobOptions {
        progress: false,
        ..opts.clone()
    };
    let mut since = Instant::now();
    let mut summed = RunReport::default();
    let mut changes = watch(&config.paths.mail_log);
    // Ready once the store is open: the first pass may be a long backlog.
    alive();
    loop {
        let passed = Instant::now();
        let journal = match &mut changes {
            Changes::Journal(f) => Some(f),
            _ => None,
        };
        let pass = x.pass(config, &opts, journal)?;
        // The journal: after the first pass (to the journal's end, or --from-end), entries as
        // journald writes them, from the committed cursor on.
        if matches!(changes, Changes::Poll) && config.paths.mail_log == MailLog::Journal {
            let cursor = x.store.cursor(super::JOURNAL_SOURCE)?;
            changes = Changes::Journal(journal_query(config).follow_after(cursor.as_deref())?);
        }
        // --from-end is for the first pass only: later passes read what is written.
        opts.from_end = false;
        let stored = pass.events_stored;
        summed.add(pass);
        after_pass(&mut x.store, &summed);
        // After the alerts, and a bounded part: new lines wait for it.
        x.store.index_pending(stored, INDEX_PER_FOLLOW_PASS)?;
        alive();
        let stopping = stop.load(Ordering::SeqCst);
        if stopping || since.elapsed() >= FOLLOW_RECORD_EVERY {
            x.record(&summed, since.elapsed())?;
            recorded(&x.store);
            summed = RunReport::default();
            since = Instant::now();
        }
        if stopping {
            return Ok(());
        }
        wait_for_change(&mut changes, passed, stop);
    }
}

/// What tells follow mode that there is something new: inotify on the log's directory
/// (`notify`), the journal's `journalctl --follow`, or nothing (polling: the journal's first
/// pass, or inotify out of instances or watches).
enum Changes {
    Watch {
        /// Kept: the watch ends when it is dropped.
        _watcher: notify::RecommendedWatcher,
        rx: std::sync::mpsc::Receiver<notify::Result<notify::Event>>,
    },
    Journal(JournalFollower),
    Poll,
}

fn watch(source: &MailLog) -> Changes {
    use notify::Watcher;
    let MailLog::File(log) = source else {
        return Changes::Poll;
    };
    let dir = match log.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let watched = notify::recommended_watcher(tx).and_then(|mut w| {
        w.watch(dir, notify::RecursiveMode::NonRecursive)?;
        Ok(w)
    });
    match watched {
        Ok(w) => Changes::Watch { _watcher: w, rx },
        Err(e) => {
            warn!(
                "follow mode: cannot watch {} ({e}): looking for new lines every {} ms",
                dir.display(),
                FOLLOW_POLL.as_millis()
            );
            Changes::Poll
        }
    }
}

/// Returns when the next pass is due: a change seen (but not before [`FOLLOW_MIN_GAP`] since
/// the last pass started), [`FOLLOW_IDLE`] without one, every [`FOLLOW_POLL`] when polling,
/// or a stop.
fn wait_for_change(changes: &mut Changes, passed: Instant, stop: &AtomicBool) {
    // A change ends the wait at once; the step bounds how late a stop is seen.
    let step = Duration::from_millis(100);
    loop {
        let waited = passed.elapsed();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let changed = match changes {
            Changes::Poll if waited >= FOLLOW_POLL => return,
            Changes::Poll => {
                std::thread::sleep(step);
                false
            }
            _ if waited >= FOLLOW_IDLE => return,
            Changes::Journal(f) => f.wait(step),
            Changes::Watch { rx, .. } => match rx.recv_timeout(step) {
                Ok(_) => {
                    // One pass reads everything written so far: the rest of the burst is seen.
                    while rx.try_recv().is_ok() {}
                    true
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
                // The watcher lives as long as the receiver: not expected; wait out the step.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(step);
                    false
                }
            },
        };
        if changed {
            std::thread::sleep(FOLLOW_MIN_GAP.saturating_sub(passed.elapsed()));
            return;
        }
    }
}

/// The JSON Lines export, when one is asked for (`--jsonl`, or `[paths] jsonl_export`).
fn open_jsonl(
    config: &Config,
    opts: &JobOptions,
    store: &Store,
) -> Result<Option<JsonlExport>, IngestError> {
    let Some(path) = opts.jsonl.as_ref().or(config.paths.jsonl_path.as_ref()) else {
        return Ok(None);
    };
    let (j, repair) =
        JsonlExport::open(path, store.jsonl_committed_len()?).map_err(export_error(path))?;
    report_repair(path, &repair);
    Ok(Some(j))
}

/// An export without a committed length (new, or left by the old tool) is adopted as it is
/// now, and that length committed at once: rows a run appends after this and dies before
/// committing are then cut at the next start, never adopted. The same when the file was
/// deleted or edited (its stored length is stale).
fn adopt_lengths(
    store: &mut Store,
    csv: &LegacyCsv,
    jsonl: Option<&JsonlExport>,
) -> Result<(), IngestError> {
    let csv_unknown = store.csv_committed_len()? != Some(csv.len());
    let jsonl_unknown = match jsonl {
        Some(j) => store.jsonl_committed_len()? != Some(j.len()),
        None => false,
    };
    if csv_unknown || jsonl_unknown {
        store.commit(&Commit {
            csv_len: csv_unknown.then(|| csv.len()),
            jsonl_len: jsonl.filter(|_| jsonl_unknown).map(JsonlExport::len),
            ..Commit::default()
        })?;
    }
    Ok(())
}

/// What the run did, in the own log (and on a terminal).
fn log_summary(report: &RunReport, took: std::time::Duration, enricher: &Enricher) {
    let s = &report.stats;
    info!(
        "read {} lines ({} MiB, {} files) in {:.2} s: stored {} events ({} failed attempts, {} successful logins); {} tempfails and {} aborted exchanges not counted; {} suspicious unmatched lines",
        s.lines,
        report.bytes_read >> 20,
        report.files_read,
        took.as_secs_f64(),
        report.events_stored,
        s.failure_attempts(),
        s.success_attempts(),
        s.ambiguous,
        s.aborted,
        s.unmatched,
    );
    let e = &enricher.stats;
    if e.addresses > 0 {
        let dns = if enricher.has_dns() {
            format!("{} from the cache, {} looked up", e.cached, e.looked_up)
        } else {
            "off".to_owned()
        };
        info!("enrichment: {} addresses, reverse DNS: {dns}", e.addresses);
    }
}

/// The configured source into `outputs`.
fn ingest(
    config: &Config,
    opts: &JobOptions,
    outputs: &mut Outputs,
) -> Result<RunReport, IngestError> {
    let tz = config.time_zone();
    match &config.paths.mail_log {
        MailLog::File(path) => {
            let mut run = RunOptions::new(path.clone(), tz);
            run.from_end = opts.from_end;
            run.progress = opts.progress;
            super::run(&run, outputs)
        }
        MailLog::Journal => super::run_journal(&journal_query(config), opts.from_end, tz, outputs),
    }
}

fn journal_query(config: &Config) -> JournalQuery {
    let j = &config.journal;
    JournalQuery {
        journalctl: j.journalctl.clone(),
        directory: j.directory.clone(),
        identifiers: j.identifiers.clone(),
        units: j.units.clone(),
    }
}

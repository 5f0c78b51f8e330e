//! The default run: reads every new line of the mail log and its rotated siblings, oldest
//! first, and stores the events exactly once in the store and the CSV.
//!
//! The checkpoint protocol (docs/ARCHITECTURE.md): per file, identified by the fingerprint
//! of its first decompressed line, the offset in decompressed bytes up to the last complete
//! line consumed, and whether the file is finished (a compressed rotation read to its end).
//! Events, checkpoints, the correlator's waiting lines and the CSV's committed length are
//! written in one store transaction, after the CSV rows are appended and synced: a crash
//! before the commit leaves a CSV tail that the next start cuts, and re-reads the same lines.
//! Not here: the journald source (`journal`), argument handling (`cli`).

pub(crate) mod archive;
pub(crate) mod guard;
pub(crate) mod job;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Instant, SystemTime};

use jiff::tz::TimeZone;
use log::{info, warn};

use crate::correlate::Windows;
use crate::enrich::{EnrichedBatch, Enricher};
use crate::envelope::timestamp::{Clock, YearRule};
use crate::event::AuthEvent;
use crate::pipeline::scan::{self, Scanned};
use crate::pipeline::{Pipeline, Stats};
use crate::sink::{CsvEnrichment, JsonlExport, LegacyCsv};
use crate::source::files::{InputProblem, LogFile, OpenedLog, check_live, discover};
use crate::source::journal::{JournalEntry, JournalError, JournalFollower, JournalQuery};
use crate::store::{Checkpoint, Commit, Enrichment, IngestStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot list the log files of {path}: {source}")]
    Discover { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Export { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("the store writer stopped")]
    WriterStopped,
    #[error("{}: {}: {}", path.display(), problem.cause(), problem.fix(&guard::user_name()))]
    Input {
        path: PathBuf,
        problem: InputProblem,
    },
}

/// The cursor's key in the store.
pub const JOURNAL_SOURCE: &str = "journal";

/// Events per commit at most: fewer, larger commits write each source's summary row fewer
/// times; the three batches in flight stay under the memory target (64 MiB).
const COMMIT_EVENTS: usize = 20_000;

pub struct RunOptions {
    /// The live log (`[paths] mail_log`); its rotated siblings are found beside it.
    pub mail_log: PathBuf,
    /// On the first run, start at the end of the logs instead of backfilling them.
    pub from_end: bool,
    pub timezone: TimeZone,
    /// Show a progress line on stderr (only when it is a terminal).
    pub progress: bool,
    /// Commit at least every this many events...
    pub commit_events: usize,
    /// ...and every this many bytes read.
    pub commit_bytes: u64,
}

impl RunOptions {
    pub fn new(mail_log: PathBuf, timezone: TimeZone) -> RunOptions {
        RunOptions {
            mail_log,
            from_end: false,
            timezone,
            progress: true,
            commit_events: COMMIT_EVENTS,
            commit_bytes: 64 << 20,
        }
    }
}

/// What one run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub files_read: u32,
    pub bytes_read: u64,
    pub stats: Stats,
    pub events_stored: u64,
    /// Files that could not be read whole (a truncated or corrupt .gz): what was before the
    /// damage is stored, the file is retried next run.
    pub damaged: Vec<String>,
    /// The live log's clock lag measured this run (wall minus log seconds), if it was read.
    pub clock_lag: Option<i64>,
}

impl RunReport {
    /// Adds a later pass (follow mode); the clock lag is the latest.
    pub fn add(&mut self, pass: RunReport) {
        self.files_read += pass.files_read;
        self.bytes_read += pass.bytes_read;
        self.stats.add(&pass.stats);
        self.events_stored += pass.events_stored;
        self.damaged.extend(pass.damaged);
        self.clock_lag = pass.clock_lag.or(self.clock_lag);
    }
}

/// A lag of the log's clock behind the wall clock past this is warned about (seconds).
const LAG_WARNING: i64 = 120;
/// The largest lag taken for clock skew (26 h: UTC-12 to UTC+14); beyond, none is assumed.
const MAX_CLOCK_LAG: i64 = 26 * 3600;

/// Where the run writes, and the enrichment its events get on the way.
pub struct Outputs<'a> {
    pub store: &'a mut dyn IngestStore,
    pub csv: &'a mut LegacyCsv,
    pub jsonl: Option<&'a mut JsonlExport>,
    /// `None`: the enrichment columns stay `NULL`.
    pub enricher: Option<&'a mut Enricher>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn unix_of(t: Option<SystemTime>) -> i64 {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or_else(unix_now, |d| d.as_secs() as i64)
}

/// Offset just past the last newline of a plain file (where `--from-end` starts).
fn end_of_last_line(path: &Path) -> io::Result<u64> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    crate::sink::end_of_last_line(&mut f, len)
}

/// One commit for the writer thread: everything it needs, owned.
struct Job {
    events: Vec<(AuthEvent, String)>,
    /// Filled by the preparing thread (no enrichment without an enricher).
    enriched: EnrichedBatch,
    /// The exports' lengths once the preparing thread appended and synced the job's rows.
    exported: Exported,
    checkpoint: Option<Checkpoint>,
    cursor: Option<String>,
    state: Vec<u8>,
}

enum Message {
    Commit(Box<Job>),
    /// Answered once every earlier commit is written.
    Barrier(SyncSender<()>),
}

/// Collects events on the parsing side and hands commits to the writer thread, so that
/// parsing and storing run on two cores. Commits stay in order; a bounded channel keeps at
/// most two batches in flight (memory).
struct Committer {
    tx: SyncSender<Message>,
    events: Vec<(AuthEvent, String)>,
    /// Events that make the next commit: starts small and doubles up to `max_events`, so
    /// that the writer has work while the parser is still filling a full batch.
    batch_events: usize,
    max_events: usize,
}

impl Committer {
    fn new(tx: SyncSender<Message>, max_events: usize) -> Committer {
        let max_events = max_events.max(1);
        Committer {
            tx,
            events: Vec::new(),
            batch_events: (max_events / 16).max(1),
            max_events,
        }
    }

    /// Whether the events collected make a batch.
    fn is_full(&self) -> bool {
        self.events.len() >= self.batch_events
    }

    fn commit(
        &mut self,
        checkpoint: Option<&Checkpoint>,
        cursor: Option<&str>,
        pipeline: &Pipeline,
    ) -> Result<(), IngestError> {
        self.batch_events = (self.batch_events * 2).min(self.max_events);
        let job = Job {
            events: std::mem::take(&mut self.events),
            enriched: EnrichedBatch::default(),
            exported: Exported::default(),
            checkpoint: checkpoint.cloned(),
            cursor: cursor.map(str::to_owned),
            state: pipeline.correlator_state(),
        };
        self.tx
            .send(Message::Commit(Box::new(job)))
            .map_err(|_| IngestError::WriterStopped)
    }

    /// Waits until every commit sent so far is written (before reading a checkpoint that
    /// one of them may change).
    fn sync(&self) -> Result<(), IngestError> {
        let (tx, rx) = sync_channel(0);
        self.tx
            .send(Message::Barrier(tx))
            .map_err(|_| IngestError::WriterStopped)?;
        rx.recv().map_err(|_| IngestError::WriterStopped)
    }
}

/// The lengths of the CSV and (when written) JSONL exports.
#[derive(Debug, Clone, Copy, Default)]
struct Exported {
    csv: u64,
    jsonl: Option<u64>,
}

/// The preparing thread: enriches each job (with an active enricher), appends its rows to
/// the exports and syncs them, then passes it on, in order, so that the store thread only
/// runs transactions. Its store connection only reads the DNS cache; the answers it gets go
/// with the job, to be stored in the same transaction as the events. Rows appended here are
/// committed only by the store's transaction: after a failure, [`with_writer`] cuts them.
fn prepare_commits(
    rx: Receiver<Message>,
    tx: SyncSender<Message>,
    mut enricher: Option<(&mut Enricher, Box<dyn IngestStore>)>,
    csv: &mut LegacyCsv,
    mut jsonl: Option<&mut JsonlExport>,
) -> Result<(), IngestError> {
    for message in rx {
        let message = match message {
            Message::Commit(mut job) => {
                if let Some((enricher, store)) = enricher.as_mut() {
                    job.enriched = enricher.enrich(
                        job.events.iter().map(|(e, _)| e),
                        Some(&**store),
                        unix_now(),
                    )?;
                }
                job.exported = export(&job, csv, jsonl.as_deref_mut())?;
                Message::Commit(job)
            }
            barrier => barrier,
        };
        if tx.send(message).is_err() {
            break;
        }
    }
    Ok(())
}

/// Appends a job's rows to the exports and syncs them; returns their new lengths.
fn export(
    job: &Job,
    csv: &mut LegacyCsv,
    jsonl: Option<&mut JsonlExport>,
) -> Result<Exported, IngestError> {
    let none = Enrichment::default();
    let enrichment = |i: usize| job.enriched.enrichments.get(i).unwrap_or(&none);
    let rows = job
        .events
        .iter()
        .enumerate()
        .map(|(i, (e, _))| (e, CsvEnrichment::from(enrichment(i))));
    let csv_len = csv
        .append_enriched(rows)
        .map_err(|source| IngestError::Export {
            path: csv.path().to_path_buf(),
            source,
        })?;
    let jsonl_len = match jsonl {
        Some(j) => {
            let all = job
                .events
                .iter()
                .enumerate()
                .map(|(i, (e, _))| (e, enrichment(i)));
            Some(j.append(all).map_err(|source| IngestError::Export {
                path: j.path().to_path_buf(),
                source,
            })?)
        }
        None => None,
    };
    Ok(Exported {
        csv: csv_len,
        jsonl: jsonl_len,
    })
}

/// The store thread: one transaction per job, recording the exports' lengths with the events
/// and the checkpoint. `committed` follows the lengths of the last commit.
fn write_commits(
    rx: Receiver<Message>,
    store: &mut dyn IngestStore,
    committed: &mut Exported,
    done: SyncSender<Box<Job>>,
) -> Result<u64, IngestError> {
    let mut stored = 0;
    for message in rx {
        let job = match message {
            Message::Commit(job) => job,
            Message::Barrier(done) => {
                let _ = done.send(());
                continue;
            }
        };
        store.commit(&Commit {
            events: &job.events,
            enrichments: &job.enriched.enrichments,
            ptrs: &job.enriched.ptrs,
            checkpoints: job.checkpoint.as_slice(),
            cursor: job.cursor.as_deref().map(|c| (JOURNAL_SOURCE, c)),
            correlator_state: Some(&job.state),
            csv_len: Some(job.exported.csv),
            jsonl_len: job.exported.jsonl,
        })?;
        *committed = job.exported;
        stored += job.events.len() as u64;
        // Freed on a thread of its own: a job's few allocations per event cost the store
        // thread, the run's critical path, a twentieth of its time.
        let _ = done.send(job);
    }
    Ok(stored)
}

/// Runs `body` with a [`Committer`] (batches of at most `max_events`) whose commits scoped
/// threads prepare (enrich when `out` has an active enricher, append the exports) and write
/// to `out`; returns `body`'s result and the number of events stored. A preparing or writer
/// error wins over the `WriterStopped` it causes upstream.
fn with_writer<T>(
    out: &mut Outputs,
    max_events: usize,
    body: impl FnOnce(&mut Committer) -> Result<T, IngestError>,
) -> Result<(T, u64), IngestError> {
    let (tx, rx) = sync_channel(1);
    // The enricher reads the DNS cache through a store handle of its own.
    let enricher = match out.enricher.as_deref_mut().filter(|e| e.is_active()) {
        Some(e) => Some((e, out.store.another()?)),
        None => None,
    };
    let Outputs {
        store, csv, jsonl, ..
    } = out;
    let mut committed = Exported {
        csv: csv.len(),
        jsonl: jsonl.as_deref().map(JsonlExport::len),
    };
    let (result, prepared, written) = std::thread::scope(|scope| {
        let (ptx, writer_rx) = sync_channel(1);
        let (csv, jsonl) = (&mut **csv, jsonl.as_deref_mut());
        let prepare = std::thread::Builder::new()
            .name("mls-prepare".into())
            .spawn_scoped(scope, move || {
                prepare_commits(rx, ptx, enricher, csv, jsonl)
            })
            .expect("spawning the preparing thread");
        let committed = &mut committed;
        let (done, written_jobs) = sync_channel(1);
        std::thread::Builder::new()
            .name("mls-free".into())
            .spawn_scoped(scope, move || written_jobs.into_iter().for_each(drop))
            .expect("spawning the freeing thread");
        let writer = std::thread::Builder::new()
            .name("mls-store".into())
            .spawn_scoped(scope, move || {
                write_commits(writer_rx, &mut **store, committed, done)
            })
            .expect("spawning the store thread");
        let mut committer = Committer::new(tx, max_events);
        let result = body(&mut committer);
        drop(committer);
        let prepared = prepare
            .join()
            .unwrap_or_else(|_| Err(IngestError::WriterStopped));
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(IngestError::WriterStopped));
        (result, prepared, written)
    });
    if prepared.is_err() || written.is_err() {
        // Nothing of a failed commit may stay in the exports (a full disk, a store error):
        // rows appended ahead of the last commit are cut.
        let cut = csv.cut_back(committed.csv).and_then(|()| {
            match (jsonl.as_deref_mut(), committed.jsonl) {
                (Some(j), Some(len)) => j.cut_back(len),
                _ => Ok(()),
            }
        });
        if let Err(c) = cut {
            warn!("cannot cut the exports back to their committed length ({c}): the next run does");
        }
    }
    match (result, prepared, written) {
        (_, Err(e), _) | (_, _, Err(e)) => Err(e),
        (Err(e), Ok(()), Ok(_)) => Err(e),
        (Ok(v), Ok(()), Ok(n)) => Ok((v, n)),
    }
}

/// One run over the rotation set of `opts.mail_log`.
pub fn run(opts: &RunOptions, out: &mut Outputs) -> Result<RunReport, IngestError> {
    let now = unix_now();
    let mut pipeline = restored_pipeline(opts.timezone.clone(), now, out.store)?;
    let first_run = out.store.checkpoints()?.is_empty();
    let files = match discover(&opts.mail_log) {
        Ok(files) => files,
        // No directory, or one not listable: then only the live log, which check_live tries.
        Err(e) if InputProblem::of(&e).is_some() => Vec::new(),
        Err(source) => {
            return Err(IngestError::Discover {
                path: opts.mail_log.clone(),
                source,
            });
        }
    };
    check_live(&opts.mail_log, &files).map_err(|problem| IngestError::Input {
        path: opts.mail_log.clone(),
        problem,
    })?;
    // Checkpoints are looked up through a connection of their own: the writer thread owns
    // the other.
    let lookups = out.store.another()?;
    let mut report = RunReport::default();
    let mut progress = Progress::new(opts.progress && io::stderr().is_terminal());
    let ((), stored) = with_writer(out, opts.commit_events, |committer| {
        let mut next = match files.first() {
            Some(f) => Some(plan_file(opts, f, first_run, &*lookups, &mut report)?),
            None => None,
        };
        for (i, file) in files.iter().enumerate() {
            let current = next.take().unwrap_or(Plan::Skip);
            // Plan the next file now, unless it is this very file again (a copy with the
            // same first line): its checkpoint is only known once this one is committed.
            let mut deferred = None;
            if let Some(f) = files.get(i + 1) {
                let plan = plan_file(opts, f, first_run, &*lookups, &mut report)?;
                match (plan.fingerprint(), current.fingerprint()) {
                    (Some(a), Some(b)) if a == b => deferred = Some(f),
                    _ => next = Some(plan),
                }
            }
            progress.file(i + 1, files.len(), &file.path);
            match current {
                Plan::Skip => {}
                Plan::MarkEnd(cp) => committer.commit(Some(&cp), None, &pipeline)?,
                Plan::Read(r) => read_file(
                    opts,
                    r,
                    &mut pipeline,
                    committer,
                    &mut report,
                    &mut progress,
                )?,
            }
            if let Some(f) = deferred {
                committer.sync()?;
                next = Some(plan_file(opts, f, first_run, &*lookups, &mut report)?);
            }
        }
        progress.done();
        if let Some(lag) = report.clock_lag.filter(|l| l.abs() > LAG_WARNING) {
            warn!(
                "{}: its last line is stamped {} s {} the file was last written: the syslog daemon's clock or time zone differs from this tool's (set [general] timezone to the zone the log is written in), or a relay delivers lines late; lines waiting for a partner expire by the log's own clock",
                opts.mail_log.display(),
                lag.abs(),
                if lag > 0 { "before" } else { "after" }
            );
        }
        // Lines still waiting whose partner would have been written by now count alone.
        let fingerprint = String::from("expired");
        pipeline.expire_at(now, &mut |e| {
            committer.events.push((e, fingerprint.clone()))
        });
        committer.commit(None, None, &pipeline)
    })?;
    report.events_stored = stored;
    report.stats = pipeline.stats().clone();
    Ok(report)
}

/// Restores the correlator's waiting lines of the last run (a broken state is reported and
/// dropped: only those few lines are lost).
fn restored_pipeline(
    tz: TimeZone,
    now: i64,
    store: &dyn IngestStore,
) -> Result<Pipeline, IngestError> {
    let mut pipeline = Pipeline::new(Clock::new(tz, YearRule::NotAfter(now)), Windows::default());
    if let Some(state) = store.correlator_state()?
        && let Err(e) = pipeline.restore_correlator(&state)
    {
        warn!("{e}: lines waiting for a partner at the end of the last run are lost");
    }
    Ok(pipeline)
}

/// One run over the journal entries after the stored cursor.
pub fn run_journal(
    query: &JournalQuery,
    from_end: bool,
    tz: TimeZone,
    out: &mut Outputs,
) -> Result<RunReport, IngestError> {
    let cursor = out.store.cursor(JOURNAL_SOURCE)?;
    if cursor.is_none() && from_end {
        let pipeline = restored_pipeline(tz, unix_now(), out.store)?;
        if let Some(last) = query.last_cursor()? {
            with_writer(out, COMMIT_EVENTS, |c| {
                c.commit(None, Some(&last), &pipeline)
            })?;
        }
        return Ok(RunReport {
            stats: pipeline.stats().clone(),
            ..RunReport::default()
        });
    }
    let mut reader = query.read_after(cursor.as_deref())?;
    let report = journal_entries(|| reader.next_entry(), tz, out)?;
    reader.finish()?;
    Ok(report)
}

/// One pass of follow mode over the journal: the entries `journalctl --follow` has handed
/// over since the last pass.
pub fn follow_journal(
    follower: &mut JournalFollower,
    tz: TimeZone,
    out: &mut Outputs,
) -> Result<RunReport, IngestError> {
    journal_entries(|| follower.try_next(), tz, out)
}

/// Stores the entries `next` gives until it gives none, committing their cursor with them.
fn journal_entries(
    mut next: impl FnMut() -> Result<Option<JournalEntry>, JournalError>,
    tz: TimeZone,
    out: &mut Outputs,
) -> Result<RunReport, IngestError> {
    let now = unix_now();
    let mut pipeline = restored_pipeline(tz, now, out.store)?;
    let mut report = RunReport::default();
    let ((), stored) = with_writer(out, COMMIT_EVENTS, |committer| {
        let mut last: Option<String> = None;
        let mut since_commit = 0usize;
        let mut failed = None;
        loop {
            let entry = match next() {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            report.bytes_read += entry.line.len() as u64 + 1;
            pipeline.feed_line(
                &entry.line,
                &mut |e| committer.events.push((e, JOURNAL_SOURCE.to_owned())),
                &mut |_| {},
            );
            last = Some(entry.cursor);
            since_commit += 1;
            if committer.is_full() || since_commit >= 500_000 {
                committer.commit(None, last.as_deref(), &pipeline)?;
                since_commit = 0;
            }
        }
        // Commit what was read even if journalctl then reports a failure.
        committer.commit(None, last.as_deref(), &pipeline)?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        pipeline.expire_at(now, &mut |e| {
            committer.events.push((e, JOURNAL_SOURCE.to_owned()))
        });
        committer.commit(None, None, &pipeline)
    })?;
    report.events_stored = stored;
    report.stats = pipeline.stats().clone();
    Ok(report)
}

/// What to do with one file of the rotation set, decided before reading it.
enum Plan {
    /// Nothing to read (finished, not identifiable yet, or unreadable).
    Skip,
    /// First run with `--from-end`: only record where the file ends.
    MarkEnd(Checkpoint),
    /// Read from `start`: its scanning thread is already running.
    Read(Reading),
}

struct Reading {
    fingerprint: String,
    path: PathBuf,
    rotated: bool,
    gzip: bool,
    modified: Option<SystemTime>,
    start: u64,
    batches: std::sync::mpsc::Receiver<Scanned>,
}

impl Plan {
    fn fingerprint(&self) -> Option<&str> {
        match self {
            Plan::Skip => None,
            Plan::MarkEnd(c) => Some(&c.fingerprint),
            Plan::Read(r) => Some(&r.fingerprint),
        }
    }
}

/// Opens `file`, finds its checkpoint, and starts reading it on a scanning thread. Called one
/// file ahead, so the next file (often a .gz) decompresses while this one is stored.
/// `--from-end` on a first run: a checkpoint at the end of the file's last complete line (a
/// compressed file is finished as it is).
fn at_end(file: &LogFile, opened: OpenedLog) -> Plan {
    let path = file.path.display();
    let (offset, finished) = if opened.gzip {
        (0, true)
    } else {
        match end_of_last_line(&file.path) {
            Ok(end) => (end, false),
            Err(e) => {
                warn!("{path}: cannot read: {e}");
                return Plan::Skip;
            }
        }
    };
    Plan::MarkEnd(Checkpoint {
        fingerprint: opened.fingerprint,
        path: file.path.clone(),
        offset,
        finished,
    })
}

fn plan_file(
    opts: &RunOptions,
    file: &LogFile,
    first_run: bool,
    store: &dyn IngestStore,
    report: &mut RunReport,
) -> Result<Plan, IngestError> {
    let path = file.path.display().to_string();
    let opened = match OpenedLog::open(&file.path) {
        Ok(Some(o)) => o,
        Ok(None) => return Ok(Plan::Skip), // no complete first line yet: next run
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(IngestError::Input {
                path: file.path.clone(),
                problem: InputProblem::PermissionDenied,
            });
        }
        Err(e) => {
            warn!("{path}: cannot read: {e}");
            report.damaged.push(path);
            return Ok(Plan::Skip);
        }
    };
    let known = store.checkpoint(&opened.fingerprint)?;
    if known.as_ref().is_some_and(|c| c.finished) {
        return Ok(Plan::Skip);
    }
    if known.is_none() && first_run && opts.from_end {
        return Ok(at_end(file, opened));
    }
    let fingerprint = opened.fingerprint.clone();
    let (gzip, modified) = (opened.gzip, opened.modified);
    let mut start = known.map_or(0, |c| c.offset);
    let reader = match opened.reader_at(start) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            warn!(
                "{path}: shorter than where the last run stopped ({start} bytes): replaced, read from its start"
            );
            start = 0;
            match OpenedLog::open(&file.path).and_then(|o| {
                o.ok_or_else(|| io::Error::other("its first line vanished"))?
                    .reader_at(0)
            }) {
                Ok(r) => r,
                Err(e) => {
                    warn!("{path}: cannot read: {e}");
                    report.damaged.push(path);
                    return Ok(Plan::Skip);
                }
            }
        }
        Err(e) => {
            warn!("{path}: cannot read: {e}");
            report.damaged.push(path);
            return Ok(Plan::Skip);
        }
    };
    // Only a compressed file is complete: a plain one (live, or rotated but still open in the
    // syslog daemon) may end mid-line.
    Ok(Plan::Read(Reading {
        fingerprint,
        path: file.path.clone(),
        rotated: file.rotated,
        gzip,
        modified,
        start,
        batches: scan::spawn(reader, !gzip),
    }))
}

/// Feeds one file's batches through the pipeline, committing as it goes.
fn read_file(
    opts: &RunOptions,
    r: Reading,
    pipeline: &mut Pipeline,
    committer: &mut Committer,
    report: &mut RunReport,
    progress: &mut Progress,
) -> Result<(), IngestError> {
    let path = r.path.display().to_string();
    let checkpoint = |offset, finished| Checkpoint {
        fingerprint: r.fingerprint.clone(),
        path: r.path.clone(),
        offset,
        finished,
    };
    report.files_read += 1;
    pipeline.set_year_rule(YearRule::NotAfter(unix_of(r.modified)));
    let mut position = r.start;
    let mut committed_at = r.start;
    let mut finished = false;
    for scanned in &r.batches {
        match scanned {
            Scanned::Batch(batch) => {
                pipeline.feed_batch(
                    &batch,
                    &mut |e| committer.events.push((e, r.fingerprint.clone())),
                    &mut |_| {},
                );
                report.bytes_read += r.start + batch.position - position;
                position = r.start + batch.position;
                progress.bytes(report.bytes_read);
                if committer.is_full() || position - committed_at >= opts.commit_bytes {
                    committer.commit(Some(&checkpoint(position, false)), None, pipeline)?;
                    committed_at = position;
                }
            }
            Scanned::End {
                position: end,
                oversized,
                error,
            } => {
                report.bytes_read += r.start + end - position;
                position = r.start + end;
                pipeline.count_oversized(oversized);
                match error {
                    Some(e) => {
                        warn!(
                            "{path}: damaged after {position} bytes{}: {e}; the lines before are kept, the file is retried next run",
                            if r.gzip { " of decompressed data" } else { "" }
                        );
                        report.damaged.push(path.clone());
                    }
                    None => finished = r.gzip && r.rotated,
                }
            }
        }
    }
    // The live log's mtime is when its last line was written (wall clock); that line's stamp
    // is the log's clock at that moment: the difference is the lag expiry corrects for.
    // Past a day and two hours (the widest gap between time zones) it is no clock skew but an
    // old log written again (copied, replayed): the wall clock is the better guess.
    if !r.rotated && !r.gzip && position > r.start {
        let lag = unix_of(r.modified) - pipeline.log_now();
        let lag = if lag.abs() <= MAX_CLOCK_LAG { lag } else { 0 };
        pipeline.set_clock_lag(lag);
        report.clock_lag = Some(lag);
    }
    committer.commit(Some(&checkpoint(position, finished)), None, pipeline)?;
    info!(
        "{path}: read up to byte {position}{}",
        if finished { " (finished)" } else { "" }
    );
    Ok(())
}

/// A one-line progress display on a terminal; silent otherwise.
struct Progress {
    on: bool,
    last: Instant,
    label: String,
}

impl Progress {
    fn new(on: bool) -> Progress {
        Progress {
            on,
            last: Instant::now(),
            label: String::new(),
        }
    }

    fn file(&mut self, n: usize, of: usize, path: &Path) {
        if self.on {
            self.label = format!("[{n}/{of}] {}", path.display());
            self.draw(0);
        }
    }

    fn bytes(&mut self, total: u64) {
        if self.on && self.last.elapsed().as_millis() >= 200 {
            self.draw(total);
        }
    }

    fn draw(&mut self, total: u64) {
        self.last = Instant::now();
        let mut e = io::stderr().lock();
        let _ = write!(e, "\r\x1b[K{}  {} MiB read", self.label, total >> 20);
        let _ = e.flush();
    }

    fn done(&mut self) {
        if self.on {
            let _ = write!(io::stderr().lock(), "\r\x1b[K");
        }
    }
}

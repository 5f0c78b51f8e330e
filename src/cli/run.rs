//! The default run (`maillogsentinel`, `maillogsentinel run`) and `--reset` / `--purge`:
//! config, guards, outputs, then the ingestion in `ingest`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use log::{LevelFilter, info, warn};

use crate::config::{Config, LogLevel, MailLog};
use crate::enrich::Enricher;
use crate::ingest::guard::{self, LockError};
use crate::ingest::{self, Outputs, RunOptions, archive};
use crate::logging::Logger;
use crate::sink::{JsonlExport, LegacyCsv, Repair};
use crate::source::journal::JournalQuery;
use crate::store::Store;

/// Exit statuses (sysexits.h), for scripts and systemd.
pub mod exit {
    /// The command line is wrong: options that do not go together (EX_USAGE).
    pub const USAGE: u8 = 64;
    /// The mail log cannot be read: missing, a directory, a device (EX_NOINPUT).
    pub const NO_INPUT: u8 = 66;
    /// An output cannot be written: disk full, a damaged store (EX_CANTCREAT).
    pub const CANT_CREATE: u8 = 73;
    /// Another run holds the lock, or another process the store (EX_TEMPFAIL).
    pub const LOCKED: u8 = 75;
    /// Refused to run as root, or the mail log is not readable (EX_NOPERM).
    pub const NO_PERM: u8 = 77;
    /// The configuration is missing or wrong (EX_CONFIG).
    pub const CONFIG: u8 = 78;
}

pub const DB_FILE: &str = "maillogsentinel.db";
pub const CSV_FILE: &str = "maillogsentinel.csv";
pub const LOG_FILE: &str = "maillogsentinel.log";
/// In `state_dir` while the CSV is being reconciled with a store that did not know it.
const RECONCILE_MARKER: &str = "csv-reconcile";

#[derive(Args, Debug, Default, Clone)]
pub struct RunArgs {
    /// On the first run, start at the end of the logs instead of reading all rotated files.
    #[arg(long)]
    pub from_end: bool,
    /// Also export every event as JSON Lines to PATH (overrides `[paths] jsonl_export`).
    #[arg(long, value_name = "PATH")]
    pub jsonl: Option<PathBuf>,
    /// No progress line, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// No reverse DNS lookups for this run (like `[dns] enabled = false`).
    #[arg(long)]
    pub no_dns: bool,
}

/// Options every command that reads the config shares.
#[derive(Debug, Clone)]
pub struct Common {
    pub config: Option<PathBuf>,
    pub allow_root: bool,
}

/// A failure already reported, with its exit status.
pub(super) struct Exit(pub u8);

pub(super) fn load_config(common: &Common) -> Result<Config, Exit> {
    let path = common
        .config
        .clone()
        .unwrap_or_else(|| Config::default_path().to_path_buf());
    if !path.exists() {
        use std::io::IsTerminal;
        if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
            // The old tool's behaviour: no config on a terminal starts the wizard.
            eprintln!(
                "maillogsentinel: no configuration at {}: starting the setup wizard",
                path.display()
            );
            let code = match super::setup::run(Some(&path), &super::setup::SetupArgs::default()) {
                Ok(_) => 0,
                Err(e) => {
                    eprintln!("maillogsentinel: setup: {e:#}");
                    1
                }
            };
            return Err(Exit(code));
        }
        eprintln!(
            "maillogsentinel: no configuration at {}: run `sudo maillogsentinel --setup`, or pass --config PATH",
            path.display()
        );
        return Err(Exit(exit::CONFIG));
    }
    match Config::load(&path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("maillogsentinel: warning: {w}");
            }
            Ok(loaded.config)
        }
        Err(e) => {
            eprintln!("maillogsentinel: {e}");
            Err(Exit(exit::CONFIG))
        }
    }
}

pub(super) fn refuse_root(common: &Common) -> Result<(), Exit> {
    if guard::is_root() && !common.allow_root {
        eprintln!(
            "maillogsentinel: refusing to run as root: run it as the operational user set up by --setup (or pass --allow-root)"
        );
        return Err(Exit(exit::NO_PERM));
    }
    Ok(())
}

fn level(l: LogLevel) -> LevelFilter {
    match l {
        LogLevel::Debug => LevelFilter::Debug,
        LogLevel::Info => LevelFilter::Info,
        LogLevel::Warning => LevelFilter::Warn,
        LogLevel::Error | LogLevel::Critical => LevelFilter::Error,
    }
}

fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
}

/// Config, root check, directories, logger, lock: what every writing command needs first.
pub(super) fn prepare(common: &Common) -> Result<(Config, guard::RunLock), Exit> {
    let config = load_config(common)?;
    refuse_root(common)?;
    // Everything this run creates (SQLite's -wal/-shm files too) is 0640, directories 0750.
    // SAFETY: umask has no preconditions and cannot fail.
    unsafe { libc::umask(0o027) };
    for dir in [&config.paths.working_dir, &config.paths.state_dir] {
        if let Err(e) = create_dir(dir) {
            eprintln!("maillogsentinel: cannot create {}: {e}", dir.display());
            return Err(Exit(1));
        }
    }
    match Logger::new(
        level(config.general.log_level),
        Some(&config.paths.working_dir.join(LOG_FILE)),
        false,
    ) {
        Ok(logger) => logger.install(),
        Err(e) => {
            eprintln!(
                "maillogsentinel: cannot write {}: {e}",
                config.paths.working_dir.join(LOG_FILE).display()
            );
            return Err(Exit(1));
        }
    }
    match guard::acquire(&config.paths.state_dir) {
        Ok(lock) => Ok((config, lock)),
        Err(e @ LockError::Busy(_)) => {
            eprintln!("maillogsentinel: {e}");
            Err(Exit(exit::LOCKED))
        }
        Err(e) => {
            eprintln!("maillogsentinel: {e}");
            Err(Exit(1))
        }
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

pub fn run(common: &Common, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (config, _lock) = match prepare(common) {
        Ok(p) => p,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    scan(&config, args)?;
    Ok(ExitCode::SUCCESS)
}

/// The incremental extraction, for a prepared (locked) run: `run`, and `report` before it
/// reports.
pub(super) fn scan(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    let mut store = Store::open(&config.paths.working_dir.join(DB_FILE))?;
    check_store(config, &store)?;
    let csv_path = config.paths.working_dir.join(CSV_FILE);
    let (mut csv, repair) = LegacyCsv::open(
        &csv_path,
        store.csv_committed_len()?,
        config.general.csv_date_format,
    )?;
    report_repair(&csv_path, &repair);
    // A CSV with rows that the store does not account for (the store was deleted, or the CSV is
    // the old tool's): reconciled, so that reading the logs again does not double it. The
    // marker keeps reconciling across runs until one finishes (a run killed halfway).
    let marker = config.paths.state_dir.join(RECONCILE_MARKER);
    let fresh_store = store.checkpoints()?.is_empty()
        && store.cursor(ingest::JOURNAL_SOURCE)?.is_none()
        && store.event_count()? == 0;
    if fresh_store && matches!(repair, Repair::Adopted { .. }) {
        std::fs::write(&marker, b"")?;
    }
    if marker.exists() {
        let stored = store.events()?;
        let left = csv.reconcile(stored.iter().map(|s| &s.event))?;
        warn!(
            "{}: {left} rows are not accounted for by the store (it was deleted, or the CSV is the old tool's): rows already there are not written again when the logs are read again",
            csv_path.display()
        );
    }
    let jsonl_path = args
        .jsonl
        .clone()
        .or_else(|| config.paths.jsonl_path.clone());
    let mut jsonl = match &jsonl_path {
        Some(p) => {
            let (j, repair) = JsonlExport::open(p, store.jsonl_committed_len()?)?;
            report_repair(p, &repair);
            Some(j)
        }
        None => None,
    };
    // An export without a committed length (new, or left by the old tool) is adopted as it
    // is now, and that length committed at once: rows a run appends after this and dies
    // before committing are then cut at the next start, never adopted.
    // The same when the file was deleted or edited (its stored length is stale).
    let csv_unknown = store.csv_committed_len()? != Some(csv.len());
    let jsonl_unknown = match &jsonl {
        Some(j) => store.jsonl_committed_len()? != Some(j.len()),
        None => false,
    };
    if csv_unknown || jsonl_unknown {
        store.commit(&crate::store::Commit {
            enrichments: &[],
            ptrs: &[],
            events: &[],
            checkpoints: &[],
            cursor: None,
            correlator_state: None,
            csv_len: csv_unknown.then(|| csv.len()),
            jsonl_len: jsonl
                .as_ref()
                .filter(|_| jsonl_unknown)
                .map(JsonlExport::len),
        })?;
    }
    let tz = config.time_zone();
    let (mut enricher, warnings) = Enricher::from_config(config, args.no_dns);
    for w in &warnings {
        warn!("{w}");
    }
    let mut outputs = Outputs {
        store: &mut store,
        csv: &mut csv,
        jsonl: jsonl.as_mut(),
        enricher: Some(&mut enricher),
    };
    let started = std::time::Instant::now();
    let report = match &config.paths.mail_log {
        MailLog::File(path) => {
            let mut opts = RunOptions::new(path.clone(), tz);
            opts.from_end = args.from_end;
            opts.progress = !args.no_progress;
            ingest::run(&opts, &mut outputs)?
        }
        MailLog::Journal => {
            let j = &config.journal;
            let query = JournalQuery {
                journalctl: j.journalctl.clone(),
                directory: j.directory.clone(),
                identifiers: j.identifiers.clone(),
                units: j.units.clone(),
            };
            ingest::run_journal(&query, args.from_end, tz, &mut outputs)?
        }
    };
    let s = &report.stats;
    store.record_run(&crate::store::RunCounts {
        finished_unix: jiff::Timestamp::now().as_second(),
        lines: s.lines,
        events: report.events_stored,
        unmatched: s.unmatched,
        tempfails: s.ambiguous,
        aborted: s.aborted,
    })?;
    let summary = format!(
        "read {} lines ({} MiB, {} files) in {:.2} s: stored {} events ({} failed attempts, {} successful logins); {} tempfails and {} aborted exchanges not counted; {} suspicious unmatched lines",
        s.lines,
        report.bytes_read >> 20,
        report.files_read,
        started.elapsed().as_secs_f64(),
        report.events_stored,
        s.failure_attempts(),
        s.success_attempts(),
        s.ambiguous,
        s.aborted,
        s.unmatched,
    );
    // The logger shows it on a terminal, and keeps it in the log file for timer runs.
    info!("{summary}");
    let e = &enricher.stats;
    if e.addresses > 0 {
        let dns = if enricher.has_dns() {
            format!("{} from the cache, {} looked up", e.cached, e.looked_up)
        } else {
            "off".to_owned()
        };
        info!("enrichment: {} addresses, reverse DNS: {dns}", e.addresses);
    }
    if marker.exists() {
        if csv.already_there > 0 {
            info!(
                "{}: {} rows were already there and were not written again",
                csv_path.display(),
                csv.already_there
            );
        }
        std::fs::remove_file(&marker)?;
    }
    for d in &report.damaged {
        warn!("{d}: could not be read whole; the lines before the damage are stored");
    }
    Ok(())
}

/// Stores up to this size are checked page by page at every run; larger ones once a day.
const CHECK_EVERY_RUN_BYTES: u64 = 512 << 20;
/// In `state_dir`: its modification time is the last check of a large store.
const CHECKED_MARKER: &str = "store-checked";

/// Notices a damaged store at the next run, not when a damaged page is next needed (which a
/// run with nothing new may never do): `PRAGMA quick_check`, ~0.1 s per 100 MB.
fn check_store(config: &Config, store: &Store) -> anyhow::Result<()> {
    let marker = config.paths.state_dir.join(CHECKED_MARKER);
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
        std::fs::write(&marker, b"")?;
    }
    Ok(())
}

/// What `--reset` moves: the run's outputs. `--purge` adds caches (every other file of the
/// working and state directories, except the lock).
fn outputs_of(config: &Config) -> Vec<PathBuf> {
    let w = &config.paths.working_dir;
    let mut v = vec![
        w.join(CSV_FILE),
        w.join(DB_FILE),
        w.join(format!("{DB_FILE}-wal")),
        w.join(format!("{DB_FILE}-shm")),
        w.join(LOG_FILE),
    ];
    v.extend((1..=crate::logging::KEEP).map(|i| w.join(format!("{LOG_FILE}.{i}"))));
    v.extend(config.paths.jsonl_path.clone());
    v
}

pub fn reset(common: &Common, purge: bool) -> anyhow::Result<ExitCode> {
    let (config, _lock) = match prepare(common) {
        Ok(p) => p,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let mut paths = outputs_of(&config);
    if purge {
        for dir in [&config.paths.working_dir, &config.paths.state_dir] {
            for entry in std::fs::read_dir(dir)? {
                let p = entry?.path();
                let keep = p.file_name().is_some_and(|n| n == guard::LOCK_FILE)
                    || p.starts_with(&config.paths.backup_dir)
                    || config.paths.backup_dir.starts_with(&p)
                    || p == config.path;
                if !keep && !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
    }
    let label = if purge { "purge" } else { "reset" };
    let (dest, moved) = archive::archive(&paths, &config.paths.backup_dir, label)?;
    if moved.is_empty() {
        println!(
            "nothing to {label}: no output in {}",
            config.paths.working_dir.display()
        );
    } else {
        for m in &moved {
            println!("moved {} -> {}", m.from.display(), m.to.display());
        }
        println!(
            "{label}: {} items archived in {}; the next run starts from the beginning",
            moved.len(),
            dest.display()
        );
        // The reverse DNS cache lives in the database; a reset keeps it (a purge does not).
        let db = config.paths.working_dir.join(DB_FILE);
        if let Some(old) = moved.iter().find(|m| m.from == db).filter(|_| !purge) {
            // A damaged old store must not fail the reset that gets rid of it.
            match Store::open(&db).and_then(|mut s| s.import_dns_cache(&old.to)) {
                Ok(0) => {}
                Ok(kept) => println!("kept {kept} reverse DNS cache entries"),
                Err(e) => warn!(
                    "the reverse DNS cache of the archived store could not be kept ({e}): it starts empty"
                ),
            }
        }
        info!(
            "{label}: archived {} items in {}",
            moved.len(),
            dest.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

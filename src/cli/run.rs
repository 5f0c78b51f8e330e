//! The default run (`maillogsentinel`, `maillogsentinel run`) and `--reset` / `--purge`:
//! config, guards, outputs, then the ingestion in `ingest`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use log::{LevelFilter, info, warn};

use crate::config::{Config, LogLevel};
use crate::ingest::guard::{self, LockError};
use crate::ingest::job::JobOptions;
use crate::ingest::{self, archive};
use crate::logging::Logger;
use crate::store::Store;
use crate::workdir::WorkDir;

/// Exit statuses (sysexits.h), for scripts and systemd.
pub mod exit {
    /// The command line is wrong: options that do not go together (EX_USAGE).
    pub const USAGE: u8 = 64;
    /// The mail log cannot be read: missing, a directory, a device (EX_NOINPUT).
    pub const NO_INPUT: u8 = 66;
    /// The central store cannot be reached by `ship` (EX_UNAVAILABLE).
    pub const UNAVAILABLE: u8 = 69;
    /// An output cannot be written: disk full, a damaged store (EX_CANTCREAT).
    pub const CANT_CREATE: u8 = 73;
    /// Another run holds the lock, or another process the store (EX_TEMPFAIL).
    pub const LOCKED: u8 = 75;
    /// Refused to run as root, or the mail log is not readable (EX_NOPERM).
    pub const NO_PERM: u8 = 77;
    /// The configuration is missing or wrong (EX_CONFIG).
    pub const CONFIG: u8 = 78;
}

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

/// Who holds the store while a command runs.
pub(super) enum Holder {
    /// This command: the lock is held until this is dropped.
    Us(guard::RunLock),
    /// Follow mode (the error that names it): it reads the logs and writes the store.
    Follow(LockError),
}

impl Holder {
    /// The lock, or (follow mode holds it) the exit of a command that must have it alone.
    fn alone(self) -> Result<guard::RunLock, Exit> {
        match self {
            Holder::Us(lock) => Ok(lock),
            Holder::Follow(e) => {
                eprintln!(
                    "maillogsentinel: {e}; stop it first (systemctl stop maillogsentinel-follow)"
                );
                Err(Exit(exit::LOCKED))
            }
        }
    }
}

/// [`prepare`] for a command that must hold the store alone (not beside follow mode).
pub(super) fn prepare_alone(common: &Common) -> Result<(Config, guard::RunLock), Exit> {
    let (config, holder) = prepare(common)?;
    Ok((config, holder.alone()?))
}

/// Config, root check, directories, logger, lock: what every writing command needs first.
pub(super) fn prepare(common: &Common) -> Result<(Config, Holder), Exit> {
    let config = load_config(common)?;
    refuse_root(common)?;
    // Everything this run creates (SQLite's -wal/-shm files too) is 0640, directories 0750.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o027));
    for dir in [&config.paths.working_dir, &config.paths.state_dir] {
        if let Err(e) = create_dir(dir) {
            eprintln!("maillogsentinel: cannot create {}: {e}", dir.display());
            return Err(Exit(1));
        }
    }
    let dir = WorkDir::of(&config);
    match Logger::new(level(config.general.log_level), Some(&dir.log()), false) {
        Ok(logger) => logger.install(),
        Err(e) => {
            eprintln!("maillogsentinel: cannot write {}: {e}", dir.log().display());
            return Err(Exit(1));
        }
    }
    match guard::acquire(&dir.lock()) {
        Ok(lock) => Ok((config, Holder::Us(lock))),
        Err(e @ LockError::Follow { .. }) => Ok((config, Holder::Follow(e))),
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

pub fn run(common: &Common, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (config, _lock) = match prepare(common) {
        Ok((_, Holder::Follow(e))) => {
            // Not a failure: the timer's run finds the work done.
            info!("{e}: nothing for this run to do");
            eprintln!("maillogsentinel: {e}: nothing for this run to do");
            return Ok(ExitCode::SUCCESS);
        }
        Ok((config, Holder::Us(lock))) => (config, lock),
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let mut store = ingest::job::run(&config, &args.job())?;
    crate::realtime::after_run(&mut store, &config)?;
    ship_committed(&config);
    Ok(ExitCode::SUCCESS)
}

/// Ships what is committed when a central store is configured: one that is down only delays
/// shipping (a warning, never a failed run).
pub(super) fn ship_committed(config: &Config) {
    if config.central.url.is_some() {
        match super::central::ship_configured(config) {
            Ok(s) => log::info!(
                "shipped {} events and {} runs to the central store",
                s.events,
                s.runs
            ),
            Err(e) => warn!("not shipped to the central store: {e}; {}", e.way_out()),
        }
    }
}

impl RunArgs {
    pub(super) fn job(&self) -> JobOptions {
        JobOptions {
            from_end: self.from_end,
            jsonl: self.jsonl.clone(),
            progress: !self.no_progress,
            no_dns: self.no_dns,
        }
    }
}

/// What `--reset` moves: the run's outputs. `--purge` adds caches (every other file of the
/// working and state directories, except the lock).
fn outputs_of(config: &Config) -> Vec<PathBuf> {
    let mut v = WorkDir::of(config).outputs();
    v.extend(config.paths.jsonl_path.clone());
    v
}

pub fn reset(common: &Common, purge: bool) -> anyhow::Result<ExitCode> {
    let (config, _lock) = match prepare_alone(common) {
        Ok(p) => p,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let mut paths = outputs_of(&config);
    if purge {
        for dir in [&config.paths.working_dir, &config.paths.state_dir] {
            for entry in std::fs::read_dir(dir)? {
                let p = entry?.path();
                let keep = p == WorkDir::of(&config).lock()
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
        let db = WorkDir::of(&config).store();
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

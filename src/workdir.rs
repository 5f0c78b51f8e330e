//! The files of a working directory and a state directory, by name: the one place that knows
//! that the store is `maillogsentinel.db`, the CSV `maillogsentinel.csv`, and where the markers
//! of an unfinished reconcile or of the last store check live. Commands, jobs and tests ask a
//! [`WorkDir`] instead of joining names themselves.
//!
//! Not here: creating or opening the files.

use std::path::{Path, PathBuf};

use crate::config::Config;

/// The store (SQLite) in the working directory.
const DB_FILE: &str = "maillogsentinel.db";
/// The old tool's CSV, kept growing.
const CSV_FILE: &str = "maillogsentinel.csv";
/// The tool's own log.
const LOG_FILE: &str = "maillogsentinel.log";
/// In `state_dir` while the CSV is being reconciled with a store that did not know it.
const RECONCILE_MARKER: &str = "csv-reconcile";
/// In `state_dir`: its modification time is the last check of a large store.
const CHECKED_MARKER: &str = "store-checked";
/// In `state_dir`: the run lock.
pub const LOCK_FILE: &str = "maillogsentinel.lock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkDir {
    working: PathBuf,
    state: PathBuf,
}

impl WorkDir {
    pub fn new(working: &Path, state: &Path) -> WorkDir {
        WorkDir {
            working: working.to_path_buf(),
            state: state.to_path_buf(),
        }
    }

    pub fn of(config: &Config) -> WorkDir {
        WorkDir::new(&config.paths.working_dir, &config.paths.state_dir)
    }

    pub fn store(&self) -> PathBuf {
        self.working.join(DB_FILE)
    }

    pub fn csv(&self) -> PathBuf {
        self.working.join(CSV_FILE)
    }

    pub fn log(&self) -> PathBuf {
        self.working.join(LOG_FILE)
    }

    /// Saved reports (`report-<window>.txt`, `.html`, `.eml`).
    pub fn reports(&self) -> PathBuf {
        self.working.join("reports")
    }

    pub fn reconcile_marker(&self) -> PathBuf {
        self.state.join(RECONCILE_MARKER)
    }

    pub fn checked_marker(&self) -> PathBuf {
        self.state.join(CHECKED_MARKER)
    }

    pub fn lock(&self) -> PathBuf {
        self.state.join(LOCK_FILE)
    }

    /// What a run writes in the working directory: the CSV, the store with SQLite's side
    /// files, the own log and its rotations (what `--reset` archives).
    pub fn outputs(&self) -> Vec<PathBuf> {
        let (db, log) = (self.store(), self.log());
        let mut v = vec![
            self.csv(),
            db.clone(),
            suffixed(&db, "-wal"),
            suffixed(&db, "-shm"),
            log.clone(),
        ];
        v.extend((1..=crate::logging::KEEP).map(|i| suffixed(&log, &format!(".{i}"))));
        v
    }
}

/// `path` with `suffix` appended to its file name (`x.db` -> `x.db-wal`).
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_old_tools() {
        let w = WorkDir::new(Path::new("/w"), Path::new("/s"));
        assert_eq!(w.store(), Path::new("/w/maillogsentinel.db"));
        assert_eq!(w.csv(), Path::new("/w/maillogsentinel.csv"));
        assert_eq!(w.lock(), Path::new("/s/maillogsentinel.lock"));
        let out = w.outputs();
        assert!(out.contains(&PathBuf::from("/w/maillogsentinel.db-wal")));
        assert!(out.contains(&PathBuf::from("/w/maillogsentinel.log.1")));
    }
}

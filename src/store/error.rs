//! What can go wrong with the store, worded for the operator: a full disk, an I/O error, a
//! damaged file and a store locked by another process each get their own variant so that the
//! command line can say so plainly instead of printing a raw SQLite code.
//!
//! Not here: deciding whether an error is fatal (the caller does).

use std::path::PathBuf;

use rusqlite::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be created or opened at all.
    #[error("cannot open the store {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// SQLITE_FULL: no space left on the device (or the file hit its size limit).
    #[error("disk full: no space left for the store while {doing} ({source})")]
    Full {
        doing: &'static str,
        source: rusqlite::Error,
    },
    /// SQLITE_IOERR: the operating system failed a read, write or fsync.
    #[error("I/O error on the store while {doing}: {source}")]
    Io {
        doing: &'static str,
        source: rusqlite::Error,
    },
    /// SQLITE_BUSY / SQLITE_LOCKED past the busy timeout: another process holds the store.
    #[error("the store is locked by another process while {doing}: {source}")]
    Busy {
        doing: &'static str,
        source: rusqlite::Error,
    },
    /// Not a SQLite file, a damaged one, or rows this version cannot read.
    #[error("the store is damaged: {message}")]
    Corrupt { message: String },
    /// The schema is newer than this program knows.
    #[error(
        "the store was written by a newer version of maillogsentinel (schema {found}, this one knows {known})"
    )]
    NewerSchema { found: i64, known: i64 },
    /// A read-only open found an older schema (a run migrates it).
    #[error("the store has schema {found}: the next run migrates it")]
    OlderSchema { found: i64 },
    /// The central PostgreSQL store failed a read (fleet reports).
    #[error("the central store: {0}")]
    Central(String),
    /// Any other SQLite error, with what was being done.
    #[error("store error while {doing}: {source}")]
    Sqlite {
        doing: &'static str,
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Whether the device is full: an SQLite SQLITE_FULL, or ENOSPC when creating the file.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Full { .. } => true,
            StoreError::Open { source, .. } => source
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::StorageFull),
            _ => false,
        }
    }

    /// What the operator can do about it, said after the error.
    pub fn way_out(&self) -> &'static str {
        match self {
            StoreError::Full { .. } => {
                "free space on the store's file system and run again: nothing committed is lost, and the lines not stored are read again"
            }
            StoreError::Io { .. } | StoreError::Corrupt { .. } => {
                "restore maillogsentinel.db from a backup, or run `maillogsentinel --reset`: it archives the damaged store and the CSV into backup_dir and the next run reads the logs again"
            }
            StoreError::Open { .. } => {
                "check that working_dir exists, is writable by this user and its file system has space"
            }
            StoreError::Busy { .. } => "another process holds the store: run again later",
            StoreError::NewerSchema { .. } => {
                "run the newer maillogsentinel that wrote it, or `maillogsentinel --reset` to start over"
            }
            StoreError::OlderSchema { .. } => "run maillogsentinel once: it migrates the store",
            StoreError::Central(_) => {
                "check that the central PostgreSQL is up and that [central] report_url may read it"
            }
            StoreError::Sqlite { .. } => {
                "run `maillogsentinel check-config`; if the store is damaged, restore a backup or run `maillogsentinel --reset`"
            }
        }
    }

    /// Classifies a SQLite error raised while `doing`.
    pub(crate) fn sqlite(doing: &'static str, source: rusqlite::Error) -> StoreError {
        match source.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full { doing, source },
            Some(ErrorCode::SystemIoFailure) => StoreError::Io { doing, source },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy { doing, source }
            }
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
                message: format!("{doing}: {source}"),
            },
            _ => StoreError::Sqlite { doing, source },
        }
    }

    /// The store at `path` could not be created or opened.
    pub(crate) fn open(
        path: &std::path::Path,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError::Open {
            path: path.to_path_buf(),
            source: source.into(),
        }
    }

    pub(crate) fn corrupt(message: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            message: message.into(),
        }
    }
}

/// `.doing("what")` on a rusqlite result: classify the error and say what was being done.
pub(crate) trait Doing<T> {
    fn doing(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Doing<T> for rusqlite::Result<T> {
    fn doing(self, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::sqlite(what, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_are_classified() {
        let full = StoreError::sqlite("storing events", code(rusqlite::ffi::SQLITE_FULL));
        assert!(matches!(full, StoreError::Full { .. }));
        assert!(full.is_disk_full());
        assert!(full.to_string().starts_with("disk full"), "{full}");
        assert!(full.to_string().contains("storing events"), "{full}");
        assert!(matches!(
            StoreError::sqlite("x", code(rusqlite::ffi::SQLITE_IOERR_FSYNC)),
            StoreError::Io { .. }
        ));
        assert!(matches!(
            StoreError::sqlite("x", code(rusqlite::ffi::SQLITE_BUSY)),
            StoreError::Busy { .. }
        ));
        assert!(matches!(
            StoreError::sqlite("x", code(rusqlite::ffi::SQLITE_NOTADB)),
            StoreError::Corrupt { .. }
        ));
        assert!(matches!(
            StoreError::sqlite("x", code(rusqlite::ffi::SQLITE_CORRUPT)),
            StoreError::Corrupt { .. }
        ));
        let other = StoreError::sqlite("x", code(rusqlite::ffi::SQLITE_CONSTRAINT));
        assert!(matches!(other, StoreError::Sqlite { doing: "x", .. }));
        assert!(!other.is_disk_full());
        assert!(!StoreError::sqlite("x", rusqlite::Error::QueryReturnedNoRows).is_disk_full());
    }

    #[test]
    fn enospc_at_creation_is_disk_full() {
        let e = StoreError::Open {
            path: "/x".into(),
            source: Box::new(std::io::Error::from_raw_os_error(
                nix::errno::Errno::ENOSPC as i32,
            )),
        };
        assert!(e.is_disk_full());
        let e = StoreError::Open {
            path: "/x".into(),
            source: Box::new(std::io::Error::from_raw_os_error(
                nix::errno::Errno::EACCES as i32,
            )),
        };
        assert!(!e.is_disk_full());
    }
}

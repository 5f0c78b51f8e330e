//! Run guards: one run at a time (an exclusive lock file), and no running as root.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another maillogsentinel run holds {0}; try again when it has finished")]
    Busy(PathBuf),
    #[error("cannot open lock file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Held for the whole run; released when dropped (or when the process dies: the kernel drops
/// the lock, so a killed run never blocks the next one).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Takes the lock file at `path` (`WorkDir::lock`).
pub fn acquire(path: &Path) -> Result<RunLock, LockError> {
    let path = path.to_path_buf();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o640)
        .open(&path)
        .map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(LockError::Busy(path)),
        Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
    }
}

/// Whether the process runs with root's effective user id.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The name of the effective user (from /etc/passwd), for messages that say what to run.
pub fn user_name() -> String {
    let uid = nix::unistd::geteuid().to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)? == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(&dir.path().join("lock")).unwrap();
        assert!(matches!(
            acquire(&dir.path().join("lock")),
            Err(LockError::Busy(_))
        ));
        drop(first);
        assert!(acquire(&dir.path().join("lock")).is_ok());
    }
}

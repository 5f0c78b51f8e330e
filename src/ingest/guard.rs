//! Run guards: one run at a time (an exclusive lock file), and no running as root.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another maillogsentinel run holds {0}; try again when it has finished")]
    Busy(PathBuf),
    /// `maillogsentinel follow` holds the store: it reads the logs as they are written.
    #[error(
        "maillogsentinel follow (pid {pid}) holds {path}: it reads the logs as they are written"
    )]
    Follow { path: PathBuf, pid: u32 },
    #[error("cannot open lock file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Held for the whole run; released when dropped (or when the process dies: the kernel drops
/// the lock, so a killed run never blocks the next one).
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

/// What the lock file says while follow mode holds it (the holder's process id follows).
const FOLLOW_MARK: &str = "follow ";

impl RunLock {
    /// Says in the lock file that follow mode holds it, so that a default run started
    /// meanwhile knows that its work is done (a run that takes the lock clears the mark).
    pub fn mark_follow(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.write_all_at(
            format!("{FOLLOW_MARK}{}\n", std::process::id()).as_bytes(),
            0,
        )
    }
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
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0).map_err(io)?;
            Ok(RunLock { file })
        }
        Err(TryLockError::WouldBlock) => {
            let held_by = std::fs::read_to_string(&path).unwrap_or_default();
            match held_by
                .strip_prefix(FOLLOW_MARK)
                .and_then(|pid| pid.trim().parse().ok())
            {
                Some(pid) => Err(LockError::Follow { path, pid }),
                None => Err(LockError::Busy(path)),
            }
        }
        Err(TryLockError::Error(source)) => Err(io(source)),
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

    #[test]
    fn follow_mode_is_named_while_it_holds_the_lock_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let mut follow = acquire(&path).unwrap();
        follow.mark_follow().unwrap();
        match acquire(&path) {
            Err(LockError::Follow { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("{other:?}"),
        }
        drop(follow);
        // A killed follow leaves its mark; the next holder clears it.
        let run = acquire(&path).unwrap();
        assert!(matches!(acquire(&path), Err(LockError::Busy(_))));
        drop(run);
    }
}

//! `--reset` and `--purge`: move the run's outputs (and, for purge, its caches) into a
//! timestamped backup directory, so the next run starts from the beginning. Nothing is
//! deleted: a file is renamed, or copied then removed when the backup is on another disk.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One file or directory moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub from: PathBuf,
    pub to: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot move {from} to {to}: {source}")]
pub struct ArchiveError {
    pub from: PathBuf,
    pub to: PathBuf,
    pub source: io::Error,
}

/// Moves each existing path of `paths` into a new directory `<backup_dir>/<label>-<stamp>`
/// (created 0750), keeping file names; returns what was moved (in order).
pub fn archive(
    paths: &[PathBuf],
    backup_dir: &Path,
    label: &str,
) -> Result<(PathBuf, Vec<Moved>), ArchiveError> {
    let stamp = jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string();
    let mut dest = backup_dir.join(format!("{label}-{stamp}"));
    let mut n = 1;
    while dest.exists() {
        n += 1;
        dest = backup_dir.join(format!("{label}-{stamp}-{n}"));
    }
    let mut moved = Vec::new();
    for from in paths.iter().filter(|p| p.exists()) {
        if moved.is_empty() {
            create_private_dir(&dest).map_err(|source| ArchiveError {
                from: from.clone(),
                to: dest.clone(),
                source,
            })?;
        }
        let name = from
            .file_name()
            .map_or_else(|| "unnamed".into(), |n| n.to_owned());
        let to = dest.join(name);
        move_path(from, &to).map_err(|source| ArchiveError {
            from: from.clone(),
            to: to.clone(),
            source,
        })?;
        moved.push(Moved {
            from: from.clone(),
            to,
        });
    }
    Ok((dest, moved))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
}

fn move_path(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EXDEV as i32) => {
            copy_recursive(from, to)?;
            if from.is_dir() {
                fs::remove_dir_all(from)
            } else {
                fs::remove_file(from)
            }
        }
        other => other,
    }
}

fn copy_recursive(from: &Path, to: &Path) -> io::Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_recursive(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_existing_files_and_keeps_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        fs::create_dir(&work).unwrap();
        fs::write(work.join("maillogsentinel.csv"), b"rows\n").unwrap();
        fs::write(work.join("maillogsentinel.db"), b"db").unwrap();
        let backups = dir.path().join("backups");
        let (dest, moved) = archive(
            &[
                work.join("maillogsentinel.csv"),
                work.join("maillogsentinel.db"),
                work.join("absent.log"),
            ],
            &backups,
            "reset",
        )
        .unwrap();
        assert_eq!(moved.len(), 2);
        assert!(!work.join("maillogsentinel.csv").exists());
        assert_eq!(
            fs::read(dest.join("maillogsentinel.csv")).unwrap(),
            b"rows\n"
        );
        assert_eq!(fs::read(dest.join("maillogsentinel.db")).unwrap(), b"db");
        // A second archive in the same second gets its own directory.
        fs::write(work.join("maillogsentinel.csv"), b"new\n").unwrap();
        let (dest2, _) = archive(&[work.join("maillogsentinel.csv")], &backups, "reset").unwrap();
        assert_ne!(dest, dest2);
        assert_eq!(
            fs::read(dest.join("maillogsentinel.csv")).unwrap(),
            b"rows\n"
        );
    }

    #[test]
    fn nothing_to_move_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (dest, moved) =
            archive(&[dir.path().join("none")], &dir.path().join("b"), "purge").unwrap();
        assert!(moved.is_empty() && !dest.exists());
    }
}

//! The program's own log: `maillogsentinel.log` in the working directory at the configured
//! level, rotated at 1 MB keeping 5 (as the old tool did), and stderr when run by hand.
//!
//! Library code logs through the `log` facade; this module only installs the backend.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Size at which the log file is rotated.
pub const ROTATE_BYTES: u64 = 1_000_000;
/// Rotated files kept (`.1` newest … `.5` oldest).
pub const KEEP: u32 = 5;

struct FileLog {
    path: PathBuf,
    file: File,
    len: u64,
}

impl FileLog {
    fn open(path: &Path) -> io::Result<FileLog> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(path)?;
        let len = file.metadata()?.len();
        Ok(FileLog {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        for i in (1..KEEP).rev() {
            let from = rotated_name(&self.path, i);
            if from.exists() {
                fs::rename(&from, rotated_name(&self.path, i + 1))?;
            }
        }
        fs::rename(&self.path, rotated_name(&self.path, 1))?;
        *self = FileLog::open(&self.path)?;
        Ok(())
    }

    fn write_line(&mut self, line: &str) -> io::Result<()> {
        if self.len + line.len() as u64 > ROTATE_BYTES && self.len > 0 {
            self.rotate()?;
        }
        self.file.write_all(line.as_bytes())?;
        self.len += line.len() as u64;
        Ok(())
    }
}

fn rotated_name(path: &Path, i: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{i}"));
    PathBuf::from(name)
}

/// The target of [`fatal`] records: the file gets them, stderr already has them.
const FATAL: &str = "maillogsentinel::fatal";

/// The error that ends the process: on stderr always, and in the own log when one is
/// installed (a timer run's only trace).
pub fn fatal(message: &str) {
    log::error!(target: FATAL, "{message}");
    log::logger().flush();
    eprintln!("maillogsentinel: {message}");
}

/// The installed backend: a file (optional) and stderr (optional).
pub struct Logger {
    level: LevelFilter,
    file: Option<Mutex<FileLog>>,
    stderr: bool,
}

impl Logger {
    /// Logs to `file` (when given) and to stderr when stderr is a terminal or `force_stderr`.
    pub fn new(level: LevelFilter, file: Option<&Path>, force_stderr: bool) -> io::Result<Logger> {
        Ok(Logger {
            level,
            file: file.map(FileLog::open).transpose()?.map(Mutex::new),
            stderr: force_stderr || io::stderr().is_terminal(),
        })
    }

    /// Installs this logger for the whole process (once; later calls are ignored).
    pub fn install(self) {
        let level = self.level;
        if log::set_boxed_logger(Box::new(self)).is_ok() {
            log::set_max_level(level);
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if self.stderr && record.target() != FATAL {
            let tag = match record.level() {
                Level::Error => "error: ",
                Level::Warn => "warning: ",
                _ => "",
            };
            eprintln!("maillogsentinel: {tag}{}", record.args());
        }
        if let Some(file) = &self.file {
            let now = jiff::Timestamp::now();
            let line = format!(
                "{} {} {}\n",
                now.strftime("%Y-%m-%d %H:%M:%S%.3f"),
                record.level(),
                record.args()
            );
            if let Ok(mut f) = file.lock() {
                // A log that cannot be written must not stop the run; stderr still has it.
                let _ = f.write_line(&line);
            }
        }
    }

    fn flush(&self) {
        if let Some(file) = &self.file
            && let Ok(mut f) = file.lock()
        {
            let _ = f.file.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_the_size_and_keeps_five() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maillogsentinel.log");
        let mut log = FileLog::open(&path).unwrap();
        let line = "x".repeat(999) + "\n";
        for _ in 0..(7 * 1000 + 10) {
            log.write_line(&line).unwrap();
        }
        for i in 1..=KEEP {
            let len = fs::metadata(rotated_name(&path, i)).unwrap().len();
            assert!(
                len <= ROTATE_BYTES && len > ROTATE_BYTES - 1000,
                "{i}: {len}"
            );
        }
        assert!(!rotated_name(&path, KEEP + 1).exists());
        assert!(fs::metadata(&path).unwrap().len() <= ROTATE_BYTES);
    }
}

//! Shared by the integration tests: a seeded RNG, a log writer that rotates like
//! logrotate, a config in a temp dir, and readers of what a run stored.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub struct Rng(pub u64);

impl Rng {
    pub fn from_env(var: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The line of attempt `n`: a Postfix failure naming user `u{n}`.
pub fn line(n: u64) -> Vec<u8> {
    format!(
        "Nov 23 06:{:02}:{:02} mx1 postfix/smtpd[{}]: warning: unknown[192.0.2.{}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=u{n}\n",
        (n / 60) % 60,
        n % 60,
        1000 + n % 5000,
        n % 250 + 1
    )
    .into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Writes lines `u0, u1, ...` to `dir/mail.log` and rotates it; never deletes a line.
pub struct Writer {
    pub dir: PathBuf,
    /// Lines started so far (the last may be partial).
    pub next_user: u64,
    /// The end of a line written only in part.
    pub partial: Option<Vec<u8>>,
    /// Rotated files so far, oldest last: numbering of `mail.log.N[.gz]`.
    rotated: u32,
    /// What every new live log starts with before its first line (see [`prefixes`]).
    pub prefix: Vec<u8>,
}

/// Starts of files that made two different logs look alike: none, an empty line, NUL bytes
/// left by a crash, a fixed banner without a timestamp.
pub fn prefixes() -> [Vec<u8>; 4] {
    [
        Vec::new(),
        b"\n".to_vec(),
        vec![0u8; 70 * 1024],
        b"=== mail log of mx1 ===\n".to_vec(),
    ]
}

impl Writer {
    pub fn new(dir: &Path) -> Writer {
        fs::create_dir_all(dir).unwrap();
        Writer {
            dir: dir.to_path_buf(),
            next_user: 0,
            partial: None,
            rotated: 0,
            prefix: Vec::new(),
        }
    }

    /// A writer whose every new live log starts with `prefix`.
    pub fn with_prefix(mut self, prefix: Vec<u8>) -> Writer {
        self.prefix = prefix;
        self
    }

    pub fn live(&self) -> PathBuf {
        self.dir.join("mail.log")
    }

    fn open_live(&self) -> File {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.live())
            .unwrap();
        if f.metadata().unwrap().len() == 0 {
            f.write_all(&self.prefix).unwrap();
        }
        f
    }

    /// Lines whose newline is written.
    pub fn complete_lines(&self) -> u64 {
        self.next_user - u64::from(self.partial.is_some())
    }

    /// Appends up to `max` lines; with `allow_partial`, maybe ends in the middle of one.
    pub fn append(&mut self, rng: &mut Rng, max: u64, allow_partial: bool) {
        let mut f = self.open_live();
        if let Some(rest) = self.partial.take() {
            f.write_all(&rest).unwrap();
        }
        for _ in 0..rng.below(max) + 1 {
            let l = line(self.next_user);
            self.next_user += 1;
            if allow_partial && rng.below(8) == 0 {
                let cut = 1 + rng.below(l.len() as u64 - 1) as usize;
                f.write_all(&l[..cut]).unwrap();
                self.partial = Some(l[cut..].to_vec());
                return;
            }
            f.write_all(&l).unwrap();
        }
    }

    /// Finishes a partial line (a daemon does before its log is rotated).
    pub fn finish_line(&mut self) {
        if let Some(rest) = self.partial.take() {
            self.open_live().write_all(&rest).unwrap();
        }
    }

    /// Renames `mail.log.K[.gz]` to K+1, oldest first.
    fn shift(&mut self) {
        for k in (1..=self.rotated).rev() {
            for ext in ["", ".gz"] {
                let from = self.dir.join(format!("mail.log.{k}{ext}"));
                if from.exists() {
                    fs::rename(&from, self.dir.join(format!("mail.log.{}{ext}", k + 1))).unwrap();
                }
            }
        }
        self.rotated += 1;
    }

    /// logrotate `create` + `delaycompress`: `.1` becomes `.2.gz`, the live log `.1`.
    pub fn rotate_create(&mut self) {
        self.finish_line();
        self.shift();
        self.compress(2);
        if self.live().exists() {
            fs::rename(self.live(), self.dir.join("mail.log.1")).unwrap();
        }
        File::create(self.live()).unwrap();
    }

    /// logrotate `copytruncate`: the live log is copied to `.1` and truncated in place.
    pub fn rotate_copytruncate(&mut self) {
        self.finish_line();
        self.shift();
        self.compress(2);
        if self.live().exists() {
            fs::copy(self.live(), self.dir.join("mail.log.1")).unwrap();
        }
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.live())
            .unwrap();
    }

    /// Compresses `mail.log.K` into `mail.log.K.gz` (through a temporary file, as logrotate).
    pub fn compress(&mut self, k: u32) {
        let plain = self.dir.join(format!("mail.log.{k}"));
        if !plain.exists() {
            return;
        }
        let tmp = self.dir.join(format!("mail.log.{k}.gz.tmp"));
        fs::write(&tmp, gzip(&fs::read(&plain).unwrap())).unwrap();
        fs::rename(tmp, self.dir.join(format!("mail.log.{k}.gz"))).unwrap();
        fs::remove_file(plain).unwrap();
    }
}

/// A working dir and a config pointing at `logs/mail.log`.
pub struct Setup {
    pub _tmp: Option<tempfile::TempDir>,
    pub logs: PathBuf,
    pub work: PathBuf,
    pub config: PathBuf,
}

pub fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = setup_in(tmp.path());
    s._tmp = Some(tmp);
    s
}

/// [`setup`] in `dir` (created), which the caller keeps.
pub fn setup_in(dir: &Path) -> Setup {
    let logs = dir.join("logs");
    let work = dir.join("work");
    fs::create_dir_all(&logs).unwrap();
    let config = dir.join("maillogsentinel.conf");
    fs::write(
        &config,
        format!(
            "[paths]\nworking_dir = {w}\nstate_dir = {w}\nmail_log = {l}\n\n[general]\nlog_level = WARNING\n\n[dns]\nenabled = false\n",
            w = work.display(),
            l = logs.join("mail.log").display()
        ),
    )
    .unwrap();
    Setup {
        _tmp: None,
        logs,
        work,
        config,
    }
}

pub fn spawn_run(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--no-progress", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `maillogsentinel follow` with `config`, its stderr into the file `stderr`.
pub fn spawn_follow(config: &Path, stderr: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(config)
        .arg("follow")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(stderr).unwrap())
        .spawn()
        .unwrap()
}

/// Runs to the end; panics with its stderr when it fails.
pub fn run_ok(config: &Path) {
    let out = spawn_run(config).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "run failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Failure attempts per user in the store.
pub fn users_in_db(work: &Path) -> HashMap<String, u64> {
    try_users_in_db(work).unwrap()
}

/// Failure attempts per user in the store, or the error of a store still being created
/// (a process running meanwhile may not have created its tables yet).
pub fn try_users_in_db(work: &Path) -> rusqlite::Result<HashMap<String, u64>> {
    let mut map = HashMap::new();
    let db = work.join("maillogsentinel.db");
    if !db.exists() {
        return Ok(map);
    }
    let db = rusqlite::Connection::open(db)?;
    let mut stmt = db.prepare("SELECT user, attempts FROM events WHERE outcome = 'failure'")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?)))?;
    for row in rows {
        let (user, attempts) = row?;
        *map.entry(String::from_utf8(user).unwrap()).or_default() += attempts;
    }
    Ok(map)
}

/// Rows per user in the CSV.
pub fn users_in_csv(work: &Path) -> HashMap<String, u64> {
    let mut map = HashMap::new();
    let Ok(csv) = fs::read_to_string(work.join("maillogsentinel.csv")) else {
        return map;
    };
    for row in csv.lines().skip(1) {
        let user = row.split(';').nth(3).unwrap().to_owned();
        *map.entry(user).or_default() += 1;
    }
    map
}

/// Every line `u0..u{n}` exactly once in both the store and the CSV; the problems otherwise.
pub fn exactly_once(work: &Path, n: u64) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, map) in [("sqlite", users_in_db(work)), ("csv", users_in_csv(work))] {
        for u in 0..n {
            match map.get(&format!("u{u}")) {
                Some(1) => {}
                other => problems.push(format!("u{u}: {other:?} in {name}")),
            }
        }
        if map.len() as u64 != n {
            problems.push(format!("{name} holds {} users, expected {n}", map.len()));
        }
    }
    problems
}

/// [`exactly_once`], or a panic naming the randomised test's `seed` and the first problems.
pub fn assert_exactly_once(work: &Path, n: u64, seed: u64) {
    let problems = exactly_once(work, n);
    assert!(
        problems.is_empty(),
        "seed {seed}: {} problems, first: {:?}",
        problems.len(),
        &problems[..problems.len().min(20)]
    );
}

/// Whether tests can run the binary as `user` (root, the user exists, `setpriv` is there);
/// says SKIPPED otherwise (a failure with `MLS_REQUIRE_SERVERS`, when running as root).
pub fn can_drop_to(user: &str) -> bool {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let exists = Command::new("id")
        .arg(user)
        .output()
        .unwrap()
        .status
        .success();
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if root && exists && setpriv {
        return true;
    }
    if root && std::env::var_os("MLS_REQUIRE_SERVERS").is_some() {
        panic!("user {user} or setpriv missing (scripts/test creates {user})");
    }
    eprintln!("SKIPPED: needs root, user {user} and setpriv");
    false
}

pub fn chown(user: &str, path: &Path) {
    assert!(
        Command::new("chown")
            .arg(format!("{user}:"))
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}

/// Runs `args` with the clock at `at` (UTC), through libfaketime.
pub fn run_at(config: &Path, at: &str, args: &[&str]) -> Option<Output> {
    if Command::new("faketime").arg("--version").output().is_err() {
        if std::env::var_os("MLS_REQUIRE_SERVERS").is_some() {
            panic!("faketime not found (Debian package faketime), and MLS_REQUIRE_SERVERS is set");
        }
        eprintln!("SKIPPED: faketime not found (Debian package faketime)");
        return None;
    }
    Some(
        Command::new("faketime")
            .arg(at)
            .arg(env!("CARGO_BIN_EXE_maillogsentinel"))
            .args(["--allow-root", "--no-progress", "--config"])
            .arg(config)
            .args(args)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

/// Sets the mtime of `path` to `when` (a `touch -d` date).
pub fn touch(path: &Path, when: &str) {
    let ok = Command::new("touch")
        .args(["-d", when])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "touch -d {when} {}", path.display());
}

/// Whether `tool` is installed; without it SKIPPED (Debian package `package`), or a failure
/// with MLS_REQUIRE_SERVERS (scripts/test installs it).
pub fn require(tool: &str, package: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("MLS_REQUIRE_SERVERS").is_none(),
            "{tool} not found (Debian package {package}), and MLS_REQUIRE_SERVERS is set"
        );
        eprintln!("SKIPPED: {tool} not found (Debian package {package})");
    }
    found
}

//! The default run's failure paths (issue 10): each test reproduces a case where a run lost or
//! doubled events with exit 0 and no warning, or where a broken setup looked healthy.

use crate::support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{Rng, Writer, exactly_once, run_ok, setup};

fn mls(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--no-progress", "--config"])
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every line `u0..u{n}` once in the store and the CSV.
#[track_caller]
fn assert_once(work: &Path, n: u64) {
    let problems = exactly_once(work, n);
    assert!(
        problems.is_empty(),
        "{:?}",
        &problems[..problems.len().min(10)]
    );
}

fn own_log(work: &Path) -> String {
    fs::read_to_string(work.join("maillogsentinel.log")).unwrap_or_default()
}

/// Finding 11: the report's options without `--report` used to do a plain run, exit 0.
#[test]
fn report_options_without_report_are_refused_with_64() {
    let s = setup();
    Writer::new(&s.logs).append(&mut Rng(1), 3, false);
    let html = s.work.join("r.html");
    let cases: [&[&str]; 7] = [
        &["--yesterday"],
        &["--stdout"],
        &["--date", "2026-11-23"],
        &["--html", html.to_str().unwrap()],
        &["--since", "2026-11-23", "--until", "2026-11-24"],
        &["--no-scan"],
        &["--send"],
    ];
    for args in cases {
        let o = mls(&s.config, args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(args[0]) && stderr(&o).contains("--report"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!s.work.join("maillogsentinel.csv").exists(), "{args:?} ran");
    }
    // With --report they are fine.
    let o = mls(&s.config, &["--report", "--stdout", "--no-dns"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Finding 9: control bytes of an attacker's user name reached the CSV raw.
#[test]
fn control_bytes_are_escaped_in_the_csv_and_kept_in_the_store() {
    let s = setup();
    let user: &[u8] = b"a\x1b[2J\x07b\x7fc\x01d";
    let mut line = b"Nov 23 06:25:04 mx1 postfix/smtpd[7]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=".to_vec();
    line.extend_from_slice(user);
    line.push(b'\n');
    fs::write(s.logs.join("mail.log"), &line).unwrap();
    let jsonl = s.work.join("events.jsonl");
    let o = mls(&s.config, &["--jsonl", jsonl.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = fs::read(s.work.join("maillogsentinel.csv")).unwrap();
    assert!(
        !csv.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
        "{}",
        String::from_utf8_lossy(&csv)
    );
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains(";a\\x1b[2J\\x07b\\x7fc\\x01d;"), "{text}");
    let db = rusqlite::Connection::open(s.work.join("maillogsentinel.db")).unwrap();
    let stored: Vec<u8> = db
        .query_row("SELECT user FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, user);
    let j: serde_json::Value =
        serde_json::from_str(fs::read_to_string(&jsonl).unwrap().trim()).unwrap();
    assert_eq!(j["user"].as_str().unwrap().as_bytes(), user);
}

/// Finding 4: a mail log that cannot be read was a silent success.
#[test]
fn an_unreadable_mail_log_fails_loudly() {
    let s = setup();
    let log = s.logs.join("mail.log");
    let conf = |mail_log: &Path| {
        let text = fs::read_to_string(&s.config).unwrap();
        let text = text
            .lines()
            .map(|l| {
                if l.starts_with("mail_log") {
                    format!("mail_log = {}", mail_log.display())
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        fs::write(&s.config, text).unwrap();
    };
    // Missing.
    let o = mls(&s.config, &[]);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&log.display().to_string()),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    assert!(
        own_log(&s.work).contains("does not exist"),
        "{}",
        own_log(&s.work)
    );
    // A directory.
    let dir = s.logs.join("adir");
    fs::create_dir(&dir).unwrap();
    conf(&dir);
    let o = mls(&s.config, &[]);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    // A symlink loop.
    let looped = s.logs.join("loop.log");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    conf(&looped);
    let o = mls(&s.config, &[]);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    // A character device and a FIFO are refused, not read forever.
    conf(Path::new("/dev/zero"));
    let o = mls(&s.config, &[]);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    let fifo = s.logs.join("fifo.log");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    conf(&fifo);
    let o = mls(&s.config, &[]);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    // check-config names the real cause.
    conf(&dir);
    let o = mls(&s.config, &["check-config"]);
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("is a directory"), "{out}");
    assert!(!out.contains("No such file"), "{out}");
}

/// Finding 4, as a user without the right group: exit 77 with the `adm` hint.
#[test]
fn a_mail_log_without_read_permission_exits_77_with_the_hint() {
    if !support::can_drop_to("mlstest") {
        return;
    }
    let s = setup();
    let mut w = Writer::new(&s.logs);
    w.append(&mut Rng(2), 5, false);
    fs::create_dir_all(&s.work).unwrap();
    let parent = s.logs.parent().unwrap();
    for p in [parent, &s.logs, &s.work] {
        support::chown("mlstest", p);
    }
    support::chown("mlstest", &s.config);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(w.live(), fs::Permissions::from_mode(0o600)).unwrap();
    support::chown("root", &w.live());
    let o = Command::new("setpriv")
        .args(["--reuid=mlstest", "--regid=mlstest", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--no-progress", "--config"])
        .arg(&s.config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(77), "{}", stderr(&o));
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
    assert!(stderr(&o).contains("adm"), "{}", stderr(&o));
    assert!(own_log(&s.work).contains("adm"), "{}", own_log(&s.work));
    assert!(
        !own_log(&s.work).contains("lines before the damage"),
        "{}",
        own_log(&s.work)
    );
}

/// Finding 2: a line longer than the read buffer deferred every later line to the next run.
#[test]
fn every_complete_line_after_a_huge_line_is_read_by_the_same_run() {
    let s = setup();
    let mut w = Writer::new(&s.logs);
    let mut rng = Rng(5);
    w.append(&mut rng, 10, false);
    {
        let mut f = fs::OpenOptions::new().append(true).open(w.live()).unwrap();
        let mut huge = b"Nov 23 07:00:00 mx1 postfix/smtpd[1]: ".to_vec();
        huge.extend(std::iter::repeat_n(b'A', 3 << 20));
        huge.push(b'\n');
        f.write_all(&huge).unwrap();
    }
    w.append(&mut rng, 10, false);
    run_ok(&s.config);
    assert_once(&s.work, w.complete_lines());
    // And a run later still reads what comes next, once.
    w.append(&mut rng, 10, false);
    run_ok(&s.config);
    assert_once(&s.work, w.complete_lines());
}

/// Finding 3: deleting the store but keeping the CSV made the next run append every row again.
#[test]
fn a_csv_whose_store_was_deleted_is_not_doubled() {
    let s = setup();
    let mut w = Writer::new(&s.logs);
    let mut rng = Rng(9);
    w.append(&mut rng, 40, false);
    run_ok(&s.config);
    for f in [
        "maillogsentinel.db",
        "maillogsentinel.db-wal",
        "maillogsentinel.db-shm",
    ] {
        let _ = fs::remove_file(s.work.join(f));
    }
    w.append(&mut rng, 40, false);
    let o = mls(&s.config, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Reconciled, and said so: every line once in the CSV, and the store rebuilt.
    assert_once(&s.work, w.complete_lines());
    assert!(
        own_log(&s.work).contains("rows already there are not written again"),
        "{}",
        own_log(&s.work)
    );
    // Runs after it stay exact.
    w.append(&mut rng, 40, false);
    run_ok(&s.config);
    assert_once(&s.work, w.complete_lines());
}

/// Finding 1: two different files with equal first lines were taken for one file.
#[test]
fn new_files_whose_first_lines_equal_the_old_ones_are_read_whole() {
    let prefixes: [(&str, Vec<u8>); 3] = [
        ("an empty line", b"\n".to_vec()),
        ("64 KiB of NUL bytes", vec![0u8; 70 * 1024]),
        ("a banner", b"=== mail log of mx1 ===\n".to_vec()),
    ];
    for (what, prefix) in prefixes {
        let s = setup();
        let mut w = Writer::new(&s.logs);
        let mut rng = Rng(21);
        fs::write(w.live(), &prefix).unwrap();
        w.append(&mut rng, 30, false);
        run_ok(&s.config);
        // The log is replaced by a new one (rotation with `create`, the old file gone) that
        // starts the same way, and holds more lines than the old one did.
        let before = w.complete_lines();
        fs::remove_file(w.live()).unwrap();
        fs::write(w.live(), &prefix).unwrap();
        for _ in 0..3 {
            w.append(&mut rng, 30, false);
        }
        run_ok(&s.config);
        let problems = exactly_once(&s.work, w.complete_lines());
        assert!(
            problems.is_empty(),
            "{what}: {before} then {}: {problems:?}",
            w.complete_lines()
        );
    }
}

/// A tmpfs of `size` mounted on `dir` (root only), unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var_os("MLS_REQUIRE_SERVERS").is_some() {
                panic!("cannot mount a tmpfs (needs root), and MLS_REQUIRE_SERVERS is set");
            }
            eprintln!("SKIPPED full disk test: cannot mount a tmpfs (needs root)");
            return None;
        }
        Some(Tmpfs(dir.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        assert!(
            Command::new("mount")
                .args(["-o", &format!("remount,size={size}")])
                .arg(&self.0)
                .status()
                .unwrap()
                .success()
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Finding 6, and the full disk: a failed commit left its rows in the CSV. On a real small file
/// system filled during a run: exit 73 with the way out, the CSV holds exactly the store's rows,
/// and once space is freed the next run stores everything exactly once, as a clean run does.
#[test]
fn a_full_disk_fails_loudly_and_keeps_the_csv_equal_to_the_store() {
    let s = setup();
    let Some(fs_) = Tmpfs::mount(&s.work, "1m") else {
        return;
    };
    let mut w = Writer::new(&s.logs);
    let mut rng = Rng(33);
    while w.complete_lines() < 30_000 {
        w.append(&mut rng, 2_000, false);
    }
    let jsonl = s.work.join("events.jsonl");
    let o = mls(&s.config, &["--jsonl", jsonl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(73), "{}", stderr(&o));
    assert!(stderr(&o).contains("free space"), "{}", stderr(&o));
    let (db, csv) = (
        support::users_in_db(&s.work),
        support::users_in_csv(&s.work),
    );
    assert_eq!(
        db,
        csv,
        "the CSV holds rows the store does not: {}",
        stderr(&o)
    );
    let jsonl_rows = fs::read_to_string(&jsonl)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(jsonl_rows as u64, db.values().sum::<u64>());
    // Space freed: everything once, as a clean run over the same log stores it.
    fs_.resize("64m");
    let o = mls(&s.config, &["--jsonl", jsonl.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_once(&s.work, w.complete_lines());
    let clean = setup();
    fs::copy(w.live(), clean.logs.join("mail.log")).unwrap();
    run_ok(&clean.config);
    assert_eq!(
        support::users_in_db(&s.work),
        support::users_in_db(&clean.work)
    );
    assert_eq!(
        fs::read(s.work.join("maillogsentinel.csv")).unwrap(),
        fs::read(clean.work.join("maillogsentinel.csv")).unwrap()
    );
    let jsonl_rows = fs::read_to_string(&jsonl).unwrap().lines().count();
    assert_eq!(jsonl_rows as u64, w.complete_lines());
}

/// Overwrites `len` bytes of `path` at `offset` with a pattern no SQLite page has.
fn damage(path: &Path, offset: u64, len: usize) {
    use std::io::{Seek, SeekFrom};
    let mut f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&vec![0xA5; len]).unwrap();
    f.sync_all().unwrap();
}

/// Finding 5: a damaged store went unnoticed by a run with nothing new and by check-config,
/// no message said what to do, and `--reset` of a store with a damaged header exited 1.
#[test]
fn a_damaged_store_is_noticed_and_reset_gets_out_of_it() {
    let s = setup();
    let mut w = Writer::new(&s.logs);
    let mut rng = Rng(44);
    while w.complete_lines() < 3_000 {
        w.append(&mut rng, 500, false);
    }
    run_ok(&s.config);
    let db_path = s.work.join("maillogsentinel.db");
    // Everything into the main file, then damage pages in its middle (events, indexes).
    let db = rusqlite::Connection::open(&db_path).unwrap();
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(db);
    let size = fs::metadata(&db_path).unwrap().len();
    damage(&db_path, size / 2 / 4096 * 4096, 3 * 4096);
    let o = mls(&s.config, &[]);
    assert_eq!(o.status.code(), Some(73), "{}", stderr(&o));
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--reset"), "{}", stderr(&o));
    assert!(own_log(&s.work).contains("damaged"), "{}", own_log(&s.work));
    let before = fs::read(&db_path).unwrap();
    let o = mls(&s.config, &["check-config"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("damaged") && out.contains("--reset"), "{out}");
    assert!(!out.contains("all good"), "{out}");
    assert_eq!(
        fs::read(&db_path).unwrap(),
        before,
        "check-config wrote to the store"
    );
    // --reset archives it (and the CSV) and the next run reads everything again, once.
    let o = mls(&s.config, &["--reset"]);
    assert!(o.status.success(), "{}", stderr(&o));
    run_ok(&s.config);
    assert_once(&s.work, w.complete_lines());

    // A damaged header: the run says what to do; --reset and --purge succeed.
    damage(&db_path, 0, 100);
    let o = mls(&s.config, &[]);
    assert_eq!(o.status.code(), Some(73), "{}", stderr(&o));
    assert!(stderr(&o).contains("--reset"), "{}", stderr(&o));
    let o = mls(&s.config, &["--reset"]);
    assert!(o.status.success(), "{}", stderr(&o));
    damage(&db_path, 0, 100);
    let o = mls(&s.config, &["--purge"]);
    assert!(o.status.success(), "{}", stderr(&o));
    run_ok(&s.config);
    assert_once(&s.work, w.complete_lines());
}

/// Finding 7: with the log's stamps behind the wall clock (a syslog daemon in another time
/// zone), a Postfix+Dovecot pair split by the end of a run was counted twice.
#[test]
fn a_pair_split_by_a_run_counts_once_when_the_log_clock_lags() {
    let s = setup();
    let log = s.logs.join("mail.log");
    let stamp = |t: i64| {
        jiff::Timestamp::from_second(t)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    // Written just now, stamped two hours earlier.
    let t = jiff::Timestamp::now().as_second() - 7200;
    fs::write(
        &log,
        format!(
            "{} mx1 dovecot: auth: passwd-file(alice@example.com,192.0.2.50): unknown user\n",
            stamp(t)
        ),
    )
    .unwrap();
    let o = mls(&s.config, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut f = fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(
        f,
        "{} mx1 postfix/smtpd[2586]: warning: unknown[192.0.2.50]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=alice@example.com",
        stamp(t + 2)
    )
    .unwrap();
    drop(f);
    let o = mls(&s.config, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        support::users_in_db(&s.work).get("alice@example.com"),
        Some(&1),
        "counted twice"
    );
    assert_eq!(
        support::users_in_csv(&s.work).get("alice@example.com"),
        Some(&1)
    );
    let log_text = own_log(&s.work);
    let lag: i64 = log_text
        .split(" s before")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no lag warning: {log_text}"));
    assert!((7199..=7202).contains(&lag), "{log_text}");
    assert_eq!(
        log_text.matches(" s before").count(),
        2,
        "once per run: {log_text}"
    );
    assert!(log_text.contains("[general] timezone"), "{log_text}");
}

/// Finding 12: the report timer fires at 23:50 and reported "today": the last ten minutes of
/// every day, and every day whose run was missed, were in no report. Scheduled reports now
/// follow each other: each from the end of the previous one.
#[test]
fn scheduled_reports_cover_every_attempt_once_and_catch_up_missed_runs() {
    let s = setup();
    let log = s.logs.join("mail.log");
    let line = |stamp: &str, user: &str, ip: u8| {
        format!(
            "{stamp} mx1 postfix/smtpd[7]: warning: unknown[192.0.2.{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}\n"
        )
    };
    // The syslog daemon writes each line when it happens; each run is shortly after.
    let write = |lines: &[(&str, &str, u8)], mtime: &str| {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        for (stamp, user, ip) in lines {
            f.write_all(line(stamp, user, *ip).as_bytes()).unwrap();
        }
        drop(f);
        support::touch(&log, mtime);
    };
    let report = |at: &str| -> Option<String> {
        let o = support::run_at(
            &s.config,
            at,
            &["--report", "--scheduled", "--stdout", "--no-dns"],
        )?;
        assert!(o.status.success(), "{at}: {}", stderr(&o));
        Some(String::from_utf8(o.stdout).unwrap())
    };
    write(
        &[
            ("Nov 23 10:00:00", "user_a", 1),
            ("Nov 23 23:49:00", "user_b", 2),
        ],
        "2026-11-23 23:49:00 UTC",
    );
    let Some(first) = report("2026-11-23 23:50:05") else {
        return;
    };
    // After the timer: the last minutes of the day, and the next day.
    write(
        &[
            ("Nov 23 23:55:00", "user_c", 3),
            ("Nov 24 12:00:00", "user_d", 4),
        ],
        "2026-11-24 12:00:00 UTC",
    );
    let second = report("2026-11-24 23:50:05").unwrap();
    // The run of the 25th is missed (the server was down); the 26th catches up.
    write(
        &[
            ("Nov 25 08:00:00", "user_e", 5),
            ("Nov 26 09:00:00", "user_f", 6),
        ],
        "2026-11-26 09:00:00 UTC",
    );
    let third = report("2026-11-26 23:50:05").unwrap();
    let reports = [&first, &second, &third];
    let wanted = [
        ("user_a", 0),
        ("user_b", 0),
        ("user_c", 1),
        ("user_d", 1),
        ("user_e", 2),
        ("user_f", 2),
    ];
    for (user, which) in wanted {
        for (i, r) in reports.iter().enumerate() {
            assert_eq!(
                r.contains(user),
                i == which,
                "{user} in report {i}:\n{}",
                reports[i]
            );
        }
    }
    assert!(
        second.contains("2026-11-23 23:50 - 2026-11-24 23:50"),
        "{second}"
    );
    assert!(
        third.contains("2026-11-24 23:50 - 2026-11-26 23:50"),
        "{third}"
    );
    // A second run at the same moment has nothing left to report.
    let again = report("2026-11-26 23:50:06").unwrap();
    assert!(!again.contains("user_f"), "{again}");
}

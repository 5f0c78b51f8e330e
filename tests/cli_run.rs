//! The default run's command line: exit statuses, config errors, lock, reset/purge, exports.

use crate::support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use crate::support::{Rng, Writer, exactly_once, run_ok, setup};

fn mls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn config_errors_name_file_line_and_key_and_exit_78() {
    let s = setup();
    fs::write(
        &s.config,
        "[paths]\nworking_dir = /tmp/x\n\n[dns_cache]\nsize = lots\n",
    )
    .unwrap();
    let o = mls(&["--allow-root", "--config", s.config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78));
    assert!(
        stderr(&o).contains(&format!("{}:5: [dns_cache] size:", s.config.display())),
        "{}",
        stderr(&o)
    );
    let o = mls(&["--allow-root", "--config", "/nonexistent/mls.conf"]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr(&o).contains("--setup"), "{}", stderr(&o));
}

#[test]
fn a_second_run_while_one_holds_the_lock_exits_75() {
    let s = setup();
    Writer::new(&s.logs).append(&mut Rng(1), 3, false);
    run_ok(&s.config);
    let lock = fs::File::open(s.work.join("maillogsentinel.lock")).unwrap();
    lock.lock().unwrap();
    let o = mls(&["--allow-root", "--config", s.config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another maillogsentinel run"),
        "{}",
        stderr(&o)
    );
    drop(lock);
    run_ok(&s.config);
}

#[test]
fn root_is_refused_without_allow_root() {
    // SAFETY: geteuid cannot fail.
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: not running as root, nothing to refuse");
        return;
    }
    let s = setup();
    let o = mls(&["--config", s.config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(77));
    assert!(stderr(&o).contains("--allow-root"));
    assert!(
        !s.work.join("maillogsentinel.db").exists(),
        "nothing written"
    );
}

#[test]
fn outputs_are_0640_and_the_jsonl_export_is_exactly_once() {
    let s = setup();
    let mut w = Writer::new(&s.logs);
    let mut rng = Rng(5);
    let jsonl = s.work.join("events.jsonl");
    for _ in 0..3 {
        w.append(&mut rng, 20, false);
        let o = mls(&[
            "--allow-root",
            "--config",
            s.config.to_str().unwrap(),
            "--jsonl",
            jsonl.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(
        exactly_once(&s.work, w.complete_lines()),
        Vec::<String>::new()
    );
    let lines = fs::read_to_string(&jsonl).unwrap();
    assert_eq!(lines.lines().count() as u64, w.complete_lines());
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["outcome"], "failure");
    }
    for f in [
        "maillogsentinel.db",
        "maillogsentinel.csv",
        "maillogsentinel.log",
        "events.jsonl",
    ] {
        let mode = fs::metadata(s.work.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{f}");
    }
}

#[test]
fn reset_archives_and_the_next_run_starts_over() {
    let s = setup();
    let mut w = Writer::new(&s.logs);
    w.append(&mut Rng(9), 10, false);
    run_ok(&s.config);
    let before = fs::read(s.work.join("maillogsentinel.csv")).unwrap();
    let o = mls(&[
        "--allow-root",
        "--reset",
        "--config",
        s.config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("maillogsentinel.csv") && out.contains("maillogsentinel.db"),
        "{out}"
    );
    assert!(!s.work.join("maillogsentinel.csv").exists());
    let backups: Vec<_> = fs::read_dir(s.work.join("backups")).unwrap().collect();
    assert_eq!(backups.len(), 1);
    let archived = backups[0].as_ref().unwrap().path();
    assert_eq!(
        fs::read(archived.join("maillogsentinel.csv")).unwrap(),
        before
    );
    run_ok(&s.config);
    assert_eq!(
        exactly_once(&s.work, w.complete_lines()),
        Vec::<String>::new()
    );
    // purge keeps only the config (and the lock).
    let o = mls(&[
        "--allow-root",
        "purge",
        "--config",
        s.config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let left: Vec<String> = fs::read_dir(&s.work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter()
            .all(|n| n == "backups" || n == "maillogsentinel.lock"),
        "{left:?}"
    );
    assert!(s.config.exists());
}

#[test]
fn from_end_skips_what_is_already_there() {
    let s = setup();
    let mut w = Writer::new(&s.logs);
    let mut rng = Rng(11);
    w.append(&mut rng, 10, false);
    let before = w.complete_lines();
    let o = mls(&[
        "--allow-root",
        "--from-end",
        "--config",
        s.config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.append(&mut rng, 10, false);
    run_ok(&s.config);
    let users = support::users_in_db(&s.work);
    assert_eq!(users.len() as u64, w.complete_lines() - before);
    assert!(!users.contains_key("u0"));
}

/// The store's content: the database file's bytes and the frames in its WAL (none once
/// checkpointed; a read-only connection may leave an empty -wal, which holds nothing).
fn store_bytes(work: &std::path::Path) -> (Vec<u8>, usize) {
    let db = fs::read(work.join("maillogsentinel.db")).unwrap();
    let wal = fs::read(work.join("maillogsentinel.db-wal")).map_or(0, |w| w.len());
    (db, wal)
}

/// check-config and ipinfo only look: the store stays byte-identical, a current one and one
/// of an older schema (which only a run migrates) alike.
#[test]
fn check_config_and_ipinfo_leave_the_store_byte_identical() {
    let s = setup();
    Writer::new(&s.logs).append(&mut Rng(4), 20, false);
    run_ok(&s.config);
    let db = s.work.join("maillogsentinel.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    let config = s.config.to_str().unwrap();
    for old in [false, true] {
        if old {
            let conn = rusqlite::Connection::open(&db).unwrap();
            // Back to what schema 2 had (the 2 -> 3, 3 -> 4 and 4 -> 5 migrations undone).
            conn.execute_batch(
                "DROP TABLE event_index;
                 DELETE FROM meta WHERE key = 'indexed_up_to';
                 DROP TABLE detections;
                 DROP TABLE alert_queue;
                 DROP TABLE alert_counts;
                 DROP TABLE attempt_totals;
                 DELETE FROM meta WHERE key = 'detected_up_to';
                 ALTER TABLE runs DROP COLUMN dns_lookups;
                 ALTER TABLE runs DROP COLUMN dns_timeouts;
                 DROP TABLE source_days;
                 CREATE INDEX events_ip ON events(ip, outcome, time_unix);
                 CREATE INDEX events_outcome_time ON events(outcome, time_unix);
                 UPDATE meta SET value = 2 WHERE key = 'schema_version';",
            )
            .unwrap();
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
        }
        let before = store_bytes(&s.work);
        let o = mls(&["--allow-root", "--config", config, "check-config"]);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(out.contains("integrity check"), "{out}{}", stderr(&o));
        assert_eq!(
            store_bytes(&s.work),
            before,
            "check-config (old schema: {old}): {out}"
        );
        let o = mls(&[
            "--allow-root",
            "--config",
            config,
            "ipinfo",
            "--no-dns",
            "192.0.2.1",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(store_bytes(&s.work), before, "ipinfo (old schema: {old})");
    }
    // A run migrates it.
    run_ok(&s.config);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, maillogsentinel::store::SCHEMA_VERSION);
}

//! The journald source end to end: journal files are made from journal export data by
//! Debian's `systemd-journal-remote` and read by the real `journalctl --directory`; the run
//! stores each entry's event once, across runs, with the cursor committed with the events.

use crate::support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const REMOTE: &str = "/lib/systemd/systemd-journal-remote";

fn tools() -> Option<PathBuf> {
    let journalctl = Command::new("journalctl").arg("--version").output().ok()?;
    (journalctl.status.success() && Path::new(REMOTE).exists()).then(|| PathBuf::from(REMOTE))
}

/// Writes entries `first..first+n` (alternating Postfix and Dovecot failures) in journal export
/// format and turns them into a journal file in `dir`.
fn journal_file(dir: &Path, name: &str, first: u64, n: u64) {
    let mut export = Vec::new();
    for i in first..first + n {
        let (ident, msg) = if i % 2 == 0 {
            (
                "postfix/smtpd",
                format!(
                    "warning: unknown[192.0.2.{}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=u{i}",
                    i % 200 + 1
                ),
            )
        } else {
            (
                "dovecot",
                format!(
                    "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<u{i}>, method=PLAIN, rip=2001:db8::{:x}, lip=2001:db8::25, session=<s{i}>",
                    i + 1
                ),
            )
        };
        export.extend_from_slice(
            format!(
                "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mx1\nSYSLOG_IDENTIFIER={ident}\nMESSAGE={msg}\n\n",
                1_764_000_000_000_000u64 + i * 1_000_000,
                i + 1
            )
            .as_bytes(),
        );
        // Another program's entry, which the identifier filter leaves out.
        export.extend_from_slice(
            format!(
                "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mx1\nSYSLOG_IDENTIFIER=sshd\nMESSAGE=Failed password for root from 198.51.100.1 port 22 ssh2 user=<x{i}>, method=PLAIN, rip=198.51.100.1 (auth failed, 1 attempts\n\n",
                1_764_000_000_000_000u64 + i * 1_000_000 + 1,
                i + 1
            )
            .as_bytes(),
        );
    }
    let src = dir.join(format!("{name}.export"));
    fs::write(&src, export).unwrap();
    let out = Command::new(REMOTE)
        .arg(format!(
            "--output={}",
            dir.join(format!("{name}.journal")).display()
        ))
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::remove_file(src).unwrap();
}

/// A working directory whose config reads the journal files of the returned directory.
fn journal_setup() -> (support::Setup, PathBuf) {
    let s = support::setup();
    let journal = s.logs.join("journal");
    fs::create_dir_all(&journal).unwrap();
    fs::write(
        &s.config,
        format!(
            "[paths]\nworking_dir = {w}\nstate_dir = {w}\nmail_log = journal\n\n[dns]\nenabled = false\n\n[journal]\ndirectory = {j}\nidentifiers = postfix/smtpd dovecot\n",
            w = s.work.display(),
            j = journal.display()
        ),
    )
    .unwrap();
    (s, journal)
}

#[test]
fn journal_entries_are_stored_once_across_runs() {
    if tools().is_none() {
        eprintln!(
            "SKIPPED: journalctl or {REMOTE} missing (scripts/test installs systemd-journal-remote)"
        );
        return;
    }
    let (s, journal) = journal_setup();
    journal_file(&journal, "one", 0, 40);
    support::run_ok(&s.config);
    assert_eq!(support::exactly_once(&s.work, 40), Vec::<String>::new());
    // Nothing new: nothing changes.
    support::run_ok(&s.config);
    assert_eq!(support::exactly_once(&s.work, 40), Vec::<String>::new());
    journal_file(&journal, "two", 40, 25);
    support::run_ok(&s.config);
    assert_eq!(support::exactly_once(&s.work, 65), Vec::<String>::new());
    let db = rusqlite::Connection::open(s.work.join("maillogsentinel.db")).unwrap();
    let (v4, v6): (u64, u64) = db
        .query_row(
            "SELECT sum(ip NOT LIKE '%:%'), sum(ip LIKE '%:%') FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((v4, v6), (33, 32));
}

#[test]
fn follow_reads_the_journal_as_it_is_written_through_kills() {
    if tools().is_none() {
        assert!(
            std::env::var_os("MLS_REQUIRE_SERVERS").is_none(),
            "journalctl or {REMOTE} missing, and MLS_REQUIRE_SERVERS is set"
        );
        eprintln!("SKIPPED: journalctl or {REMOTE} missing");
        return;
    }
    let (s, journal) = journal_setup();
    let stderr = s.logs.join("follow.stderr");
    let follow = || support::spawn_follow(&s.config, &stderr);
    let wait_for = |n: u64| {
        let started = std::time::Instant::now();
        loop {
            let stored: u64 = support::try_users_in_db(&s.work).map_or(0, |m| m.values().sum());
            if stored == n {
                return started.elapsed();
            }
            assert!(
                started.elapsed().as_secs() < 30,
                "follow stored {stored} of {n} journal entries in 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    journal_file(&journal, "one", 0, 20);
    let mut f = follow();
    wait_for(20);
    // New journal files while follow runs (journalctl --follow sees them), a kill -9 and a
    // restart between: every entry once.
    let mut next = 20;
    for round in 0..6 {
        journal_file(&journal, &format!("r{round}"), next, 5);
        next += 5;
        let took = wait_for(next);
        assert!(took.as_secs() < 5, "round {round}: {took:?}");
        if round % 2 == 1 {
            f.kill().unwrap();
            f.wait().unwrap();
            f = follow();
        }
    }
    journal_file(&journal, "last", next, 5);
    wait_for(next + 5);
    f.kill().unwrap();
    f.wait().unwrap();
    // Its journalctl --follow ends with it.
    let started = std::time::Instant::now();
    while Command::new("pgrep")
        .args(["-f", &format!("journalctl.*{}", journal.display())])
        .output()
        .unwrap()
        .status
        .success()
    {
        assert!(
            started.elapsed().as_secs() < 5,
            "journalctl outlived follow"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        support::exactly_once(&s.work, next + 5),
        Vec::<String>::new()
    );
}

//! The kill -9 test: runs of the real binary are killed at random moments while a writer
//! appends to a log and rotates it (create-style with delaycompress, copytruncate, partial
//! lines); afterwards every complete line's event is in SQLite and in the CSV exactly once.
//!
//! Seed: `MLS_CRASH_SEED` (default: time based, printed); kills: `MLS_CRASH_KILLS` (200).

use crate::support;

use std::time::{Duration, Instant};

use crate::support::{Rng, Writer, assert_exactly_once, exactly_once, run_ok, setup, spawn_run};

#[test]
fn kill_9_at_random_moments_loses_and_duplicates_nothing() {
    let mut rng = Rng::from_env("MLS_CRASH_SEED");
    let seed = rng.0;
    let kills: u32 = std::env::var("MLS_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    eprintln!("kill -9 test: seed {seed}, {kills} kills (MLS_CRASH_SEED={seed} replays it)");
    let s = setup();
    // New files start alike (an empty line, NUL bytes, a banner) in three runs of four.
    let prefix = support::prefixes()[rng.below(4) as usize].clone();
    eprintln!(
        "kill -9 test: new files start with {} bytes of prefix",
        prefix.len()
    );
    let mut writer = Writer::new(&s.logs).with_prefix(prefix);
    let (mut killed, mut completed) = (0u32, 0u32);
    let started = Instant::now();
    while killed < kills {
        for _ in 0..rng.below(4) {
            writer.append(&mut rng, 400, true);
        }
        match rng.below(12) {
            0 => writer.rotate_create(),
            1 => writer.rotate_copytruncate(),
            _ => {}
        }
        let mut child = spawn_run(&s.config);
        std::thread::sleep(Duration::from_micros(rng.below(12_000)));
        if child.try_wait().unwrap().is_some() {
            completed += 1;
        } else {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            killed += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "took too long"
        );
    }
    writer.finish_line();
    run_ok(&s.config);
    run_ok(&s.config);
    eprintln!(
        "kill -9 test: seed {seed}: {killed} runs killed, {completed} finished on their own, {} lines",
        writer.next_user
    );
    assert_exactly_once(&s.work, writer.next_user, seed);
}

#[test]
fn rows_appended_by_a_run_that_died_before_committing_are_cut() {
    let s = setup();
    let mut writer = Writer::new(&s.logs);
    let mut rng = Rng(7);
    // The first run only creates the outputs (and commits the CSV header's length).
    std::fs::File::create(writer.live()).unwrap();
    run_ok(&s.config);
    // A run that died between appending rows and committing leaves them behind.
    let csv = s.work.join("maillogsentinel.csv");
    let mut torn = std::fs::read(&csv).unwrap();
    torn.extend_from_slice(b"mx1;23/11/2026 06:00;192.0.2.9;u0;null;null;null;null;null\nmx1;23/11/2026 06:00;192.0.2.9;u1;nu");
    std::fs::write(&csv, torn).unwrap();
    writer.append(&mut rng, 30, false);
    run_ok(&s.config);
    let problems = exactly_once(&s.work, writer.complete_lines());
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn an_old_tools_csv_is_adopted_and_kept() {
    let s = setup();
    std::fs::create_dir_all(&s.work).unwrap();
    let old = "server;date;ip;user;hostname;reverse_dns_status\nmx;01/01/2024 00:00;1.2.3.4;olduser;null;Errno 1\n";
    std::fs::write(s.work.join("maillogsentinel.csv"), old).unwrap();
    let mut writer = Writer::new(&s.logs);
    writer.append(&mut Rng(3), 5, false);
    run_ok(&s.config);
    let text = std::fs::read_to_string(s.work.join("maillogsentinel.csv")).unwrap();
    assert!(text.starts_with(old), "{text}");
    let new_rows: Vec<&str> = text[old.len()..].lines().collect();
    assert_eq!(new_rows.len() as u64, writer.complete_lines());
    assert!(
        new_rows.iter().all(|r| r.split(';').count() == 6),
        "{new_rows:?}"
    );
}

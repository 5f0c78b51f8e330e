//! `maillogsentinel follow`: lines appended, cut mid-line and rotated both ways while follow
//! runs, follow killed with `kill -9` and restarted, default runs started meanwhile; at the
//! end every complete line's event is in the store and the CSV exactly once.
//!
//! Seed: `MLS_FOLLOW_SEED` (default: time based, printed).

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::{
    Rng, Writer, assert_exactly_once, exactly_once, setup, spawn_follow, try_users_in_db,
};

/// Waits until the store holds `n` failed attempts (follow read them), or panics.
fn wait_for_events(work: &Path, n: u64, what: &str) {
    let started = Instant::now();
    loop {
        // Follow may be creating the store: no tables yet counts as nothing stored.
        let stored: u64 = try_users_in_db(work).map_or(0, |m| m.values().sum());
        if stored == n {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: follow stored {stored} of {n} attempts in 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn follow_killed_and_restarted_loses_and_doubles_nothing() {
    let mut rng = Rng::from_env("MLS_FOLLOW_SEED");
    let seed = rng.0;
    let s = setup();
    // The writer's lines are of Nov 23: a horizon of ten years makes the detector look at
    // them (by default lines older than a day and some hours cannot alert and are skipped).
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&s.config)
        .unwrap();
    std::io::Write::write_all(&mut config, b"\n[alerts]\nmax_age = 3650d\n").unwrap();
    let stderr = s.logs.join("follow.stderr");
    let mut writer = Writer::new(&s.logs);
    let mut follow = spawn_follow(&s.config, &stderr);
    let (mut kills, mut default_runs) = (0, 0);
    for round in 0..24 {
        for _ in 0..rng.below(4) {
            writer.append(&mut rng, 150, true);
        }
        match rng.below(6) {
            0 => {
                // Syslog daemons finish a line before the log is rotated.
                writer.finish_line();
                writer.rotate_create();
            }
            1 => {
                writer.finish_line();
                writer.rotate_copytruncate();
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50 + rng.below(600)));
        if round % 3 == 1 {
            // A timer's run while follow holds the store: it finds the work done.
            let out = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
                .args(["--allow-root", "--no-progress", "--config"])
                .arg(&s.config)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "round {round}: {text}");
            assert!(text.contains("follow"), "round {round}: {text}");
            default_runs += 1;
        }
        follow.kill().unwrap(); // SIGKILL
        follow.wait().unwrap();
        kills += 1;
        follow = spawn_follow(&s.config, &stderr);
    }
    writer.finish_line();
    wait_for_events(&s.work, writer.next_user, &format!("seed {seed}"));
    // SIGTERM: the last pass commits, a run is recorded, exit 0.
    nix_kill(&follow, "TERM");
    let status = follow.wait().unwrap();
    assert!(
        status.success(),
        "follow after SIGTERM: {status}: {}",
        std::fs::read_to_string(&stderr).unwrap()
    );
    eprintln!(
        "follow test: seed {seed}: {kills} kills, {default_runs} default runs refused, {} lines",
        writer.next_user
    );
    assert_exactly_once(&s.work, writer.next_user, seed);
    let runs: i64 = rusqlite::Connection::open(s.work.join("maillogsentinel.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert!(runs >= 1, "the stopped follow recorded its run");
    // The detections too are exactly once: those of one clean default run over the same
    // stream, in another working directory.
    let config = std::fs::read_to_string(&s.config).unwrap();
    assert!(
        config.contains("max_age = 3650d"),
        "detections over old lines"
    );
    let clean_work = s.logs.join("clean");
    let clean_config = s.logs.join("clean.conf");
    std::fs::write(
        &clean_config,
        config.replace(
            &s.work.display().to_string(),
            &clean_work.display().to_string(),
        ),
    )
    .unwrap();
    crate::support::run_ok(&clean_config);
    let followed = detections(&s.work);
    assert!(
        !followed.is_empty(),
        "seed {seed}: the stream holds brute force"
    );
    assert_eq!(followed, detections(&clean_work), "seed {seed}");
}

/// (kind, source, line time) of the stored detections, in order.
fn detections(work: &Path) -> Vec<(String, String, i64)> {
    let db = rusqlite::Connection::open(work.join("maillogsentinel.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT kind, source, time_unix FROM detections ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn follow_stores_a_line_as_it_is_written_and_refuses_a_second_follow() {
    let s = setup();
    let stderr = s.logs.join("follow.stderr");
    let mut writer = Writer::new(&s.logs);
    writer.append(&mut Rng(5), 20, false);
    let mut follow = spawn_follow(&s.config, &stderr);
    wait_for_events(&s.work, writer.next_user, "backlog");
    writer.append(&mut Rng(6), 1, false);
    wait_for_events(&s.work, writer.next_user, "one line");
    let second = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(&s.config)
        .arg("follow")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(75), "a second follow");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("follow (pid"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    nix_kill(&follow, "INT");
    assert!(follow.wait().unwrap().success());
    assert!(exactly_once(&s.work, writer.next_user).is_empty());
}

fn nix_kill(child: &Child, signal: &str) {
    assert!(
        Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap()
            .success()
    );
}

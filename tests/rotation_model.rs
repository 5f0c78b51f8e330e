//! Model-based rotation test (in the style of Vector's file-watcher tests): random sequences
//! of append / partial write / rotate (create, copytruncate) / compress / run / crash, checked
//! after every completed run against a simple model: every complete line stored exactly once,
//! nothing of a partial line stored.
//!
//! Seed: `MLS_MODEL_SEED` (printed); sequences: `MLS_MODEL_SEQUENCES` (24).

use crate::support;

use std::time::Duration;

use crate::support::{Rng, Writer, exactly_once, run_ok, setup, spawn_run};

#[derive(Debug, Clone, Copy)]
enum Op {
    Append,
    PartialWrite,
    RotateCreate,
    RotateCopytruncate,
    /// Compress the newest rotated file at once (no delaycompress).
    CompressNow,
    Run,
    Crash,
}

fn pick(rng: &mut Rng) -> Op {
    match rng.below(20) {
        0..=5 => Op::Append,
        6..=7 => Op::PartialWrite,
        8..=9 => Op::RotateCreate,
        10 => Op::RotateCopytruncate,
        11 => Op::CompressNow,
        12..=16 => Op::Run,
        _ => Op::Crash,
    }
}

#[test]
fn random_rotation_sequences_store_every_complete_line_once() {
    let mut rng = Rng::from_env("MLS_MODEL_SEED");
    let seed = rng.0;
    let sequences: u32 = std::env::var("MLS_MODEL_SEQUENCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    eprintln!(
        "rotation model: seed {seed}, {sequences} sequences (MLS_MODEL_SEED={seed} replays it)"
    );
    let mut checks = 0;
    for seq in 0..sequences {
        let s = setup();
        // Every fourth sequence has new files start alike (an empty line, NUL bytes, a banner).
        let prefix = support::prefixes()[seq as usize % 4].clone();
        let mut writer = Writer::new(&s.logs).with_prefix(prefix.clone());
        // The syslog daemon created the log before the first run (a missing log fails the run).
        std::fs::File::create(writer.live()).unwrap();
        let mut ops = Vec::new();
        for _ in 0..40 {
            let op = pick(&mut rng);
            ops.push(op);
            match op {
                Op::Append => writer.append(&mut rng, 50, false),
                Op::PartialWrite => writer.append(&mut rng, 5, true),
                Op::RotateCreate => writer.rotate_create(),
                Op::RotateCopytruncate => writer.rotate_copytruncate(),
                Op::CompressNow => writer.compress(1),
                Op::Crash => {
                    let mut child = spawn_run(&s.config);
                    std::thread::sleep(Duration::from_micros(rng.below(20_000)));
                    let _ = child.kill();
                    child.wait().unwrap();
                }
                Op::Run => {
                    run_ok(&s.config);
                    let problems = exactly_once(&s.work, writer.complete_lines());
                    assert!(
                        problems.is_empty(),
                        "seed {seed}, sequence {seq}, prefix of {} bytes, after {ops:?}: {problems:?}",
                        prefix.len()
                    );
                    checks += 1;
                }
            }
        }
        writer.finish_line();
        run_ok(&s.config);
        let problems = exactly_once(&s.work, writer.next_user);
        assert!(
            problems.is_empty(),
            "seed {seed}, sequence {seq}, after {ops:?} + final run: {problems:?}"
        );
        // A run with nothing new changes nothing.
        let before = std::fs::read(s.work.join("maillogsentinel.csv")).unwrap();
        run_ok(&s.config);
        assert_eq!(
            before,
            std::fs::read(s.work.join("maillogsentinel.csv")).unwrap()
        );
        checks += 2;
    }
    eprintln!("rotation model: {checks} model checks passed");
}

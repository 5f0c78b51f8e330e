//! End to end against the shared generator's ground truth: `parse --format jsonl` on logs from
//! `../shared/bench/gen-maillog.py` must count exactly `attempts.failure_visible` failed and
//! `attempts.success_visible` successful attempts, the same distinct failing IPs, and the same
//! attempts for the top attacking IPs; in every format variant the generator has.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const GENERATOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/bench/gen-maillog.py"
);

fn generate(dir: &Path, args: &[&str]) -> Option<serde_json::Value> {
    if !Path::new(GENERATOR).exists() {
        eprintln!("SKIPPED: generator not found at {GENERATOR}");
        return None;
    }
    let out = Command::new("python3")
        .arg(GENERATOR)
        .args(["--size", "40M", "--seed", "1", "--out"])
        .arg(dir)
        .args(args)
        .output()
        .expect("python3 runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth = std::fs::read_to_string(dir.join("truth.json")).unwrap();
    Some(serde_json::from_str(&truth).unwrap())
}

/// Rotated files oldest first: mail.log.N.gz ... mail.log.1, mail.log.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let rest = name.strip_prefix("mail.log")?;
            let n = rest.trim_start_matches('.').trim_end_matches(".gz");
            Some((if n.is_empty() { 0 } else { n.parse().ok()? }, p))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files.into_iter().map(|(_, p)| p).collect()
}

fn check(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let Some(truth) = generate(dir.path(), args) else {
        return;
    };
    let files = log_files(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["parse", "--format", "jsonl", "-q"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut failures, mut successes) = (0u64, 0u64);
    let mut by_ip: HashMap<String, u64> = HashMap::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let e: serde_json::Value = serde_json::from_slice(line).unwrap();
        let n = e["attempts"].as_u64().unwrap();
        assert!(
            e["time"].is_string(),
            "every generated line has a time: {e}"
        );
        if e["outcome"] == "failure" {
            failures += n;
            *by_ip
                .entry(e["ip"].as_str().unwrap().to_owned())
                .or_default() += n;
        } else {
            successes += n;
        }
    }
    let a = &truth["attempts"];
    assert_eq!(
        failures,
        a["failure_visible"].as_u64().unwrap(),
        "{args:?}: failed attempts"
    );
    assert_eq!(
        successes,
        a["success_visible"].as_u64().unwrap(),
        "{args:?}: successes"
    );
    assert_eq!(
        by_ip.len() as u64,
        truth["distinct_failure_ips"].as_u64().unwrap(),
        "{args:?}: distinct failing IPs"
    );
    for top in truth["failure_attempts_by_ip_top"].as_array().unwrap() {
        let (ip, n) = match top {
            serde_json::Value::Array(pair) => {
                (pair[0].as_str().unwrap(), pair[1].as_u64().unwrap())
            }
            obj => (
                obj["ip"].as_str().unwrap(),
                obj["attempts"].as_u64().unwrap(),
            ),
        };
        assert_eq!(
            by_ip.get(ip).copied(),
            Some(n),
            "{args:?}: attempts of {ip}"
        );
    }
    eprintln!(
        "{args:?}: {failures} failed and {successes} successful attempts, as truth.json says"
    );
}

#[test]
fn classic_timestamps() {
    check(&[]);
}

#[test]
fn rfc3339_timestamps() {
    check(&["--format", "rfc3339"]);
}

#[test]
fn dovecot_without_auth_verbose() {
    check(&["--auth-verbose", "no"]);
}

#[test]
fn rotated_and_gzipped_set_read_as_one_stream() {
    check(&["--rotate", "2"]);
}

#[test]
fn default_run_on_a_rotated_set_stores_the_truth_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(truth) = generate(dir.path(), &["--rotate", "3"]) else {
        return;
    };
    let s = support::setup();
    std::fs::write(
        &s.config,
        format!(
            "[paths]\nworking_dir = {w}\nstate_dir = {w}\nmail_log = {l}\n",
            w = s.work.display(),
            l = dir.path().join("mail.log").display()
        ),
    )
    .unwrap();
    let a = &truth["attempts"];
    let want_failures = a["failure_visible"].as_u64().unwrap();
    let want_successes = a["success_visible"].as_u64().unwrap();
    for run in 1..=2 {
        support::run_ok(&s.config);
        let db = rusqlite::Connection::open(s.work.join("maillogsentinel.db")).unwrap();
        let sum = |outcome: &str| -> u64 {
            db.query_row(
                "SELECT coalesce(sum(attempts), 0) FROM events WHERE outcome = ?1",
                [outcome],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(
            sum("failure"),
            want_failures,
            "run {run}: failed attempts in the store"
        );
        assert_eq!(
            sum("success"),
            want_successes,
            "run {run}: successes in the store"
        );
        let csv_rows = support::users_in_csv(&s.work).values().sum::<u64>();
        assert_eq!(
            csv_rows, want_failures,
            "run {run}: one CSV row per failed attempt"
        );
    }
}

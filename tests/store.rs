//! The store and the legacy CSV export through their public API: schema and file modes,
//! round trips across reopening, atomic commits (a failing commit and a `kill -9` in the middle
//! of the commit loop leave the previous commit), snapshot isolation for a concurrent reader,
//! the exactly-once protocol between the CSV and the store, and a bulk insert timing.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use maillogsentinel::envelope::timestamp::EventTime;
use maillogsentinel::event::{AuthEvent, Outcome, Protocol, Service};
use maillogsentinel::sink::{CsvDateFormat, LegacyCsv, Repair};
use maillogsentinel::store::{Checkpoint, Commit, IngestStore, SCHEMA_VERSION, Store, StoreError};

fn event(n: u64, user: &[u8], outcome: Outcome, attempts: u32) -> AuthEvent {
    AuthEvent {
        time: Some(EventTime {
            unix: 1_763_879_104 + n as i64,
            nanos: 0,
            offset_secs: 3600,
        }),
        server: Some("mx1".into()),
        service: Service::Dovecot,
        protocol: Protocol::Imap,
        outcome,
        ip: format!("198.51.100.{}", n % 250).parse().unwrap(),
        user: Some(user.to_vec()),
        mechanism: Some("PLAIN".into()),
        reason: Some("auth failed".into()),
        attempts,
        session: None,
    }
}

fn nothing() -> Commit<'static> {
    Commit {
        enrichments: &[],
        ptrs: &[],
        events: &[],
        checkpoints: &[],
        cursor: None,
        correlator_state: None,
        csv_len: None,
        jsonl_len: None,
    }
}

fn checkpoint(fingerprint: &str, offset: u64) -> Checkpoint {
    Checkpoint {
        fingerprint: fingerprint.into(),
        path: "/var/log/mail.log".into(),
        offset,
        finished: false,
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn csv_rows(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

#[test]
fn schema_tables_indexes_and_0640_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("maillogsentinel.db");
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store
        .commit(&Commit {
            enrichments: &[],
            ptrs: &[],
            events: &[(event(0, b"a", Outcome::Failure, 1), "fp".into())],
            ..nothing()
        })
        .unwrap();
    // The database and the WAL files SQLite creates beside it (same mode as the database).
    for name in [
        "maillogsentinel.db",
        "maillogsentinel.db-wal",
        "maillogsentinel.db-shm",
    ] {
        assert_eq!(mode(&dir.path().join(name)), 0o640, "{name}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let names: HashSet<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for want in [
        "events",
        "checkpoints",
        "cursors",
        "dns_cache",
        "meta",
        "events_time",
        "source_days",
    ] {
        assert!(names.contains(want), "{want} missing from {names:?}");
    }
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('events') ORDER BY cid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        columns,
        [
            "id",
            "time_unix",
            "time_nanos",
            "offset_secs",
            "server",
            "service",
            "protocol",
            "outcome",
            "ip",
            "user",
            "mechanism",
            "reason",
            "attempts",
            "session",
            "source",
            "hostname",
            "reverse_dns_status",
            "country_code",
            "asn",
            "aso",
            "ptr_confirmed",
            "net"
        ]
    );
    let user_type: String = conn
        .query_row("SELECT typeof(user) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user_type, "blob");
}

#[test]
fn everything_round_trips_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let events = vec![
        (
            event(1, b"alice@example.org", Outcome::Failure, 3),
            "fp-a".to_owned(),
        ),
        (
            event(2, b"\xff\xfe\x00r\xc3\x28", Outcome::Failure, 1),
            "fp-a".to_owned(),
        ),
        (event(3, b"bob", Outcome::Success, 1), "journal".to_owned()),
    ];
    let checkpoints = [checkpoint("fp-a", 123_456), {
        let mut c = checkpoint("fp-b", 9);
        c.path = "/var/log/mail.log.2.gz".into();
        c.finished = true;
        c
    }];
    {
        let mut store = Store::open(&db).unwrap();
        store
            .commit(&Commit {
                enrichments: &[],
                ptrs: &[],
                events: &events,
                checkpoints: &checkpoints,
                cursor: Some(("journal", "s=abc;i=1f;b=x")),
                correlator_state: Some(&[0, 1, 2, 255]),
                csv_len: Some(4242),
                jsonl_len: Some(77),
            })
            .unwrap();
    }
    let store = Store::open(&db).unwrap();
    assert_eq!(store.event_count().unwrap(), 3);
    assert_eq!(store.failure_attempts().unwrap(), 4);
    assert_eq!(store.success_attempts().unwrap(), 1);
    let back: Vec<_> = store
        .events()
        .unwrap()
        .into_iter()
        .map(|s| (s.event, s.source))
        .collect();
    assert_eq!(back, events);
    assert_eq!(
        back[1].0.user.as_deref(),
        Some(&b"\xff\xfe\x00r\xc3\x28"[..]),
        "user bytes are exact"
    );
    assert_eq!(
        store.checkpoint("fp-a").unwrap().as_ref(),
        Some(&checkpoints[0])
    );
    assert_eq!(store.checkpoints().unwrap(), checkpoints);
    assert_eq!(
        store.cursor("journal").unwrap().as_deref(),
        Some("s=abc;i=1f;b=x")
    );
    assert_eq!(store.correlator_state().unwrap(), Some(vec![0, 1, 2, 255]));
    assert_eq!(store.csv_committed_len().unwrap(), Some(4242));
    assert_eq!(store.jsonl_committed_len().unwrap(), Some(77));
    let mut seen = 0;
    store.for_each_event(|_| seen += 1).unwrap();
    assert_eq!(seen, 3);
}

#[test]
fn a_failing_commit_leaves_the_previous_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut store = Store::open(&db).unwrap();
    let first = [(event(1, b"first", Outcome::Failure, 1), "fp".to_owned())];
    store
        .commit(&Commit {
            enrichments: &[],
            ptrs: &[],
            events: &first,
            checkpoints: &[checkpoint("fp", 100)],
            cursor: Some(("journal", "c1")),
            correlator_state: Some(b"s1"),
            csv_len: Some(10),
            jsonl_len: None,
        })
        .unwrap();
    // Another connection (a saboteur) makes the checkpoint update fail: the events of the
    // same commit were already inserted by then.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER boom BEFORE UPDATE ON checkpoints
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    let second: Vec<_> = (0..1000)
        .map(|i| (event(i, b"second", Outcome::Failure, 1), "fp".to_owned()))
        .collect();
    let err = store
        .commit(&Commit {
            enrichments: &[],
            ptrs: &[],
            events: &second,
            checkpoints: &[checkpoint("fp", 200)],
            cursor: Some(("journal", "c2")),
            correlator_state: Some(b"s2"),
            csv_len: Some(20),
            jsonl_len: Some(5),
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err}");
    assert!(err.to_string().contains("storing a checkpoint"), "{err}");
    drop(store);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.event_count().unwrap(), 1);
    assert_eq!(store.checkpoint("fp").unwrap().unwrap().offset, 100);
    assert_eq!(store.cursor("journal").unwrap().as_deref(), Some("c1"));
    assert_eq!(
        store.correlator_state().unwrap().as_deref(),
        Some(&b"s1"[..])
    );
    assert_eq!(store.csv_committed_len().unwrap(), Some(10));
    assert_eq!(store.jsonl_committed_len().unwrap(), None);
}

/// A writer commits while a reader holds a snapshot: the reader sees the old state until it
/// ends its transaction, never a part of a commit.
#[test]
fn a_reader_sees_the_old_or_the_new_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut store = Store::open(&db).unwrap();
    let batch = |k: u64| -> Vec<(AuthEvent, String)> {
        (0..100)
            .map(|i| (event(k * 100 + i, b"u", Outcome::Failure, 1), "fp".into()))
            .collect()
    };
    store
        .commit(&Commit {
            enrichments: &[],
            ptrs: &[],
            events: &batch(0),
            csv_len: Some(100),
            ..nothing()
        })
        .unwrap();

    let mut reader = rusqlite::Connection::open(&db).unwrap();
    let snapshot = |c: &rusqlite::Connection| -> (u64, u64) {
        c.query_row(
            "SELECT (SELECT count(*) FROM events), (SELECT value FROM meta WHERE key = 'csv_len')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let tx = reader.transaction().unwrap();
    assert_eq!(snapshot(&tx), (100, 100));
    store
        .commit(&Commit {
            enrichments: &[],
            ptrs: &[],
            events: &batch(1),
            csv_len: Some(200),
            ..nothing()
        })
        .unwrap();
    assert_eq!(snapshot(&tx), (100, 100), "still the old snapshot");
    tx.commit().unwrap();
    assert_eq!(snapshot(&reader), (200, 200), "then the new one");

    // And under load: a thread reads while commits go on; every snapshot is a whole commit.
    let path = db.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let watcher = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut seen = HashSet::new();
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let (count, csv_len) = snapshot(&conn);
            assert_eq!(count, csv_len, "a reader saw part of a commit");
            seen.insert(count);
        }
        seen.len()
    });
    for k in 2..40 {
        store
            .commit(&Commit {
                enrichments: &[],
                ptrs: &[],
                events: &batch(k),
                csv_len: Some((k + 1) * 100),
                ..nothing()
            })
            .unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let distinct = watcher.join().unwrap();
    eprintln!("the reader saw {distinct} distinct commits");
    assert_eq!(store.event_count().unwrap(), 4000);
}

/// What the run loop does with a batch: rows to the CSV (synced), then one commit.
fn run_batch(store: &mut Store, csv: &mut LegacyCsv, k: u64, per_batch: u64) {
    let events: Vec<(AuthEvent, String)> = (0..per_batch)
        .map(|i| {
            let n = k * per_batch + i;
            let outcome = if i % 10 == 0 {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            let user = format!("user{n}");
            (
                event(n, user.as_bytes(), outcome, 1 + (i % 3) as u32),
                "fp".into(),
            )
        })
        .collect();
    let failures: Vec<&AuthEvent> = events.iter().map(|(e, _)| e).collect();
    let csv_len = csv.append(&failures).unwrap();
    let state = k.to_le_bytes();
    let cursor = format!("cursor-{k}");
    store
        .commit(&Commit {
            enrichments: &[],
            ptrs: &[],
            events: &events,
            checkpoints: &[checkpoint("fp", (k + 1) * per_batch)],
            cursor: Some(("journal", &cursor)),
            correlator_state: Some(&state),
            csv_len: Some(csv_len),
            jsonl_len: None,
        })
        .unwrap();
}

/// The invariants of a store and its CSV after any crash, once the CSV is repaired: every
/// piece of the last commit agrees, and the CSV holds exactly the committed failed attempts.
fn check_consistent(dir: &Path, per_batch: u64) -> (u64, Repair) {
    let store = Store::open(&dir.join("db")).unwrap();
    let (csv, repair) = LegacyCsv::open(
        &dir.join("x.csv"),
        store.csv_committed_len().unwrap(),
        CsvDateFormat::Legacy,
    )
    .unwrap();
    let events = store.event_count().unwrap();
    let offset = store.checkpoint("fp").unwrap().map_or(0, |c| c.offset);
    assert_eq!(events, offset, "events and checkpoint from the same commit");
    let batches = events / per_batch;
    assert_eq!(events % per_batch, 0, "no partial batch");
    if batches > 0 {
        let k = batches - 1;
        assert_eq!(
            store.cursor("journal").unwrap(),
            Some(format!("cursor-{k}"))
        );
        assert_eq!(
            store.correlator_state().unwrap(),
            Some(k.to_le_bytes().to_vec())
        );
    }
    if let Some(committed) = store.csv_committed_len().unwrap() {
        assert_eq!(
            csv.len(),
            committed,
            "the torn tail is cut to the committed length"
        );
    }
    let rows = csv_rows(csv.path());
    assert_eq!(
        rows.len() as u64,
        store.failure_attempts().unwrap(),
        "one CSV row per committed failed attempt"
    );
    (batches, repair)
}

#[test]
fn the_csv_and_the_store_stay_exactly_once_across_a_torn_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (db, csv_path) = (dir.path().join("db"), dir.path().join("x.csv"));
    {
        let mut store = Store::open(&db).unwrap();
        let (mut csv, repair) = LegacyCsv::open(
            &csv_path,
            store.csv_committed_len().unwrap(),
            CsvDateFormat::Legacy,
        )
        .unwrap();
        assert_eq!(repair, Repair::Created);
        for k in 0..3 {
            run_batch(&mut store, &mut csv, k, 50);
        }
        // The next batch's rows reach the CSV, then the run dies before its commit, in the
        // middle of writing a further row.
        csv.append(&[event(0, b"never-committed", Outcome::Failure, 5)])
            .unwrap();
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&csv_path)
        .map(|mut f| std::io::Write::write_all(&mut f, b"mx1;23/11/2025 07"))
        .unwrap()
        .unwrap();
    let store = Store::open(&db).unwrap();
    let committed = store.csv_committed_len().unwrap().unwrap();
    let before = std::fs::metadata(&csv_path).unwrap().len();
    let (csv, repair) = LegacyCsv::open(&csv_path, Some(committed), CsvDateFormat::Legacy).unwrap();
    assert_eq!(
        repair,
        Repair::CutTail {
            bytes: before - committed
        }
    );
    assert_eq!(csv.len(), committed);
    drop((store, csv));
    assert_eq!(check_consistent(dir.path(), 50), (3, Repair::None));
    assert!(
        !std::fs::read_to_string(&csv_path)
            .unwrap()
            .contains("never-committed")
    );
}

const CHILD_DIR: &str = "MAILLOGSENTINEL_STORE_TEST_CHILD";
const PER_BATCH: u64 = 200;

/// Not a test by itself: the child of `kill_9_during_commits_leaves_the_last_commit`, which
/// runs the batch loop until it is killed.
#[test]
fn crash_child_commit_loop() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let mut store = Store::open(&dir.join("db")).unwrap();
    let (mut csv, _) = LegacyCsv::open(
        &dir.join("x.csv"),
        store.csv_committed_len().unwrap(),
        CsvDateFormat::Legacy,
    )
    .unwrap();
    if store.csv_committed_len().unwrap().is_none() {
        // As the run does: commit the adopted length before the first batch.
        store
            .commit(&Commit {
                enrichments: &[],
                ptrs: &[],
                csv_len: Some(csv.len()),
                ..nothing()
            })
            .unwrap();
    }
    let mut k = store.event_count().unwrap() / PER_BATCH;
    loop {
        run_batch(&mut store, &mut csv, k, PER_BATCH);
        k += 1;
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn kill_9_during_commits_leaves_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let child_log = dir.path().join("child.log");
    let mut batches = 0;
    for (round, delay_ms) in [37u64, 113, 251, 409].into_iter().enumerate() {
        let mut child = KillOnDrop(
            Command::new(&exe)
                .args([
                    "store::crash_child_commit_loop",
                    "--exact",
                    "--test-threads=1",
                ])
                .env(CHILD_DIR, dir.path())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&child_log).unwrap())
                .spawn()
                .unwrap(),
        );
        let exited = |child: &mut KillOnDrop| {
            child.0.try_wait().unwrap().map(|status| {
                let log = std::fs::read_to_string(&child_log).unwrap_or_default();
                format!("round {round}: the child exited ({status}):\n{log}")
            })
        };
        // Wait for the child to commit past what the previous round left, then a little more.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let store = Store::open(&dir.path().join("db")).unwrap();
            if store.event_count().unwrap() > batches * PER_BATCH {
                break;
            }
            assert!(Instant::now() < deadline, "the child never committed");
            if let Some(why) = exited(&mut child) {
                panic!("{why}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        if let Some(why) = exited(&mut child) {
            panic!("{why}");
        }
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        let (now, repair) = check_consistent(dir.path(), PER_BATCH);
        eprintln!("round {round}: {now} batches committed, CSV at start-up: {repair:?}");
        assert!(now > batches, "round {round}: no progress");
        batches = now;
    }
    eprintln!("{batches} batches committed across 4 kill -9");
}

#[test]
fn legacy_csv_rows_through_the_public_api() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("maillogsentinel.csv");
    let (mut csv, repair) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
    assert_eq!(repair, Repair::Created);
    assert_eq!(mode(&p), 0o640);
    let mut west = event(0, b"=cmd|' /C calc'!A0", Outcome::Failure, 1);
    west.time.as_mut().unwrap().offset_secs = -5 * 3600;
    let len = csv
        .append(&[
            event(0, b"a;b", Outcome::Failure, 3),
            event(0, b"ok", Outcome::Success, 1),
            event(0, b"q\"uote\nnl", Outcome::Failure, 1),
            west,
        ])
        .unwrap();
    assert_eq!(len, std::fs::metadata(&p).unwrap().len());
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(
        text.starts_with("server;date;ip;user;hostname;reverse_dns_status;country_code;asn;aso\n")
    );
    let row = "mx1;23/11/2025 07:25;198.51.100.0;\"a;b\";null;null;null;null;null\n";
    assert_eq!(text.matches(row).count(), 3, "three attempts, three rows");
    assert!(!text.contains(";ok;"), "successes are not written");
    // A newline in a cell is escaped (issue 10, finding 9), so the row stays one line.
    assert!(text.contains(";\"q\"\"uote\\x0anl\";"));
    assert!(text.contains("mx1;23/11/2025 01:25;198.51.100.0;'=cmd|' /C calc'!A0;null;"));

    let iso = dir.path().join("iso.csv");
    let (mut csv, _) = LegacyCsv::open(&iso, None, CsvDateFormat::Iso).unwrap();
    csv.append(&[event(0, b"u", Outcome::Failure, 1)]).unwrap();
    assert_eq!(
        csv_rows(&iso),
        ["mx1;2025-11-23T07:25:04+01:00;198.51.100.0;u;null;null;null;null;null"]
    );
}

#[test]
fn an_old_tool_csv_is_adopted_in_its_own_layout() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("maillogsentinel.csv");
    let old = "server;date;ip;user;hostname;reverse_dns_status\n\
               mx;01/02/2024 10:00;203.0.113.9;root;null;Errno 1\n";
    std::fs::write(&p, format!("{old}mx;01/02/2024 10:0")).unwrap();
    let (mut csv, repair) = LegacyCsv::open(&p, None, CsvDateFormat::Legacy).unwrap();
    assert_eq!(repair, Repair::Adopted { cut: 18 });
    assert_eq!(csv.len(), old.len() as u64);
    assert_eq!(csv.columns(), 6);
    csv.append(&[event(0, b"new", Outcome::Failure, 2)])
        .unwrap();
    assert_eq!(
        csv_rows(&p),
        [
            "mx;01/02/2024 10:00;203.0.113.9;root;null;Errno 1",
            "mx1;23/11/2025 07:25;198.51.100.0;new;null;null",
            "mx1;23/11/2025 07:25;198.51.100.0;new;null;null",
        ]
    );
}

#[test]
fn bulk_insert_of_200k_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db")).unwrap();
    let events: Vec<_> = (0..200_000u64)
        .map(|i| {
            let user = format!("user{i}@example.org");
            (
                event(i, user.as_bytes(), Outcome::Failure, 1),
                "fp".to_owned(),
            )
        })
        .collect();
    let start = Instant::now();
    for (k, chunk) in events.chunks(20_000).enumerate() {
        store
            .commit(&Commit {
                enrichments: &[],
                ptrs: &[],
                events: chunk,
                checkpoints: &[checkpoint("fp", k as u64)],
                ..nothing()
            })
            .unwrap();
    }
    let elapsed = start.elapsed();
    eprintln!(
        "200000 events in 10 commits: {elapsed:?} ({:.0} events/s, {} build)",
        200_000.0 / elapsed.as_secs_f64(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    assert_eq!(store.event_count().unwrap(), 200_000);
    assert_eq!(store.failure_attempts().unwrap(), 200_000);
}

use super::*;
use crate::event::{Protocol, Service};
use std::os::unix::fs::PermissionsExt;

fn event(user: &[u8], outcome: Outcome, attempts: u32) -> AuthEvent {
    AuthEvent {
        time: Some(EventTime {
            unix: 1_763_879_104,
            nanos: 5,
            offset_secs: -3600,
        }),
        server: Some("mx1".into()),
        service: Service::Dovecot,
        protocol: Protocol::Imap,
        outcome,
        ip: "2001:db8::1".parse().unwrap(),
        user: Some(user.to_vec()),
        mechanism: Some("PLAIN".into()),
        reason: Some("auth failed".into()),
        attempts,
        session: Some("s1".into()),
    }
}

fn commit_of<'a>(events: &'a [(AuthEvent, String)], cps: &'a [Checkpoint]) -> Commit<'a> {
    Commit {
        enrichments: &[],
        ptrs: &[],
        events,
        checkpoints: cps,
        cursor: Some(("journal", "s=1;i=2")),
        correlator_state: Some(b"{\"state\":1}"),
        csv_len: Some(1234),
        jsonl_len: None,
    }
}

fn empty_commit() -> Commit<'static> {
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

fn cp(fingerprint: &str, offset: u64, finished: bool) -> Checkpoint {
    Checkpoint {
        fingerprint: fingerprint.into(),
        path: format!("/var/log/{fingerprint}").into(),
        offset,
        finished,
    }
}

#[test]
fn a_new_store_is_empty_with_mode_0640_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maillogsentinel.db");
    let s = Store::open(&path).unwrap();
    assert_eq!(s.path(), path);
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.event_count().unwrap(), 0);
    assert_eq!(s.failure_attempts().unwrap(), 0);
    assert_eq!(s.success_attempts().unwrap(), 0);
    assert_eq!(s.checkpoints().unwrap(), vec![]);
    assert_eq!(s.cursor("journal").unwrap(), None);
    assert_eq!(s.correlator_state().unwrap(), None);
    assert_eq!(s.csv_committed_len().unwrap(), None);
    assert_eq!(s.jsonl_committed_len().unwrap(), None);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let journal: String = s
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let sync: i64 = s
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous = FULL");
}

/// A run, `follow` and a report may start at once on a host where no store exists yet: none
/// of them may fail, and the store they all see is whole, as a single opening makes it. Each
/// thread stands for a process: its own SQLite connection, locking the file as one would.
#[test]
fn processes_opening_a_new_store_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..30 {
        let path = dir.path().join(format!("db{round}"));
        let start = std::sync::Barrier::new(7);
        std::thread::scope(|s| {
            let openers: Vec<_> = (0..6)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        Store::open(&path).map(|store| {
                            let page: i64 = store
                                .conn
                                .query_row("PRAGMA page_size", [], |r| r.get(0))
                                .unwrap();
                            (page, store.schema_version().unwrap())
                        })
                    })
                })
                .collect();
            let reader = s.spawn(|| {
                start.wait();
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                while !path.exists() {
                    assert!(std::time::Instant::now() < deadline, "no store made");
                    std::thread::yield_now();
                }
                Store::open_read_only(&path).map(|store| store.event_count().unwrap())
            });
            let read = reader.join().unwrap();
            assert_eq!(read.unwrap_or_else(|e| panic!("round {round}: {e}")), 0);
            for opener in openers {
                let opened = opener.join().unwrap();
                let opened = opened.unwrap_or_else(|e| panic!("round {round}: {e}"));
                assert_eq!(opened, (16 << 10, SCHEMA_VERSION), "round {round}");
            }
        });
    }
}

#[test]
fn an_existing_file_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    Store::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn commit_round_trips_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maillogsentinel.db");
    let events = vec![
        (event(b"alice", Outcome::Failure, 3), "fp1".to_owned()),
        (event(b"\xff\x00bob", Outcome::Success, 1), "fp1".to_owned()),
    ];
    let cps = vec![cp("fp1", 4096, false)];
    {
        let mut s = Store::open(&path).unwrap();
        s.commit(&commit_of(&events, &cps)).unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.event_count().unwrap(), 2);
    assert_eq!(s.attempts(Outcome::Failure).unwrap(), 3);
    assert_eq!(s.failure_attempts().unwrap(), 3);
    assert_eq!(s.success_attempts().unwrap(), 1);
    assert_eq!(s.checkpoint("fp1").unwrap(), Some(cps[0].clone()));
    assert_eq!(s.checkpoint("other").unwrap(), None);
    assert_eq!(s.cursor("journal").unwrap().as_deref(), Some("s=1;i=2"));
    assert_eq!(s.cursor("other").unwrap(), None);
    assert_eq!(
        s.correlator_state().unwrap().as_deref(),
        Some(&b"{\"state\":1}"[..])
    );
    assert_eq!(s.csv_committed_len().unwrap(), Some(1234));
    assert_eq!(s.jsonl_committed_len().unwrap(), None);
    let back = s.events().unwrap();
    assert_eq!(
        back.iter()
            .map(|e| (e.event.clone(), e.source.clone()))
            .collect::<Vec<_>>(),
        events
    );
    assert!(back[0].id < back[1].id);
    assert_eq!(back[0].enrichment, Enrichment::default());
}

#[test]
fn every_field_shape_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    let mut events = Vec::new();
    for (i, &protocol) in Protocol::ALL.iter().enumerate() {
        let mut e = event(b"u", Outcome::Failure, i as u32 + 1);
        e.protocol = protocol;
        e.service = if i % 2 == 0 {
            Service::Postfix
        } else {
            Service::Dovecot
        };
        events.push((e, format!("fp{i}")));
    }
    // Header-less line: no time, no server; no user, mechanism, reason, session.
    events.push((
        AuthEvent {
            time: None,
            server: None,
            service: Service::Postfix,
            protocol: Protocol::Smtp,
            outcome: Outcome::Success,
            ip: "192.0.2.7".parse().unwrap(),
            user: None,
            mechanism: None,
            reason: None,
            attempts: 1,
            session: None,
        },
        "journal".to_owned(),
    ));
    // Extremes: negative offset and epoch, max nanos, u32::MAX attempts, empty-but-present
    // user bytes, every byte value.
    let mut extreme = event(&(0..=255u8).collect::<Vec<_>>(), Outcome::Failure, u32::MAX);
    extreme.time = Some(EventTime {
        unix: -1,
        nanos: 999_999_999,
        offset_secs: -50_400,
    });
    events.push((extreme, String::new()));
    s.commit(&Commit {
        enrichments: &[],
        ptrs: &[],
        events: &events,
        ..empty_commit()
    })
    .unwrap();
    let back: Vec<_> = s
        .events()
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.source))
        .collect();
    assert_eq!(back, events);
    assert_eq!(
        s.failure_attempts().unwrap(),
        36 + u64::from(u32::MAX),
        "sum of 1..=8 plus u32::MAX"
    );
}

#[test]
fn enrichment_columns_are_written_with_their_events_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    let events = [
        (event(b"a", Outcome::Failure, 1), "fp".to_owned()),
        (event(b"b", Outcome::Failure, 2), "fp".to_owned()),
    ];
    let full = Enrichment {
        hostname: Some("h.example".into()),
        reverse_dns_status: Some("OK".into()),
        country_code: Some("FR".into()),
        asn: Some("64496".into()),
        aso: Some("Example".into()),
        ptr_confirmed: Some(true),
    };
    let enrichments = [full.clone(), Enrichment::default()];
    s.commit(&Commit {
        events: &events,
        enrichments: &enrichments,
        ..empty_commit()
    })
    .unwrap();
    let back: Vec<Enrichment> = s
        .events()
        .unwrap()
        .into_iter()
        .map(|e| e.enrichment)
        .collect();
    assert_eq!(back, enrichments);
    // A commit whose enrichments do not match its events writes nothing.
    assert!(
        s.commit(&Commit {
            events: &events,
            enrichments: &enrichments[..1],
            ..empty_commit()
        })
        .is_err()
    );
    assert_eq!(s.event_count().unwrap(), 2);
}

#[test]
fn the_dns_cache_is_upserted_and_carried_over_by_import() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    let ip: std::net::IpAddr = "2001:db8::1".parse().unwrap();
    let mut r = PtrRecord {
        ip,
        hostname: None,
        status: "Timeout".into(),
        confirmed: None,
        resolved_unix: 10,
    };
    s.commit(&Commit {
        ptrs: std::slice::from_ref(&r),
        ..empty_commit()
    })
    .unwrap();
    r.hostname = Some("h.example".into());
    r.status = "OK".into();
    r.confirmed = Some(false);
    r.resolved_unix = 20;
    s.commit(&Commit {
        ptrs: std::slice::from_ref(&r),
        ..empty_commit()
    })
    .unwrap();
    assert_eq!(s.cached_ptr(ip).unwrap(), Some(r.clone()));
    assert_eq!(s.cached_ptr_count().unwrap(), 1);
    assert_eq!(s.cached_ptr("192.0.2.1".parse().unwrap()).unwrap(), None);
    drop(s);
    let mut fresh = Store::open(&dir.path().join("db2")).unwrap();
    assert_eq!(fresh.import_dns_cache(&dir.path().join("db")).unwrap(), 1);
    assert_eq!(fresh.cached_ptr(ip).unwrap(), Some(r));
}

#[test]
fn checkpoints_are_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    for (offset, finished) in [(10, false), (20, true)] {
        let cps = [cp("fp", offset, finished)];
        s.commit(&commit_of(&[], &cps)).unwrap();
    }
    s.commit(&commit_of(
        &[],
        &[cp("a", 1, false), cp("b", u64::MAX >> 1, false)],
    ))
    .unwrap();
    assert_eq!(s.checkpoints().unwrap().len(), 3);
    assert_eq!(s.checkpoint("fp").unwrap(), Some(cp("fp", 20, true)));
    assert_eq!(s.checkpoint("b").unwrap().unwrap().offset, u64::MAX >> 1);
    let updated: i64 = s
        .conn
        .query_row(
            "SELECT updated_unix FROM checkpoints WHERE fingerprint = 'fp'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(updated > 1_700_000_000);
}

#[test]
fn none_fields_keep_the_stored_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    s.commit(&Commit {
        enrichments: &[],
        ptrs: &[],
        jsonl_len: Some(7),
        ..commit_of(&[], &[])
    })
    .unwrap();
    s.commit(&empty_commit()).unwrap();
    assert_eq!(s.cursor("journal").unwrap().as_deref(), Some("s=1;i=2"));
    assert_eq!(s.csv_committed_len().unwrap(), Some(1234));
    assert_eq!(s.jsonl_committed_len().unwrap(), Some(7));
    assert!(s.correlator_state().unwrap().is_some());
    s.commit(&Commit {
        enrichments: &[],
        ptrs: &[],
        cursor: Some(("journal", "s=2")),
        correlator_state: Some(b""),
        csv_len: Some(0),
        ..empty_commit()
    })
    .unwrap();
    assert_eq!(s.cursor("journal").unwrap().as_deref(), Some("s=2"));
    assert_eq!(s.correlator_state().unwrap(), Some(vec![]));
    assert_eq!(s.csv_committed_len().unwrap(), Some(0));
}

#[test]
fn out_of_range_lengths_are_refused_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    let events = [(event(b"a", Outcome::Failure, 1), "fp".to_owned())];
    let err = s
        .commit(&Commit {
            enrichments: &[],
            ptrs: &[],
            events: &events,
            csv_len: Some(u64::MAX),
            ..empty_commit()
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert_eq!(s.event_count().unwrap(), 0);
}

#[test]
fn a_failed_commit_writes_nothing_and_the_store_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    // A trigger makes the second insert fail after the first succeeded.
    s.conn
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.user = x'626164'
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();
    let events = vec![
        (event(b"good", Outcome::Failure, 1), "fp".to_owned()),
        (event(b"bad", Outcome::Failure, 1), "fp".to_owned()),
    ];
    let cps = [cp("fp", 99, false)];
    let err = s.commit(&commit_of(&events, &cps)).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Sqlite {
                doing: "storing events",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(s.event_count().unwrap(), 0);
    assert_eq!(s.checkpoint("fp").unwrap(), None);
    assert_eq!(s.cursor("journal").unwrap(), None);
    assert_eq!(s.correlator_state().unwrap(), None);
    assert_eq!(s.csv_committed_len().unwrap(), None);
    // The next commit (without the bad event) goes through.
    s.commit(&commit_of(&events[..1], &cps)).unwrap();
    assert_eq!(s.event_count().unwrap(), 1);
    assert_eq!(s.checkpoint("fp").unwrap().unwrap().offset, 99);
}

#[test]
fn a_failure_after_the_events_rolls_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    s.conn
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON meta WHEN NEW.key = 'csv_len'
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();
    let events = [(event(b"a", Outcome::Failure, 1), "fp".to_owned())];
    let err = s
        .commit(&commit_of(&events, &[cp("fp", 5, false)]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Sqlite {
                doing: "storing an export length",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(s.event_count().unwrap(), 0);
    assert_eq!(s.checkpoints().unwrap(), vec![]);
    assert_eq!(s.correlator_state().unwrap(), None);
}

#[test]
fn a_damaged_row_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    let events = [(event(b"a", Outcome::Failure, 1), "fp".to_owned())];
    s.commit(&Commit {
        enrichments: &[],
        ptrs: &[],
        events: &events,
        ..empty_commit()
    })
    .unwrap();
    for (column, value) in [
        ("ip", "not-an-ip"),
        ("service", "exim"),
        ("protocol", "gopher"),
        ("outcome", "maybe"),
    ] {
        let good: String = s
            .conn
            .query_row(&format!("SELECT {column} FROM events"), [], |r| r.get(0))
            .unwrap();
        s.conn
            .execute(&format!("UPDATE events SET {column} = ?1"), [value])
            .unwrap();
        let err = s.events().unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { message } if message.contains(column)),
            "{err}"
        );
        s.conn
            .execute(&format!("UPDATE events SET {column} = ?1"), [good])
            .unwrap();
    }
    assert_eq!(s.events().unwrap().len(), 1);
    s.conn
        .execute(
            "INSERT INTO meta(key, value) VALUES('csv_len', -1)
             ON CONFLICT(key) DO UPDATE SET value = -1",
            [],
        )
        .unwrap();
    assert!(matches!(
        s.csv_committed_len(),
        Err(StoreError::Corrupt { .. })
    ));
    s.conn
        .execute("INSERT INTO checkpoints VALUES('neg', '/x', -5, 0, 0)", [])
        .unwrap();
    assert!(matches!(
        s.checkpoint("neg"),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(s.checkpoints(), Err(StoreError::Corrupt { .. })));
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("not a maillogsentinel store"),
        "{err}"
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    Store::open(&path)
        .unwrap()
        .conn
        .execute(
            "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 99,
                known: SCHEMA_VERSION
            }
        ),
        "{err}"
    );
}

#[test]
fn an_unreachable_path_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(&dir.path().join("missing/db")).err().unwrap();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(!err.is_disk_full());
}

/// The summary per source and day answers exactly what a scan of the events would: for every
/// source and every instant (before, inside and after each source's days, on the second of an
/// event), over events stored by several commits.
#[test]
fn failures_before_match_a_scan_of_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("maillogsentinel.db")).unwrap();
    let base = 1_763_856_000; // a UTC midnight
    let mut all = Vec::new();
    for i in 0..300i64 {
        let mut e = event(
            format!("u{}", i % 7).as_bytes(),
            Outcome::Failure,
            1 + (i % 3) as u32,
        );
        e.time.as_mut().unwrap().unix = base + i * 997 % (3 * 86_400);
        e.ip = format!("192.0.2.{}", i % 5).parse().unwrap();
        if i % 11 == 0 {
            e.outcome = Outcome::Success;
        }
        let asn = Enrichment {
            asn: Some(format!("AS{}", i % 2)),
            ..Enrichment::default()
        };
        all.push(((e, "f".to_owned()), asn));
    }
    for chunk in all.chunks(70) {
        let (events, enrichments): (Vec<_>, Vec<_>) = chunk.iter().cloned().unzip();
        let mut c = commit_of(&events, &[]);
        c.enrichments = &enrichments;
        s.commit(&c).unwrap();
    }
    let scan = |key: FailureKey, value: &str, before: i64| -> Option<(i64, u64)> {
        let hits: Vec<&AuthEvent> = all
            .iter()
            .filter(|((e, _), en)| {
                let t = e.time.unwrap().unix;
                let v = match key {
                    FailureKey::Ip => e.ip.to_string(),
                    FailureKey::Network => crate::event::network(e.ip),
                    FailureKey::Asn => en.asn.clone().unwrap(),
                };
                e.outcome == Outcome::Failure && t < before && v == value
            })
            .map(|((e, _), _)| e)
            .collect();
        let first = hits.iter().map(|e| e.time.unwrap().unix).min()?;
        Some((first, hits.iter().map(|e| u64::from(e.attempts)).sum()))
    };
    let mut instants: Vec<i64> = all.iter().map(|((e, _), _)| e.time.unwrap().unix).collect();
    instants.extend([base - 1, base, base + 86_400, base + 4 * 86_400]);
    let keys = [
        (FailureKey::Ip, "192.0.2.3"),
        (FailureKey::Ip, "192.0.2.4"),
        (FailureKey::Ip, "192.0.2.99"),
        (FailureKey::Network, "192.0.2.0/24"),
        (FailureKey::Asn, "AS1"),
    ];
    for (key, value) in keys {
        for &t in &instants {
            for before in [t, t + 1] {
                let want = scan(key, value, before);
                assert_eq!(
                    s.failures_before(key, value, before).unwrap(),
                    want,
                    "{key:?} {value} {before}"
                );
                assert_eq!(s.failed_before(key, value, before).unwrap(), want.is_some());
            }
        }
    }
    assert_eq!(
        s.users_ever_succeeded(&[b"u0", b"nobody"]).unwrap(),
        [true, false]
    );
    let summary = s.ip_summary("192.0.2.3".parse().unwrap()).unwrap();
    let of_ip: Vec<&AuthEvent> = all
        .iter()
        .map(|((e, _), _)| e)
        .filter(|e| e.ip.to_string() == "192.0.2.3")
        .collect();
    let sum = |o: Outcome| -> u64 {
        of_ip
            .iter()
            .filter(|e| e.outcome == o)
            .map(|e| u64::from(e.attempts))
            .sum()
    };
    assert_eq!(summary.failures, sum(Outcome::Failure));
    assert_eq!(summary.successes, sum(Outcome::Success));
    assert_eq!(
        summary.first_seen_unix,
        of_ip.iter().map(|e| e.time.unwrap().unix).min()
    );
    assert_eq!(
        summary.users.iter().map(|(_, n)| n).sum::<u64>(),
        sum(Outcome::Failure)
    );
}

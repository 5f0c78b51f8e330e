use super::*;
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
        events,
        checkpoints: cps,
        cursor: Some(("journal", "s=1;i=2")),
        correlator_state: Some(b"{\"state\":1}"),
        csv_len: Some(1234),
        jsonl_len: None,
    }
}

#[test]
fn commit_round_trips_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maillogsentinel.db");
    let events = vec![
        (event(b"alice", Outcome::Failure, 3), "fp1".to_owned()),
        (event(b"\xff\x00bob", Outcome::Success, 1), "fp1".to_owned()),
    ];
    let cps = vec![Checkpoint {
        fingerprint: "fp1".into(),
        path: "/var/log/mail.log".into(),
        offset: 4096,
        finished: false,
    }];
    {
        let mut s = Store::open(&path).unwrap();
        s.commit(&commit_of(&events, &cps)).unwrap();
    }
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.event_count().unwrap(), 2);
    assert_eq!(s.attempts(Outcome::Failure).unwrap(), 3);
    assert_eq!(s.attempts(Outcome::Success).unwrap(), 1);
    assert_eq!(s.checkpoint("fp1").unwrap(), Some(cps[0].clone()));
    assert_eq!(s.checkpoint("other").unwrap(), None);
    assert_eq!(s.cursor("journal").unwrap().as_deref(), Some("s=1;i=2"));
    assert_eq!(
        s.correlator_state().unwrap().as_deref(),
        Some(&b"{\"state\":1}"[..])
    );
    assert_eq!(s.csv_committed_len().unwrap(), Some(1234));
    assert_eq!(s.jsonl_committed_len().unwrap(), None);
    let mut back = Vec::new();
    s.for_each_event(|e| back.push((e.event, e.source)))
        .unwrap();
    assert_eq!(back, events);
}

#[test]
fn checkpoints_are_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    for (offset, finished) in [(10, false), (20, true)] {
        let cps = [Checkpoint {
            fingerprint: "fp".into(),
            path: "/x".into(),
            offset,
            finished,
        }];
        s.commit(&commit_of(&[], &cps)).unwrap();
    }
    assert_eq!(s.checkpoints().unwrap().len(), 1);
    assert_eq!(s.checkpoint("fp").unwrap().unwrap().offset, 20);
    assert!(s.checkpoint("fp").unwrap().unwrap().finished);
}

#[test]
fn a_failed_commit_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    // A trigger makes the second insert fail after the first succeeded.
    s.conn
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.user = x'626164' BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();
    let events = vec![
        (event(b"good", Outcome::Failure, 1), "fp".to_owned()),
        (event(b"bad", Outcome::Failure, 1), "fp".to_owned()),
    ];
    let cps = [Checkpoint {
        fingerprint: "fp".into(),
        path: "/x".into(),
        offset: 99,
        finished: false,
    }];
    assert!(s.commit(&commit_of(&events, &cps)).is_err());
    assert_eq!(s.event_count().unwrap(), 0);
    assert_eq!(s.checkpoint("fp").unwrap(), None);
    assert_eq!(s.csv_committed_len().unwrap(), None);
}

#[test]
fn bulk_insert_of_200k_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("db")).unwrap();
    let events: Vec<_> = (0..200_000u32)
        .map(|i| {
            (
                event(format!("u{i}").as_bytes(), Outcome::Failure, 1),
                "fp".to_owned(),
            )
        })
        .collect();
    let t = std::time::Instant::now();
    for chunk in events.chunks(50_000) {
        s.commit(&commit_of(chunk, &[])).unwrap();
    }
    eprintln!("200k events stored in {:?}", t.elapsed());
    assert_eq!(s.event_count().unwrap(), 200_000);
}

use super::*;
use crate::envelope::timestamp::EventTime;
use crate::event::{AuthEvent, Outcome, Protocol, Service};
use crate::query::{GroupBy, Groups};
use crate::store::{Commit, Enrichment, IngestStore};

/// 2025-11-30T10:00:00Z.
const T0: i64 = 1_764_496_800;
const DAY: i64 = 86_400;

struct Row {
    at: i64,
    outcome: Outcome,
    ip: &'static str,
    user: &'static str,
    server: &'static str,
    cc: Option<&'static str>,
    asn: Option<&'static str>,
}

/// The fixed store: seven events over four days, ids 1 to 7 in time order; in
/// `event_index`, or waiting for it (`indexed` false: read one by one).
fn fixed_store(indexed: bool) -> (tempfile::TempDir, Store) {
    use Outcome::{Failure as F, Success as S};
    let rows = [
        Row {
            at: T0,
            outcome: F,
            ip: "192.0.2.10",
            user: "alice",
            server: "mx1",
            cc: Some("CN"),
            asn: Some("64500"),
        },
        Row {
            at: T0 + 60,
            outcome: F,
            ip: "192.0.2.10",
            user: "admin",
            server: "mx1",
            cc: Some("CN"),
            asn: Some("64500"),
        },
        Row {
            at: T0 + DAY,
            outcome: S,
            ip: "192.0.2.11",
            user: "alice",
            server: "mx1",
            cc: Some("CN"),
            asn: Some("64500"),
        },
        Row {
            at: T0 + DAY + 30,
            outcome: F,
            ip: "198.51.100.7",
            user: "info@example.org",
            server: "mx2",
            cc: Some("US"),
            asn: Some("64501"),
        },
        Row {
            at: T0 + 2 * DAY,
            outcome: S,
            ip: "2001:db8:1:2::5",
            user: "bob",
            server: "mx1",
            cc: Some("DE"),
            asn: Some("64502"),
        },
        Row {
            at: T0 + 2 * DAY + 10,
            outcome: F,
            ip: "2001:db8:1:3::9",
            user: "admin",
            server: "mx2",
            cc: Some("DE"),
            asn: Some("64502"),
        },
        Row {
            at: T0 + 3 * DAY,
            outcome: F,
            ip: "10.1.2.3",
            user: "alice",
            server: "mx1",
            cc: None,
            asn: None,
        },
    ];
    let events: Vec<(AuthEvent, String)> = rows
        .iter()
        .map(|r| {
            let e = AuthEvent {
                time: Some(EventTime {
                    unix: r.at,
                    nanos: 0,
                    offset_secs: 3600,
                }),
                server: Some(r.server.into()),
                service: Service::Dovecot,
                protocol: Protocol::Imap,
                outcome: r.outcome,
                ip: r.ip.parse().unwrap(),
                user: Some(r.user.as_bytes().to_vec()),
                mechanism: None,
                reason: None,
                attempts: if r.at == T0 + 60 { 3 } else { 1 },
                session: None,
            };
            (e, "journal".to_owned())
        })
        .collect();
    let enrichments: Vec<Enrichment> = rows
        .iter()
        .map(|r| Enrichment {
            country_code: r.cc.map(Into::into),
            asn: r.asn.map(Into::into),
            ..Enrichment::default()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("maillogsentinel.db")).unwrap();
    store
        .commit(&Commit {
            events: &events,
            enrichments: &enrichments,
            ..Commit::default()
        })
        .unwrap();
    if indexed {
        assert_eq!(store.index_pending(7, i64::MAX).unwrap(), 7);
        assert_eq!(store.index_pending(0, i64::MAX).unwrap(), 0);
    }
    (dir, store)
}

fn fixed() -> (tempfile::TempDir, Store) {
    fixed_store(true)
}

fn ids(store: &Store, f: &Filters) -> Vec<i64> {
    let mut out = Vec::new();
    store
        .query(f, |e| {
            out.push(e.id);
            true
        })
        .unwrap();
    out
}

fn ip(s: &str) -> Filters {
    Filters {
        ip: Some(s.parse().unwrap()),
        ..Filters::default()
    }
}

fn user(u: UserFilter) -> Filters {
    Filters {
        user: Some(u),
        ..Filters::default()
    }
}

#[test]
fn each_filter_finds_exactly_its_events_newest_first() {
    each_filter_finds_exactly_its_events(true);
}

#[test]
fn events_not_indexed_yet_are_found_too() {
    each_filter_finds_exactly_its_events(false);
}

fn each_filter_finds_exactly_its_events(indexed: bool) {
    let (_d, mut s) = fixed_store(indexed);
    // A backlog's pass leaves its events waiting: they are read one by one.
    assert_eq!(s.index_pending(QUIET_PASS, i64::MAX).unwrap(), 0);
    assert_eq!(ids(&s, &Filters::default()), [7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(ids(&s, &ip("192.0.2.10")), [2, 1]);
    assert_eq!(ids(&s, &ip("192.0.2.0/24")), [3, 2, 1]);
    assert_eq!(ids(&s, &ip("192.0.2.8/30")), [3, 2, 1]);
    assert_eq!(ids(&s, &ip("192.0.2.10/31")), [3, 2, 1]);
    assert_eq!(ids(&s, &ip("192.0.2.8/31")), Vec::<i64>::new());
    assert_eq!(ids(&s, &ip("192.0.0.0/16")), [3, 2, 1]);
    assert_eq!(ids(&s, &ip("0.0.0.0/0")), [7, 4, 3, 2, 1]);
    assert_eq!(ids(&s, &ip("2001:db8::/32")), [6, 5]);
    assert_eq!(ids(&s, &ip("2001:db8:1:2::/64")), [5]);
    assert_eq!(ids(&s, &ip("2001:db8:1:2::5")), [5]);
    assert_eq!(
        ids(&s, &user(UserFilter::Exact(b"alice".to_vec()))),
        [7, 3, 1]
    );
    assert_eq!(
        ids(&s, &user(UserFilter::Like(b"*@example.org".to_vec()))),
        [4]
    );
    assert_eq!(ids(&s, &user(UserFilter::Like(b"adm*".to_vec()))), [6, 2]);
    assert_eq!(
        ids(&s, &user(UserFilter::Like(b"a*".to_vec()))),
        [7, 6, 3, 2, 1]
    );
    let asn = Filters {
        asn: Some("64500".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, &asn), [3, 2, 1]);
    let cc = Filters {
        country: Some("DE".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, &cc), [6, 5]);
    let server = Filters {
        server: Some("mx2".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, &server), [6, 4]);
    let logins = Filters {
        outcome: Some(Outcome::Success),
        ..Filters::default()
    };
    assert_eq!(ids(&s, &logins), [5, 3]);
}

#[test]
fn filters_combine_and_times_bound_them() {
    let (_d, s) = fixed();
    let alice_failed = Filters {
        user: Some(UserFilter::Exact(b"alice".to_vec())),
        outcome: Some(Outcome::Failure),
        ..Filters::default()
    };
    assert_eq!(ids(&s, &alice_failed), [7, 1]);
    let cn_admin = Filters {
        user: Some(UserFilter::Exact(b"admin".to_vec())),
        country: Some("CN".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, &cn_admin), [2]);
    let second_day = Filters {
        since: Some(T0 + DAY),
        until: Some(T0 + 2 * DAY),
        ..Filters::default()
    };
    assert_eq!(ids(&s, &second_day), [4, 3]);
    let alice_later = Filters {
        since: Some(T0 + 1),
        ..user(UserFilter::Exact(b"alice".to_vec()))
    };
    assert_eq!(ids(&s, &alice_later), [7, 3]);
    let nobody = user(UserFilter::Exact(b"carol".to_vec()));
    assert_eq!(ids(&s, &nobody), Vec::<i64>::new());
    // The reader stops when asked to: a limit of two reads two.
    let mut seen = Vec::new();
    s.query(&Filters::default(), |e| {
        seen.push(e.id);
        seen.len() < 2
    })
    .unwrap();
    assert_eq!(seen, [7, 6]);
}

#[test]
fn groups_count_events_attempts_and_first_and_last_seen() {
    let (_d, s) = fixed();
    let utc = jiff::tz::TimeZone::UTC;
    let group = |by: GroupBy, f: &Filters| {
        let mut g = Groups::new(by, utc.clone());
        s.query(f, |e| {
            g.add(&e);
            true
        })
        .unwrap();
        g.into_sorted(100)
            .into_iter()
            .map(|g| {
                (
                    g.key,
                    g.events,
                    g.failures,
                    g.successes,
                    g.first_unix,
                    g.last_unix,
                )
            })
            .collect::<Vec<_>>()
    };
    let k = |s: &str| Some(s.to_owned());
    assert_eq!(
        group(GroupBy::Ip, &ip("192.0.2.0/24")),
        [
            (k("192.0.2.10"), 2, 4, 0, T0, T0 + 60),
            (k("192.0.2.11"), 1, 0, 1, T0 + DAY, T0 + DAY)
        ]
    );
    assert_eq!(
        group(GroupBy::User, &Filters::default()),
        [
            (k("admin"), 2, 4, 0, T0 + 60, T0 + 2 * DAY + 10),
            (k("alice"), 3, 2, 1, T0, T0 + 3 * DAY),
            (k("bob"), 1, 0, 1, T0 + 2 * DAY, T0 + 2 * DAY),
            (k("info@example.org"), 1, 1, 0, T0 + DAY + 30, T0 + DAY + 30),
        ]
    );
    assert_eq!(
        group(GroupBy::Day, &user(UserFilter::Exact(b"alice".to_vec()))),
        [
            (k("2025-11-30"), 1, 1, 0, T0, T0),
            (k("2025-12-01"), 1, 0, 1, T0 + DAY, T0 + DAY),
            (k("2025-12-03"), 1, 1, 0, T0 + 3 * DAY, T0 + 3 * DAY),
        ]
    );
    assert_eq!(
        group(
            GroupBy::Net,
            &Filters {
                asn: Some("64502".into()),
                ..Filters::default()
            }
        ),
        [
            (k("2001:db8:1:2::/64"), 1, 0, 1, T0 + 2 * DAY, T0 + 2 * DAY),
            (
                k("2001:db8:1:3::/64"),
                1,
                1,
                0,
                T0 + 2 * DAY + 10,
                T0 + 2 * DAY + 10
            )
        ]
    );
    assert_eq!(
        group(GroupBy::Country, &ip("10.0.0.0/8")),
        [(None, 1, 1, 0, T0 + 3 * DAY, T0 + 3 * DAY)]
    );
    // Hours of a zone: 10:00 UTC is 11:00 in Paris.
    let mut g = Groups::new(
        GroupBy::Hour,
        jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
    );
    s.query(&ip("192.0.2.10"), |e| {
        g.add(&e);
        true
    })
    .unwrap();
    let hours: Vec<Option<String>> = g.into_sorted(10).into_iter().map(|g| g.key).collect();
    assert_eq!(hours, [k("2025-11-30 11:00+01:00")]);
}

/// The plans of every statement a filter's query runs.
fn plans(s: &Store, f: &Filters) -> Vec<String> {
    let explain = |tail: &str, params: Vec<Value>| -> Vec<String> {
        let sql = match tail.starts_with("SELECT") {
            true => tail.to_owned(),
            false => format!("{} {tail}", super::super::SELECT_EVENTS),
        };
        let mut stmt = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut out = Vec::new();
    if let Some((kind, lookup)) = index_lookup(f) {
        let (sql, params) = index_statement(&lookup, kind, 0, 1);
        out.extend(explain(&sql, params));
        let (tail, params) = pending_statement(f, 5);
        out.extend(explain(&tail, params));
        out.extend(explain(BY_ID, vec![Value::Integer(1)]));
    } else {
        for (kinds, value) in summary_lookups(f) {
            for kind in kinds {
                out.extend(explain(
                    SUMMARY_STATEMENT,
                    vec![Value::Integer(kind as i64), value.clone()],
                ));
            }
        }
        let (tail, params) = span_statement(f, 0, 1);
        out.extend(explain(&tail, params));
    }
    out
}

#[test]
fn every_filter_is_served_by_an_index() {
    let (_d, s) = fixed();
    let single = [
        Filters::default(),
        ip("192.0.2.10"),
        ip("2001:db8::1"),
        ip("192.0.2.0/24"),
        ip("192.0.0.0/16"),
        ip("2001:db8::/32"),
        user(UserFilter::Exact(b"alice".to_vec())),
        user(UserFilter::Like(b"adm*".to_vec())),
        user(UserFilter::Like(b"*@example.org".to_vec())),
        Filters {
            asn: Some("64500".into()),
            ..Filters::default()
        },
        Filters {
            country: Some("CN".into()),
            ..Filters::default()
        },
        Filters {
            server: Some("mx1".into()),
            ..Filters::default()
        },
        Filters {
            outcome: Some(Outcome::Failure),
            ..Filters::default()
        },
        Filters {
            since: Some(T0),
            until: Some(T0 + DAY),
            ..Filters::default()
        },
    ];
    for f in &single {
        let plans = plans(&s, f);
        for p in &plans {
            assert!(p.starts_with("SEARCH"), "{f:?}: {p}");
            assert!(!p.contains("TEMP B-TREE"), "{f:?}: {p}");
        }
        let by_index = index_lookup(f).is_some();
        let expected = if by_index {
            "SEARCH event_index USING PRIMARY KEY (kind=? AND value"
        } else {
            "USING INDEX events_time (time_unix>? AND time_unix<?)"
        };
        assert!(
            plans.iter().any(|p| p.contains(expected)),
            "{f:?}: {plans:?}"
        );
        if by_index {
            assert!(
                plans.contains(&"SEARCH events USING INTEGER PRIMARY KEY (rowid>?)".to_owned()),
                "{f:?}: {plans:?}"
            );
            assert!(
                plans.contains(&"SEARCH events USING INTEGER PRIMARY KEY (rowid=?)".to_owned()),
                "{f:?}: {plans:?}"
            );
        }
        assert!(
            plans
                .iter()
                .filter(|p| p.contains("source_days"))
                .all(|p| p.contains("PRIMARY KEY (kind=? AND value=?)")),
            "{f:?}: {plans:?}"
        );
    }
}

#[test]
fn network_prefixes_narrow_by_whole_octets_and_the_first_group() {
    let p = |s: &str| network_text_prefix(&s.parse().unwrap());
    assert_eq!(p("192.0.2.0/24"), "192.0.2.");
    assert_eq!(p("198.51.100.7"), "198.51.100.");
    assert_eq!(p("10.16.0.0/12"), "10.");
    assert_eq!(p("10.0.0.0/7"), "");
    assert_eq!(p("2001:db8::/32"), "2001:");
    assert_eq!(p("::/0"), "");
}

#[test]
fn a_bounded_pass_indexes_the_oldest_waiting_events_and_the_next_pass_goes_on() {
    let (_d, mut s) = fixed_store(false);
    for (most, indexed, up_to) in [(3, 3, 3), (3, 3, 6), (3, 1, 7), (3, 0, 7)] {
        assert_eq!(s.index_pending(0, most).unwrap(), indexed);
        assert_eq!(s.indexed_up_to().unwrap(), up_to);
        // Indexed or waiting, the same events are found.
        assert_eq!(ids(&s, &ip("192.0.2.0/24")), [3, 2, 1]);
        assert_eq!(ids(&s, &ip("2001:db8::/32")), [6, 5]);
        assert_eq!(ids(&s, &ip("0.0.0.0/0")), [7, 4, 3, 2, 1]);
    }
}

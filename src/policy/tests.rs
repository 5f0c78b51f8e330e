use super::*;
use crate::envelope::timestamp::{EventTime, rfc3339};
use crate::event::{AuthEvent, Protocol, Service};
use crate::store::Enrichment;

fn event(t: i64, ip: &str, user: Option<&str>, outcome: Outcome, asn: Option<&str>) -> StoredEvent {
    StoredEvent {
        id: 0,
        event: AuthEvent {
            time: Some(EventTime {
                unix: t,
                nanos: 0,
                offset_secs: 0,
            }),
            server: Some("mx1".into()),
            service: Service::Dovecot,
            protocol: Protocol::Imap,
            outcome,
            ip: ip.parse().unwrap(),
            user: user.map(|u| u.as_bytes().to_vec()),
            mechanism: None,
            reason: None,
            attempts: 1,
            session: None,
        },
        source: String::new(),
        enrichment: Enrichment {
            asn: asn.map(str::to_owned),
            ..Enrichment::default()
        },
    }
}

fn fail(t: i64, ip: &str, user: &str) -> StoredEvent {
    event(t, ip, Some(user), Outcome::Failure, None)
}

fn detector() -> Detector {
    Detector::new(&PolicyConfig::default(), 3600)
}

fn kinds(found: &[Detection]) -> Vec<(Kind, String)> {
    found
        .iter()
        .map(|d| (d.alert.kind, d.source.clone()))
        .collect()
}

#[test]
fn ten_failures_in_ten_minutes_are_brute_force_once_per_hold_off() {
    let mut d = detector();
    let mut all = Vec::new();
    for i in 0..9 {
        all.extend(d.observe(&fail(1000 + i * 60, "192.0.2.1", "a"), true));
    }
    assert!(all.is_empty(), "9 failures: {all:?}");
    let found = d.observe(&fail(1000 + 9 * 60, "192.0.2.1", "a"), true);
    assert_eq!(kinds(&found), [(Kind::Bruteforce, "192.0.2.1".into())]);
    assert_eq!(found[0].alert.count, 10);
    assert_eq!(found[0].alert.first_seen, rfc3339(1000));
    assert_eq!(found[0].block, Some("192.0.2.1".parse().unwrap()));
    // More within the hold-off: nothing; after it: again.
    assert!(
        d.observe(&fail(1000 + 10 * 60, "192.0.2.1", "a"), true)
            .is_empty()
    );
    let later = 1000 + 9 * 60 + 3600;
    for i in 0..9 {
        d.observe(&fail(later - 100 + i, "192.0.2.1", "a"), true);
    }
    assert_eq!(
        kinds(&d.observe(&fail(later, "192.0.2.1", "a"), true)).len(),
        1
    );
}

#[test]
fn failures_spread_past_the_window_are_not_brute_force_but_the_slow_rule_sees_them() {
    let mut d = detector();
    let mut found = Vec::new();
    // One failure every 11 minutes: never 10 in 10 minutes; the 30th is 30 in 24 h.
    for i in 0..29 {
        found.extend(d.observe(&fail(i * 660, "198.51.100.7", "x"), true));
    }
    assert!(found.is_empty(), "{found:?}");
    let slow = d.observe(&fail(29 * 660, "198.51.100.7", "x"), true);
    assert_eq!(slow.len(), 1);
    assert_eq!(slow[0].alert.evidence.window_seconds, 86_400);
    assert_eq!(slow[0].alert.count, 30);
}

#[test]
fn several_addresses_of_one_network_list_the_network() {
    let mut d = detector();
    let mut found = Vec::new();
    for i in 0..10 {
        found.extend(d.observe(
            &fail(100 + i, &format!("203.0.113.{}", i % 4 + 1), "u"),
            true,
        ));
    }
    assert_eq!(kinds(&found), [(Kind::Bruteforce, "203.0.113.0/24".into())]);
    assert_eq!(found[0].block, Some("203.0.113.0/24".parse().unwrap()));
    assert_eq!(found[0].alert.evidence.by, "network");
}

#[test]
fn a_login_after_failures_of_its_address_network_or_asn_is_a_compromise() {
    let mut d = detector();
    d.observe(&fail(100, "192.0.2.9", "root"), true);
    let found = d.observe(
        &event(200, "192.0.2.9", Some("bob"), Outcome::Success, None),
        true,
    );
    assert_eq!(kinds(&found), [(Kind::Compromise, "192.0.2.9".into())]);
    let a = &found[0].alert;
    assert_eq!(
        (a.user.as_deref(), a.count, a.evidence.by.as_str()),
        (Some("bob"), 1, "ip")
    );
    // Same /24.
    d.observe(&fail(100, "192.0.2.200", "root"), true);
    let found = d.observe(
        &event(300, "192.0.2.10", Some("eve"), Outcome::Success, None),
        true,
    );
    assert_eq!(found[0].alert.evidence.by, "network");
    // Same ASN, another network.
    d.observe(
        &event(
            100,
            "198.51.100.1",
            Some("x"),
            Outcome::Failure,
            Some("AS64500"),
        ),
        true,
    );
    let found = d.observe(
        &event(
            400,
            "203.0.113.1",
            Some("kim"),
            Outcome::Success,
            Some("AS64500"),
        ),
        true,
    );
    assert_eq!(found[0].alert.evidence.by, "asn");
    // Failures older than the lookback: nothing.
    let found = d.observe(
        &event(
            100 + 86_400 + 1,
            "192.0.2.77",
            Some("bob"),
            Outcome::Success,
            None,
        ),
        true,
    );
    assert!(found.is_empty(), "{found:?}");
    // A clean login: nothing.
    assert!(
        d.observe(
            &event(500, "233.252.0.1", Some("z"), Outcome::Success, None),
            true
        )
        .is_empty()
    );
}

#[test]
fn one_user_from_five_addresses_is_spraying() {
    let mut d = detector();
    let mut found = Vec::new();
    for i in 1..=5 {
        found.extend(d.observe(&fail(1000 + i, &format!("10.{i}.0.1"), "info"), true));
    }
    assert_eq!(kinds(&found), [(Kind::Spraying, "info".into())]);
    assert_eq!(found[0].alert.count, 5);
    assert_eq!(found[0].alert.evidence.addresses.len(), 5);
    assert_eq!(found[0].block, None);
}

#[test]
fn replayed_events_fill_the_windows_without_detections_and_holds_restore() {
    let mut d = detector();
    for i in 0..9 {
        assert!(d.observe(&fail(i, "192.0.2.1", "a"), false).is_empty());
    }
    assert_eq!(d.observe(&fail(9, "192.0.2.1", "a"), true).len(), 1);
    let mut d = detector();
    d.hold(Kind::Bruteforce, "192.0.2.1".into(), 5);
    for i in 0..9 {
        d.observe(&fail(i, "192.0.2.1", "a"), false);
    }
    assert!(d.observe(&fail(9, "192.0.2.1", "a"), true).is_empty());
}

use super::*;
use crate::source::MAX_LINE;

fn anonymizer() -> Anonymizer {
    Anonymizer::new(&Key::from_secret(b"a test key of 32 bytes, no more").unwrap())
}

fn rewrite(a: &mut Anonymizer, line: &str) -> String {
    let mut out = Vec::new();
    a.chunk(format!("{line}\n").as_bytes(), &mut out);
    assert_eq!(out.pop(), Some(b'\n'));
    String::from_utf8(out).unwrap()
}

#[test]
fn keys_shorter_than_16_bytes_are_refused() {
    assert!(Key::from_secret(b"too short").is_err());
    assert!(Key::from_secret(&[0; 16]).is_ok());
}

#[test]
fn every_name_of_an_auth_line_is_replaced_and_the_shape_kept() {
    let mut a = anonymizer();
    let line = "Dec 30 01:11:16 mx1.example.org dovecot: imap-login: Login: user=<Rose.Muller@Example.com>, method=PLAIN, rip=107.109.150.81, lip=198.51.100.25, mpid=11101, TLS, session=<mFS0E4PQyRuJYJZr>";
    let out = rewrite(&mut a, line);
    for leak in [
        "mx1",
        "example.org",
        "Rose",
        "Muller",
        "Example",
        "107.109.150.81",
        "198.51.100.25",
        "mFS0E4PQyRuJYJZr",
    ] {
        assert!(!out.contains(leak), "{leak} in {out}");
    }
    // Fields, separators and the text around them stay.
    assert!(out.starts_with("Dec 30 01:11:16 h"), "{out}");
    assert!(
        out.contains(" dovecot: imap-login: Login: user=<u"),
        "{out}"
    );
    assert!(out.contains(", method=PLAIN, rip="), "{out}");
    assert!(out.contains(", mpid=11101, TLS, session=<"), "{out}");
    let session = out.split("session=<").nth(1).unwrap().trim_end_matches('>');
    assert_eq!(session.len(), 16);
    // The mail address keeps its shape, the domain its top level.
    let user = out
        .split("user=<")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let (local, domain) = user.split_once('@').unwrap();
    assert!(local.starts_with('u') && local.len() == 11, "{user}");
    assert!(
        domain.starts_with('h') && domain.ends_with(".com"),
        "{user}"
    );
    // The same line again: the same text (within a run and across anonymizers).
    assert_eq!(rewrite(&mut a, line), out);
    assert_eq!(rewrite(&mut anonymizer(), line), out);
}

#[test]
fn another_key_gives_other_replacements() {
    let line = "Dec 30 00:33:57 mail dovecot: auth: passwd-file(louis,211.129.117.2): unknown user";
    let other = Anonymizer::new(&Key::from_secret(b"another key of 32 bytes, no less").unwrap());
    let mut other = other;
    assert_ne!(rewrite(&mut anonymizer(), line), rewrite(&mut other, line));
}

#[test]
fn the_detectors_spans_go_whole_whatever_the_user_typed() {
    let mut a = anonymizer();
    // A user name imitating fields, and one that is a password.
    let out = rewrite(
        &mut a,
        "Aug  4 16:47:52 m postfix/smtpd[1]: warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: authentication failure, sasl_username=x, sasl_username=y?n[6.6.6.6]",
    );
    assert!(
        !out.contains("6.6.6.6") && !out.contains("y?n") && !out.contains("1.2.3.4"),
        "{out}"
    );
    let user = out.split("sasl_username=").nth(1).unwrap();
    assert!(user.starts_with('u') && user.len() == 11, "{out}");
    let out = rewrite(
        &mut a,
        "Aug  4 16:47:53 m dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<Summer 2024!>, method=PLAIN, rip=192.0.2.9, lip=192.0.2.1, session=<AbC+/12>",
    );
    assert!(!out.contains("Summer") && !out.contains("2024!"), "{out}");
    assert!(
        out.contains("(auth failed, 1 attempts in 2 secs): user=<u"),
        "{out}"
    );
    assert!(!out.contains("AbC+/12"), "{out}");
    // Empty users stay empty.
    let out = rewrite(
        &mut a,
        "Jan  1 00:00:00 m dovecot: pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<>, method=PLAIN, rip=::ffff:192.0.2.9, lip=::FFFF:10.0.0.1, session=<a>",
    );
    assert!(out.contains("user=<>, method=PLAIN, rip=::ffff:"), "{out}");
    assert!(
        !out.contains("192.0.2.9") && !out.contains("10.0.0.1"),
        "{out}"
    );
}

#[test]
fn addresses_keep_their_prefixes_and_mapped_ones_follow_the_plain_ones() {
    let mut a = anonymizer();
    let ip_of = |out: &str, field: &str| -> IpAddr {
        let v = out.split(field).nth(1).unwrap();
        let v = v.split([',', ' ', ']']).next().unwrap();
        detect::parse_ip(v.as_bytes()).unwrap()
    };
    let line = |ip: &str| {
        format!(
            "Jan  1 00:00:00 m dovecot: imap-login: Login: user=<bob>, method=PLAIN, rip={ip}, lip=192.0.2.1, mpid=1, TLS, session=<s>"
        )
    };
    let got = |a: &mut Anonymizer, ip: &str| ip_of(&rewrite(a, &line(ip)), "rip=");
    let bits = |x: IpAddr, y: IpAddr| match (x, y) {
        (IpAddr::V4(x), IpAddr::V4(y)) => (u32::from(x) ^ u32::from(y)).leading_zeros(),
        (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x) ^ u128::from(y)).leading_zeros(),
        _ => panic!("families differ"),
    };
    let (x, y, z) = (
        got(&mut a, "203.0.113.7"),
        got(&mut a, "203.0.113.200"),
        got(&mut a, "203.0.112.7"),
    );
    assert_eq!(bits(x, y), 24);
    assert_eq!(bits(x, z), 23);
    assert_ne!(x, "203.0.113.7".parse::<IpAddr>().unwrap());
    assert_eq!(
        got(&mut a, "::ffff:203.0.113.7"),
        x,
        "the tool reads both as one address"
    );
    let (p, q) = (
        got(&mut a, "2001:db8:1:2::5"),
        got(&mut a, "2001:db8:1:2:aaaa::9"),
    );
    assert_eq!(bits(p, q), 64);
    // In other lines and shapes: [addr]:port, addr:port, host[addr].
    let out = rewrite(
        &mut a,
        "Dec 30 00:00:00 mail postfix/postscreen[1190]: CONNECT from [203.0.113.7]:44927 to [198.51.100.25]:25",
    );
    assert!(
        out.contains(&format!("CONNECT from [{x}]:44927 to [")),
        "{out}"
    );
    let out = rewrite(
        &mut a,
        "Dec 30 00:54:17 mail postfix/smtpd[57234]: connect from mail-z4.outbound.example.com[203.0.113.7]",
    );
    assert!(
        out.contains("connect from h") && out.contains(&format!(".com[{x}]")),
        "{out}"
    );
    assert!(!out.contains("outbound"), "{out}");
}

#[test]
fn queue_ids_hosts_and_mail_addresses_of_other_lines_are_replaced() {
    let mut a = anonymizer();
    let out = rewrite(
        &mut a,
        "Dec 30 02:42:59 mail postfix/lmtp[46573]: 3E14116CED: to=<clara@example.com>, relay=mail.example.com[private/dovecot-lmtp], delay=0.39, delays=0.25/0.05/0.01/0.10, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F1B2C3D4E)",
    );
    for leak in ["3E14116CED", "clara", "example", "9F1B2C3D4E"] {
        assert!(!out.contains(leak), "{leak} in {out}");
    }
    // Numbers that are no addresses and plain words stay.
    assert!(out.contains("delay=0.39, delays=0.25/0.05/0.01/0.10, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "), "{out}");
    let id = out.split("]: ").nth(1).unwrap().split(':').next().unwrap();
    assert!(
        id.len() == 10
            && id
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "{id}"
    );
    let out = rewrite(
        &mut a,
        "Dec 30 00:47:30 mail dovecot: lmtp(claire)<13817><nhy5J7X8Pd9CuIFo>: msgid=<t5jey.198018055@eur05.prod.outlook.example>: saved mail to INBOX",
    );
    for leak in ["claire", "nhy5J7X8Pd9CuIFo", "t5jey", "outlook"] {
        assert!(!out.contains(leak), "{leak} in {out}");
    }
    assert!(
        out.contains(")<13817><") && out.contains(": saved mail to INBOX"),
        "{out}"
    );
    let out = rewrite(
        &mut a,
        "Dec 30 00:40:44 mail opendkim[904]: 7F6E6FDCD0: DKIM-Signature field added (s=mail, d=example.org) using TLSv1.2 helo=<WIN-CLJ1B0GQ6JP>",
    );
    assert!(
        !out.contains("example.org") && !out.contains("WIN-CLJ"),
        "{out}"
    );
    assert!(
        out.contains("DKIM-Signature field added (s=mail, d=h")
            && out.contains("using TLSv1.2 helo=<h"),
        "{out}"
    );
}

#[test]
fn every_field_value_is_replaced_where_no_detector_takes_the_line() {
    let mut a = anonymizer();
    // A broken address: no detector takes these lines, the field names alone must do.
    let head = "Dec 30 00:08:35 mail postfix/smtpd[1]: warning: unknown[1.2.3]: ";
    for (field, end) in [
        ("sasl_username=", ""),
        ("sasl_sender=", ""),
        ("user=", ""),
        ("user=<", ">"),
        ("from=<", ">"),
        ("to=<", ">"),
        ("orig_to=<", ">"),
        ("helo=<", ">"),
        ("session=<", ">"),
        ("imap(", ")<1><s3ss10n>"),
        ("pam(", ",1.2.3.4,<s3ss10n>)"),
        ("(username: ", ")"),
    ] {
        let out = rewrite(&mut a, &format!("{head}x {field}www{end} y"));
        assert!(!out.contains("www"), "{field}: {out}");
        assert!(out.contains(&format!("x {field}")), "{field}: {out}");
    }
    // The same word after other fields stays.
    let out = rewrite(&mut a, &format!("{head}method=www, mode=<www> (www)"));
    assert!(out.ends_with("method=www, mode=<www> (www)"), "{out}");
}

#[test]
fn addresses_inside_words_are_replaced_as_the_same_addresses_alone() {
    let mut a = anonymizer();
    let alone = |a: &mut Anonymizer, address: &str| {
        let out = rewrite(
            a,
            &format!("Oct 26 18:13:50 mail postfix/smtpd[1]: connect from unknown[{address}]"),
        );
        out.split("unknown[")
            .nth(1)
            .unwrap()
            .trim_end_matches(']')
            .to_string()
    };
    let anvil = "Oct 26 18:13:50 mail postfix/anvil[1]: statistics: max connection rate 1/60s for";
    for (line, addresses, kept) in [
        // anvil's statistics: `service:client`, the service an address and port when the
        // listener has one.
        (
            format!("{anvil} (smtpd:61.238.241.86) at Oct 26 18:13:50"),
            &["61.238.241.86"][..],
            &[" (smtpd:", ") at Oct 26 18:13:50", "1/60s"][..],
        ),
        (
            format!("{anvil} (127.0.0.1:2525:61.238.241.86) at Oct 26 19:46:00"),
            &["127.0.0.1", "61.238.241.86"],
            &[":2525:", ") at Oct 26 19:46:00"],
        ),
        (
            format!("{anvil} (smtpd:2604:8d00:0:1::3) at Oct 26 17:46:59"),
            &["2604:8d00:0:1::3"],
            &[" (smtpd:", ") at Oct 26 17:46:59"],
        ),
        // A DNSBL's reply quoted in a reject: the client's address in a URL's path.
        (
            "Feb  7 12:25:45 mail postfix/smtpd[13275]: NOQUEUE: reject: RCPT from unknown[87.236.233.182]: 554 5.7.1 Service unavailable; Client host [87.236.233.182] blocked using rbl.example.com; https://www.example.com/query/ip/87.236.233.182; from=<a@b.example> to=<c@d.example> proto=SMTP helo=<x>".to_string(),
            &["87.236.233.182"],
            &["; https://www.example.com/query/ip/", "; from=<"],
        ),
        (
            "Feb  7 12:25:45 mail postfix/smtpd[13275]: NOQUEUE: reject: RCPT from unknown[2001:db8::a11:beef]: 554 5.7.1 Service unavailable; Client host [2001:db8::a11:beef] blocked using rbl.example.com; https://www.example.com/query/ip/2001:db8::a11:beef; from=<a@b.example>".to_string(),
            &["2001:db8::a11:beef"],
            &["; https://www.example.com/query/ip/", "; from=<"],
        ),
    ] {
        let out = rewrite(&mut a, &line);
        for address in addresses {
            assert!(!out.contains(address), "{address} in {out}");
            let pseudonym = alone(&mut a, address);
            assert!(out.contains(&pseudonym), "{pseudonym} ({address}) not in {out}");
        }
        for text in kept {
            assert!(out.contains(text), "{text} not in {out}");
        }
    }
    // Words of digits, dots and colons that hold no address stay.
    let line = format!(
        "{anvil} (smtpd:1.2.3) dsn=2.0.0, TLSv1.3 18:13:50 0.01/0.02/0.03/0.04 x:25 1.2.3.4a/5 v1.2.3.4"
    );
    let out = rewrite(&mut a, &line);
    assert!(
        out.ends_with(&line[line.find(" (smtpd").unwrap()..]),
        "{out}"
    );
}

#[test]
fn hostile_lines_stay_one_line() {
    let mut a = anonymizer();
    // Opened fields never closed, address-like words, up to the longest line read.
    let mut line = String::from("Dec 30 00:00:00 mail postfix/smtpd[1]: ");
    while line.len() + 33 <= MAX_LINE {
        line.push_str("user=<x helo=<1.2.3.4.5.6:7:8:: ");
    }
    let out = rewrite(&mut a, &line);
    assert!(!out.contains('\n') && out.len() > MAX_LINE / 2);
    // One byte longer: left out, counted.
    let mut out = Vec::new();
    a.chunk(
        format!("{line}{}\n", "x".repeat(MAX_LINE + 1 - line.len())).as_bytes(),
        &mut out,
    );
    assert!(out.is_empty() && a.lines_too_long == 1);
    let bytes = [b'\xff', b'\x1b', b'[', b'3', b'1', b'm', b'\0', b'\n'];
    let mut out = Vec::new();
    a.chunk(&bytes, &mut out);
    assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), 1);
}

#[test]
fn the_words_left_out_as_no_candidates_are_never_replaced() {
    // Lines of pieces that make fields, shapes and places, at random offsets from the 64-byte
    // blocks' ends, rewritten looking at the candidates only and at every word.
    const PIECES: [&str; 56] = [
        "255.255.255.255",
        "smtpd:",
        "/ip/",
        "https://www.example.org/",
        "10.0.0.1.",
        "1.22.3.44:25",
        "0.01/0.01/0/0.04",
        "9.",
        "2.0.0",
        " ",
        " ",
        " ",
        "\t",
        "x",
        "unknown",
        "imap",
        "auth-worker",
        "1.2.3.4",
        "::1",
        "::",
        "2001:db8::7",
        "::ffff:10.0.0.1",
        "example.org",
        "Mail.Example.COM.",
        "a@b.example",
        "@",
        ".",
        ":",
        ":25",
        "[",
        "]",
        "<",
        ">",
        "(",
        ")",
        ",",
        "=",
        "user=<",
        "helo=<",
        "session=<",
        "sasl_username=",
        "user=",
        "size=",
        "scantime=",
        "sasl_sender=",
        "from=<",
        "1234",
        "queued as ",
        "(username: ",
        "C41CC4E508:",
        "4F2A81C0D3",
        "0.64",
        "s ",
        "\"",
        "\"a b\"@",
        "==",
    ];
    let mut random = crate::random::seeded(0x9e37_79b9_7f4a_7c15);
    let mut chunk = String::new();
    for _ in 0..3000 {
        if random(2) == 0 {
            chunk.push_str("Dec 30 00:00:00 mail postfix/smtpd[1]: ");
        }
        for _ in 0..random(30) {
            chunk.push_str(PIECES[random(PIECES.len())]);
        }
        chunk.push('\n');
    }
    let chunk = chunk.as_bytes();
    let mut candidates_only = Vec::new();
    anonymizer().chunk(chunk, &mut candidates_only);
    let mut every_word = Vec::new();
    let mut a = anonymizer();
    let needles_mapped = a.map.fill(chunk);
    a.map.take_every_word(chunk);
    a.mapped_chunk(chunk, needles_mapped, &mut every_word);
    for (ours, all) in candidates_only
        .split(|&c| c == b'\n')
        .zip(every_word.split(|&c| c == b'\n'))
    {
        assert_eq!(String::from_utf8_lossy(ours), String::from_utf8_lossy(all));
    }
    assert_eq!(candidates_only, every_word);
    // The lines did call for replacements.
    assert_ne!(candidates_only, chunk);
}

#[test]
fn a_processor_without_vector_instructions_rewrites_alike() {
    // The sample log (auth lines among others: the detectors' lines found by the map where
    // the processor has VBMI, by the prefilter otherwise), and hostile lines.
    let mut chunk = include_bytes!("../../samples/mail.log").to_vec();
    chunk.extend_from_slice(
        b"x AUTH aUth \xff\x1b[31m Login: user=<a;b=c> rip=1.2.3.4\npassword:\n\0\0auth\n",
    );
    let mut vector = Vec::new();
    anonymizer().chunk(&chunk, &mut vector);
    let mut bytewise = Vec::new();
    let mut a = anonymizer();
    a.map.fill_bytewise(&chunk);
    a.mapped_chunk(&chunk, false, &mut bytewise);
    assert_eq!(
        String::from_utf8_lossy(&vector),
        String::from_utf8_lossy(&bytewise)
    );
    assert_ne!(vector, chunk);
}

#[test]
fn an_address_text_is_found_only_as_it_was_remembered() {
    let mut texts = V4Texts::new();
    let found = |texts: &V4Texts, text: &[u8]| texts.get(text).map(|(b, n)| b[..n].to_vec());
    assert_eq!(found(&texts, b"192.0.2.1"), None);
    texts.put(b"192.0.2.1", b"10.9.8.7");
    assert_eq!(found(&texts, b"192.0.2.1"), Some(b"10.9.8.7".to_vec()));
    // The same words but one byte more (a NUL is a zero, as the padding is), or fewer.
    assert_eq!(found(&texts, b"192.0.2.1\0"), None);
    assert_eq!(found(&texts, b"192.0.2."), None);
    // Texts that no address is are never kept.
    texts.put(b"1.2.3", b"x");
    assert_eq!(found(&texts, b"1.2.3"), None);
    // A text whose slot another takes is forgotten.
    let rival = (0u32..)
        .map(|n| format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255))
        .find(|t| {
            V4Texts::place(t.as_bytes()).unwrap().1 == V4Texts::place(b"192.0.2.1").unwrap().1
        })
        .unwrap();
    texts.put(rival.as_bytes(), b"10.1.1.1");
    assert_eq!(found(&texts, b"192.0.2.1"), None);
    assert_eq!(found(&texts, rival.as_bytes()), Some(b"10.1.1.1".to_vec()));
}

#[test]
fn an_address_replaced_again_is_replaced_as_the_first_time() {
    // The first time read and mapped, then found by its text: the same replacement, in lines
    // with and without the detectors' spans.
    let mut a = anonymizer();
    let line = "Dec  2 22:24:22 hel postfix/postscreen[1190]: CONNECT from [203.0.113.77]:44927 to [198.51.100.25]:25";
    let auth = "Dec  2 22:24:23 hel postfix/smtpd[7676]: warning: unknown[203.0.113.77]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=alice";
    let first = rewrite(&mut a, line);
    assert_eq!(rewrite(&mut a, line), first);
    let fresh = rewrite(&mut anonymizer(), auth);
    assert_eq!(rewrite(&mut a, auth), fresh);
    assert!(!first.contains("203.0.113.77") && !fresh.contains("203.0.113.77"));
}

#[test]
fn a_dotted_quad_is_written_as_display_writes_it() {
    // Each octet value at each place, the others of each length.
    for place in 0..4 {
        for value in 0..=255u8 {
            for other in [0u8, 7, 42, 255] {
                let mut octets = [other; 4];
                octets[place] = value;
                let a = std::net::Ipv4Addr::from(octets);
                let (text, len) = dotted_quad(a);
                assert_eq!(&text[..usize::from(len)], a.to_string().as_bytes());
            }
        }
    }
}

#[test]
fn ids_that_only_a_programs_field_names_give_away_are_replaced_as_where_they_open_a_line() {
    let mut a = anonymizer();
    let opening_id = |out: &str| out.split("]: ").nth(1).unwrap()[..10].to_owned();
    let id = opening_id(&rewrite(
        &mut a,
        "Dec 30 00:14:23 mail postfix/qmgr[1187]: 74049EED5B: removed",
    ));
    let id2 = opening_id(&rewrite(
        &mut a,
        "Dec 30 00:14:23 mail postfix/qmgr[1187]: F52DD8465C: removed",
    ));
    let lines = [
        "Dec 30 00:14:23 mail amavis[8786]: (08786-86) Passed CLEAN {RelayedInbound}, [20.38.57.41]:17029 [20.38.57.41] <hello@school.example> -> <lea@example.net>, Queue-ID: 74049EED5B, Message-ID: <x.1@example.org>, mail_id: lugbnvzroj77, Hits: 1.755, size: 1757, queued_as: F52DD8465C, 1882 ms",
        "Dec 30 00:14:23 mail postfix/bounce[4242]: 74049EED5B: sender non-delivery notification: F52DD8465C",
        "Dec 30 00:14:23 mail postfix/local[4243]: 74049EED5B: to=<root@mail.example.net>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (forwarded as F52DD8465C)",
    ];
    let outs: Vec<String> = lines.iter().map(|l| rewrite(&mut a, l)).collect();
    for out in &outs {
        assert!(
            !out.contains("74049EED5B") && !out.contains("F52DD8465C"),
            "{out}"
        );
    }
    assert!(
        outs[0].contains(&format!(", Queue-ID: {id}, Message-ID: <"))
            && outs[0].ends_with(&format!(", queued_as: {id2}, 1882 ms")),
        "{}",
        outs[0]
    );
    assert!(
        outs[1].ends_with(&format!("]: {id}: sender non-delivery notification: {id2}")),
        "{}",
        outs[1]
    );
    assert!(
        outs[2].ends_with(&format!("(forwarded as {id2})")),
        "{}",
        outs[2]
    );

    // Dovecot's LMTP session, in its own line and in the reply Postfix logs.
    let dovecot = rewrite(
        &mut a,
        "Dec 30 00:14:23 mail dovecot: lmtp(lea@example.net)<61091><Y3RJhyRNCfj/ur99>: msgid=<x.1@example.org>: saved mail to INBOX",
    );
    let session = dovecot
        .split("><")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let postfix = rewrite(
        &mut a,
        "Dec 30 00:14:23 mail postfix/lmtp[56773]: F52DD8465C: to=<lea@example.net>, relay=mail.example.com[private/dovecot-lmtp], delay=0.34, delays=0.08/0.04/0.01/0.22, dsn=2.0.0, status=sent (250 2.0.0 <lea@example.net> Y3RJhyRNCfj/ur99 Saved)",
    );
    assert_ne!(session, "Y3RJhyRNCfj/ur99");
    assert!(
        postfix.ends_with(&format!("> {session} Saved)")),
        "{session}: {postfix}"
    );

    // The same texts in other programs' lines are plain words.
    let other = "Dec 30 00:14:23 mail postfix/smtpd[1]: warning: Queue-ID: 74049EED5B, notification: F52DD8465C (250 2.0.0 <x> Y3RJhyRNCfj Saved)";
    let out = rewrite(&mut a, other);
    assert!(
        out.ends_with("warning: Queue-ID: 74049EED5B, notification: F52DD8465C (250 2.0.0 <x> Y3RJhyRNCfj Saved)"),
        "{out}"
    );
}

#[test]
fn passwords_that_dovecot_logs_are_replaced() {
    // `auth_verbose_passwords = plain` or `sha1`: the password (or its SHA1) that ends the
    // message, whatever it holds; the same password the same pseudonym.
    let mut a = anonymizer();
    let password = |out: &str, field: &str| -> String {
        let value = out.split(field).nth(1).unwrap();
        value[..value.rfind(')').unwrap()].to_string()
    };
    let mut pseudonyms = Vec::new();
    for (line, secret, kept) in [
        (
            "Dec 30 00:00:41 mail dovecot: auth: passwd-file(alice,192.0.2.7,<Gwj7P58WHRZJea6Z>): Password mismatch (given password: hunter2 (x) 192.0.2.8)",
            "hunter2 (x) 192.0.2.8",
            "): Password mismatch (given password: ",
        ),
        (
            "Dec 30 00:00:42 mail dovecot: auth-worker(977): pam(bob,192.0.2.7,<Gwj7P58WHRZJea6Z>): pam_authenticate() failed: Authentication failure (password mismatch?) (given password: hunter2 (x) 192.0.2.8)",
            "hunter2 (x) 192.0.2.8",
            " (password mismatch?) (given password: ",
        ),
        // Dovecot's own log file: the process is the tag; another passdb follows.
        (
            "Dec 30 00:00:43 auth-worker(977): Info: sql(carol@example.org,192.0.2.7,<Gwj7P58WHRZJea6Z>): unknown user (given password: hunter2 (x) 192.0.2.8) - trying the next passdb",
            "hunter2 (x) 192.0.2.8",
            "): unknown user (given password: ",
        ),
        (
            "Dec 30 00:00:44 mail dovecot: auth: passwd-file(dave,192.0.2.7): unknown user (SHA1 of given password: f3bbbd66a63d4bf1747940578ec3d0103530e21d)",
            "f3bbbd66a63d4bf1747940578ec3d0103530e21d",
            "): unknown user (SHA1 of given password: ",
        ),
    ] {
        let out = rewrite(&mut a, line);
        assert!(!out.contains(secret) && !out.contains("hunter2"), "{out}");
        assert!(out.contains(kept), "{kept} not in {out}");
        let p = password(&out, "given password: ");
        assert!(!p.is_empty(), "{out}");
        pseudonyms.push(p);
        // What the detectors read of the line is what they read of the original.
        let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::NotAfter(0));
        let outcome = |l: &str, clock: &mut Clock| {
            let seen = detect::detect(&envelope::parse_line(l.as_bytes(), clock));
            format!("{seen:?}")
                .split(['(', ' '])
                .nth(1)
                .map(str::to_owned)
        };
        assert_eq!(
            outcome(&out, &mut clock),
            outcome(line, &mut clock),
            "{out}"
        );
    }
    assert!(pseudonyms[0] == pseudonyms[1] && pseudonyms[1] == pseudonyms[2]);
    assert_ne!(pseudonyms[0], pseudonyms[3]);
    // Other lines that end with a parenthesis keep it all.
    let line = "Dec 30 00:00:45 mail dovecot: imap(erin)<1><s>: Connection closed (IDLE running for 0.001 + waiting input for 29.001 secs, 2 B in + 10 B out, state=wait-input)";
    assert!(rewrite(&mut a, line).ends_with(" (IDLE running for 0.001 + waiting input for 29.001 secs, 2 B in + 10 B out, state=wait-input)"));
}

#[test]
fn passwords_and_hashes_of_dovecots_debug_lines_are_replaced() {
    // `auth_debug_passwords = yes`: `SCHEME(PASSWORD) != 'HASH'`, maybe `, try S scheme
    // instead` after it; the password as the same password elsewhere.
    let mut a = anonymizer();
    let given = rewrite(
        &mut a,
        "Dec 30 00:00:41 mail dovecot: auth: passwd-file(alice,192.0.2.7): Password mismatch (given password: hun) != 'ter2)",
    );
    let pseudonym = given
        .split("(given password: ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')');
    for (line, kept) in [
        (
            "Dec 30 00:00:41 mail dovecot: auth: Debug: passwd-file(alice,192.0.2.7,<Gwj7P58WHRZJea6Z>): SHA512-CRYPT(hun) != 'ter2) != '$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY47Wc6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21'",
            ["): SHA512-CRYPT(", ") != '", "'"],
        ),
        (
            "Dec 30 00:00:41 auth-worker(977): Debug: sql(alice,192.0.2.7): PLAIN(hun) != 'ter2) != '{PLAIN}s3cr3t', try CRYPT scheme instead",
            ["): PLAIN(", ") != '", "', try CRYPT scheme instead"],
        ),
    ] {
        let out = rewrite(&mut a, line);
        for secret in [
            "hun",
            "ter2",
            "usesomesillystri",
            "D4IrlXatmP7rx3P3",
            "s3cr3t",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        for text in kept {
            assert!(out.contains(text), "{text} not in {out}");
        }
        assert!(
            out.contains(&format!("({pseudonym}) != '")),
            "{pseudonym} not in {out}"
        );
    }
}

#[test]
fn quotes_around_a_mail_address_or_a_host_name_stay() {
    let mut a = anonymizer();
    let out = rewrite(
        &mut a,
        "Dec 30 00:00:41 mail dovecot: auth: Debug: sql(bob,192.0.2.7): query: SELECT password FROM users WHERE userid = 'bob@example.org' AND host = 'mx.example.org'.",
    );
    assert!(!out.contains("bob") && !out.contains("mx.example"), "{out}");
    let quoted: Vec<&str> = out.split('\'').collect();
    assert_eq!(quoted.len(), 5, "{out}");
    assert!(
        quoted[1].starts_with('u') && quoted[1].contains('@') && quoted[1].ends_with(".org"),
        "{out}"
    );
    assert!(
        quoted[3].starts_with('h') && quoted[3].ends_with(".org") && quoted[4] == ".",
        "{out}"
    );
}

#[test]
fn quoted_local_parts_are_replaced_and_keep_their_quotes() {
    let mut a = anonymizer();
    // Postfix logs a recipient with a quoted local part (RFC 5321) as it was given.
    let out = rewrite(
        &mut a,
        "Dec 30 00:00:42 mail postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 550 5.1.1 <\"bad user\"@example.org>: Recipient address rejected: User unknown in local recipient table; from=<\"john smith\"@attacker.example> to=<\"bad user\"@example.org> proto=ESMTP helo=<x>",
    );
    for name in ["bad", "user\"", "john", "smith", "example.org", "attacker"] {
        assert!(!out.contains(name), "{name} left in {out}");
    }
    // Each address keeps its shape: `<"u…"@h….tld>`, the same local part alike.
    let addresses: Vec<&str> = out
        .split('<')
        .skip(1)
        .filter_map(|s| s.split('>').next())
        .filter(|s| s.contains('@'))
        .collect();
    assert_eq!(addresses.len(), 3, "{out}");
    for address in &addresses {
        let (local, domain) = address.rsplit_once('@').expect("an @");
        assert!(
            local.len() == 13 && local.starts_with("\"u") && local.ends_with('"'),
            "{out}"
        );
        assert!(domain.starts_with('h') && !domain.contains('"'), "{out}");
    }
    assert_eq!(addresses[0], addresses[2], "{out}");
    assert_ne!(addresses[0], addresses[1], "{out}");
    // The local part inside quotes is replaced as the same name unquoted.
    let plain = rewrite(
        &mut a,
        "Dec 30 00:00:43 mail dovecot: imap-login: Login: user=<bad user@example.org>, method=PLAIN, rip=192.0.2.9, lip=192.0.2.1, session=<abc>",
    );
    let local = addresses[0].split('"').nth(1).expect("quoted");
    assert!(
        plain.contains(&format!("user=<{local}@")),
        "{plain} / {out}"
    );
    // A quoted word that is no local part stays.
    let kept = rewrite(
        &mut a,
        "Dec 30 00:00:44 mail x: <\"quoted\"> <> <\"\"@> <\"",
    );
    assert!(kept.ends_with(" x: <\"quoted\"> <> <\"\"@> <\""), "{kept}");
}

#[test]
fn an_empty_local_part_or_domain_keeps_its_at_sign() {
    let mut a = anonymizer();
    let out = rewrite(
        &mut a,
        "Dec 30 00:00:45 mail postfix/smtpd[9]: warning: Illegal address syntax from unknown[192.0.2.9] in RCPT command: <@example.org> <alice@>",
    );
    assert!(!out.contains("example") && !out.contains("alice"), "{out}");
    assert!(out.contains("<@h") && out.contains("@>"), "{out}");
    // A local part that separators cut into words is replaced whole.
    let out = rewrite(
        &mut a,
        "Dec 30 00:00:46 mail postfix/cleanup[9]: NOQUEUE: discard: MAIL from x[192.0.2.9]: <bsdbd==_4343_sdfbd==@example.com>: Sender address SPAM",
    );
    assert!(!out.contains("bsdbd") && !out.contains("4343"), "{out}");
    assert!(out.contains(": <u") && out.contains("@h"), "{out}");
}

#[test]
fn stored_credentials_of_dovecots_debug_lines_are_replaced() {
    let mut a = anonymizer();
    for line in [
        "Dec 30 00:00:46 mail dovecot: auth: Debug: passwd-file(alice,192.0.2.1,<Zx1>): Credentials: 7b2f3c4d5e6f",
        "Dec 30 00:00:47 mail dovecot: auth: Error: passwd-file(alice,192.0.2.1,<Zx1>): Invalid password '$6$salt$SECRETHASH' in passdb: Invalid input",
        "Dec 30 00:00:48 mail auth: Error: sql(alice,192.0.2.1): Invalid password '{CRYPT}SECRETHASH' in passdb: Unknown scheme",
    ] {
        let out = rewrite(&mut a, line);
        assert!(
            !out.contains("7b2f3c4d5e6f") && !out.contains("SECRETHASH") && !out.contains("alice"),
            "{out}"
        );
        let (field, after) = if line.contains("Credentials") {
            (": Credentials: p", "")
        } else {
            ("Invalid password 'p", "' in passdb: ")
        };
        assert!(out.contains(field) && out.contains(after), "{out}");
    }
    // A user's name that holds the field's text does not hide the field.
    let out = rewrite(
        &mut a,
        "Dec 30 00:00:49 mail dovecot: auth-worker(7): Debug: sql(bob: Credentials: x,192.0.2.1): Credentials: c0ffee00",
    );
    assert!(!out.contains("c0ffee00"), "{out}");
}

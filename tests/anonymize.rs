//! `anonymize` end to end on a generated, rotated and gzipped log set: `parse` of the output
//! counts what it counts in the input and what truth.json says, by service, protocol and
//! outcome; no address, user or host name of the input is left; files anonymised one by one
//! give what the set gives at once (one key, one mapping); prefixes survive. The same, leaks
//! and counts, over the shared corpus of real lines.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::truth;

fn mls(args: &[&str], files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(args)
        .args(files)
        .output()
        .unwrap()
}

/// `parse --format jsonl` of `files` as one stream: its events.
fn events(files: &[PathBuf]) -> Vec<Value> {
    let o = mls(&["parse", "-q", "--format", "jsonl"], files);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// Attempts by (service, protocol, outcome).
fn counts(events: &[Value]) -> HashMap<(String, String, String), u64> {
    let mut c = HashMap::new();
    for e in events {
        let key = ["service", "protocol", "outcome"].map(|k| e[k].as_str().unwrap().to_owned());
        *c.entry(key.into()).or_default() += e["attempts"].as_u64().unwrap();
    }
    c
}

fn anonymize(key: &Path, files: &[PathBuf], out: &Path) {
    let mut args = vec![
        "anonymize",
        "--key-file",
        key.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.push("--");
    let o = mls(&args, files);
    assert!(
        o.status.success(),
        "anonymize: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Words of `text` made of the bytes of addresses (digits, hex, `.`, `:`).
fn address_words(text: &str) -> HashSet<&str> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .map(|w| w.trim_matches(|c| c == '.' || c == ':'))
        .filter(|w| w.len() >= 3)
        .collect()
}

#[test]
fn anonymised_logs_count_as_the_originals_and_leak_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let gen_dir = tmp.path().join("gen");
    let Some(truth) = truth::generate(
        &gen_dir,
        &[
            "--size",
            "6M",
            "--rotate",
            "2",
            "--ipv6-share",
            "0.3",
            "--hostname",
            "mx7.secret-corp.example",
        ],
    ) else {
        return;
    };
    let files = truth::log_files(&gen_dir);
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with(".gz")),
        "{files:?}"
    );
    let key = tmp.path().join("anon.key");
    fs::write(&key, b"0123456789abcdef0123456789abcdef").unwrap();

    // The set at once, and each file alone: the same bytes (one key, one mapping).
    let all = tmp.path().join("all.log");
    anonymize(&key, &files, &all);
    let mut one_by_one = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let out = tmp.path().join(format!("part{i}.log"));
        anonymize(&key, std::slice::from_ref(f), &out);
        one_by_one.extend(fs::read(&out).unwrap());
    }
    let anonymised = fs::read(&all).unwrap();
    assert!(
        anonymised == one_by_one,
        "files anonymised apart differ from the set"
    );

    // Counted the same, and as the truth says.
    let before = events(&files);
    let after = events(std::slice::from_ref(&all));
    assert_eq!(counts(&before), counts(&after));
    let mut by_service: HashMap<(&str, &str), u64> = HashMap::new();
    for e in &after {
        let outcome = e["outcome"].as_str().unwrap();
        *by_service
            .entry((truth::service_key(e), outcome))
            .or_default() += e["attempts"].as_u64().unwrap();
    }
    for (service, t) in truth["attempts"]["by_service"].as_object().unwrap() {
        for (outcome, field) in [
            ("failure", "failure_visible"),
            ("success", "success_visible"),
        ] {
            let got = by_service
                .get(&(service.as_str(), outcome))
                .copied()
                .unwrap_or(0);
            assert_eq!(got, t[field].as_u64().unwrap(), "{service} {outcome}");
        }
    }

    // Nothing of the input left: addresses (the events' and every address-shaped word),
    // users, mail addresses, host names.
    let text = String::from_utf8(anonymised).unwrap();
    let mut original = String::new();
    for f in &files {
        if f.to_string_lossy().ends_with(".gz") {
            let mut d = flate2::read::MultiGzDecoder::new(fs::File::open(f).unwrap());
            std::io::Read::read_to_string(&mut d, &mut original).unwrap();
        } else {
            original.push_str(&fs::read_to_string(f).unwrap());
        }
    }
    let input_ips: HashSet<String> = before
        .iter()
        .map(|e| e["ip"].as_str().unwrap().to_owned())
        .collect();
    let output_ips: HashSet<String> = after
        .iter()
        .map(|e| e["ip"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        input_ips.len(),
        output_ips.len(),
        "one address, one replacement"
    );
    assert!(input_ips.is_disjoint(&output_ips));
    let input_words: HashSet<&str> = address_words(&original)
        .into_iter()
        .filter(|w| w.parse::<std::net::IpAddr>().is_ok())
        .collect();
    assert!(input_words.len() >= input_ips.len());
    let leaked: Vec<&str> = address_words(&text)
        .into_iter()
        .filter(|w| input_words.contains(w))
        .collect();
    assert!(
        leaked.is_empty(),
        "addresses left: {:?}",
        &leaked[..leaked.len().min(5)]
    );
    let users = |evs: &[Value]| -> HashSet<String> {
        evs.iter()
            .filter_map(|e| e["user"].as_str().map(str::to_owned))
            .collect()
    };
    let (input_users, output_users) = (users(&before), users(&after));
    assert_eq!(
        input_users.len(),
        output_users.len(),
        "one user, one replacement"
    );
    assert!(input_users.is_disjoint(&output_users));
    let long: Vec<&String> = input_users
        .iter()
        .filter(|u| u.contains('@') || u.len() >= 8)
        .collect();
    let left = aho_corasick::AhoCorasick::new(&long).unwrap().find(&text);
    assert!(
        left.is_none(),
        "user {} left",
        long[left.unwrap().pattern().as_usize()]
    );
    assert!(
        !text.contains("secret-corp") && !text.contains("mx7."),
        "the log host left"
    );
    let hosts: HashSet<&str> = original
        .split([' ', '='])
        .filter_map(|w| w.split_once('[').map(|(h, _)| h))
        .filter(|h| h.contains('.') && !h.is_empty())
        .collect();
    assert!(!hosts.is_empty());
    for h in hosts {
        assert!(!text.contains(&format!("{h}[")), "host {h} left");
    }
    // Nor a queue id (those opening Postfix's lines) or a Dovecot session id (`<pid><ID>`),
    // wherever else they are written (amavis, bounces, LMTP replies).
    let mut ids: HashSet<&str> = HashSet::new();
    for line in original.lines() {
        if let Some(id) = line.split("]: ").nth(1).and_then(|m| m.split(": ").next())
            && id.len() == 10
            && id
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
        {
            ids.insert(id);
        }
        ids.extend(
            line.split("><")
                .skip(1)
                .filter_map(|w| w.split_once('>').map(|(id, _)| id))
                .filter(|id| id.len() >= 12),
        );
    }
    assert!(ids.len() > 100, "{}", ids.len());
    let ids: Vec<&str> = ids.into_iter().collect();
    let left = aho_corasick::AhoCorasick::new(&ids).unwrap().find(&text);
    assert!(
        left.is_none(),
        "id {} left",
        ids[left.unwrap().pattern().as_usize()]
    );
    // Every line is still there, in order, with its time and program.
    assert_eq!(text.lines().count(), original.lines().count());
    for (a, b) in text.lines().zip(original.lines()).step_by(997) {
        assert_eq!(a[..15], b[..15], "{a}\n{b}");
    }
}

#[test]
fn keys_inputs_and_outputs_that_fail_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("mail.log");
    fs::write(
        &log,
        "Dec 30 00:33:57 mail dovecot: auth: passwd-file(louis,211.129.117.2): unknown user\n",
    )
    .unwrap();
    let key = tmp.path().join("k");
    let run = |key: &Path, files: &[PathBuf]| {
        mls(&["anonymize", "--key-file", key.to_str().unwrap()], files)
    };
    let o = run(&key, std::slice::from_ref(&log));
    assert_eq!(o.status.code(), Some(66), "no key file");
    fs::write(&key, "short").unwrap();
    let o = run(&key, std::slice::from_ref(&log));
    assert_eq!(o.status.code(), Some(64), "a short key");
    assert!(String::from_utf8_lossy(&o.stderr).contains("/dev/urandom"));
    fs::write(&key, [7u8; 32]).unwrap();
    let o = mls(
        &[
            "anonymize",
            "--key-file",
            key.to_str().unwrap(),
            "--output",
            log.to_str().unwrap(),
        ],
        std::slice::from_ref(&log),
    );
    assert_eq!(o.status.code(), Some(64), "the output is the input");
    assert!(
        fs::read_to_string(&log).unwrap().contains("louis"),
        "the input is kept"
    );
    // A full disk: said, with status 73.
    let o = mls(
        &[
            "anonymize",
            "--key-file",
            key.to_str().unwrap(),
            "--output",
            "/dev/full",
        ],
        std::slice::from_ref(&log),
    );
    assert_eq!(o.status.code(), Some(73), "a full disk");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("No space left on device"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&key, &[tmp.path().join("missing.log"), log.clone()]);
    assert_eq!(o.status.code(), Some(66), "a missing input");
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains(": unknown user") && !text.contains("louis") && !text.contains("211.129"),
        "{text}"
    );
}

#[test]
fn lines_longer_than_parse_reads_are_left_out_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("mail.log");
    let ok = "Dec 30 00:33:57 mail dovecot: auth: passwd-file(louis,211.129.117.2): unknown user\n";
    let mut text = String::from(ok);
    // An authentication line of 100 KiB (parse skips it), one of 2 MiB (more than a chunk),
    // one of exactly 64 KiB (kept), each between lines that are kept.
    for filler in [100 << 10, 2 << 20] {
        text.push_str("Dec 30 00:33:58 mail postfix/smtpd[1]: warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: ");
        text.push_str(&"x".repeat(filler));
        text.push('\n');
        text.push_str(ok);
    }
    let head = "Dec 30 00:33:59 mail postfix/smtpd[1]: warning: ";
    text.push_str(head);
    text.push_str(&"y".repeat((64 << 10) - head.len()));
    text.push('\n');
    fs::write(&log, &text).unwrap();
    let key = tmp.path().join("k");
    fs::write(&key, [7u8; 32]).unwrap();
    let o = mls(
        &["anonymize", "--key-file", key.to_str().unwrap()],
        std::slice::from_ref(&log),
    );
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("2 lines longer than 64 KiB left out"),
        "{stderr}"
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{}", &out[..out.len().min(300)]);
    assert!(lines[..3].iter().all(|l| l.ends_with(": unknown user")));
    assert!(lines[3].ends_with(&"y".repeat(100)));
    let anonymised = tmp.path().join("anon.log");
    fs::write(&anonymised, &out).unwrap();
    assert_eq!(
        counts(&events(std::slice::from_ref(&log))),
        counts(&events(std::slice::from_ref(&anonymised)))
    );
}

/// The shared corpus of real lines (see `conformance`), anonymised as one log: no address of an
/// input line is left in its output line, no user of a line the tool counts, and `parse` counts
/// the output as the input.
#[test]
fn real_lines_anonymised_leak_no_address_and_count_as_before() {
    let corpus = Path::new(crate::conformance::CORPUS);
    if !corpus.exists() {
        eprintln!("SKIPPED: shared corpus not found at {}", corpus.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let labelled: Vec<Value> = fs::read_to_string(corpus)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let input = tmp.path().join("real.log");
    let text: String = labelled
        .iter()
        .map(|l| format!("{}\n", l["line"].as_str().unwrap()))
        .collect();
    fs::write(&input, &text).unwrap();
    let key = tmp.path().join("anon.key");
    fs::write(&key, b"0123456789abcdef0123456789abcdef").unwrap();
    let output = tmp.path().join("real.anon.log");
    anonymize(&key, std::slice::from_ref(&input), &output);
    let anonymised = fs::read_to_string(&output).unwrap();
    assert_eq!(anonymised.lines().count(), labelled.len());
    let mut leaks = Vec::new();
    for (l, out) in labelled.iter().zip(anonymised.lines()) {
        let line = l["line"].as_str().unwrap();
        let left = address_words(out);
        for word in address_words(line) {
            if word.parse::<std::net::IpAddr>().is_ok() && left.contains(word) {
                leaks.push(format!("{word} in {out}"));
            }
        }
        // The lines the tool counts, as `conformance` checks them.
        let counted = matches!(l["service"].as_str(), Some("postfix" | "dovecot"))
            && matches!(l["label"].as_str(), Some("auth_failure" | "auth_success"));
        if let Some(user) = l["user"].as_str().filter(|u| counted && u.len() >= 3)
            && out.contains(user)
        {
            leaks.push(format!("{user} in {out}"));
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    assert_eq!(
        counts(&events(&[output])),
        counts(&events(&[input])),
        "parse counts the anonymised lines otherwise"
    );
}

//! The real-time side end to end, with real parts: follow mode reads lines stamped now, an
//! HTTP server on loopback receives the webhooks, a command gets the JSON, the nftables file
//! is checked by `nft -c -f`, the Postfix table by `postmap -q`, the metrics by `promtool
//! check metrics` and against the store; alerts wait in the store while the webhook is down.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{require, run_ok, setup, spawn_follow};

/// A request received: its body and header lines.
type Request = (String, Vec<String>);

/// An HTTP server on loopback that answers 200 to everything and keeps the requests.
struct Hook {
    port: u16,
    bodies: Arc<Mutex<Vec<Request>>>,
}

impl Hook {
    fn start() -> Hook {
        Hook::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn on(listener: TcpListener) -> Hook {
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(request) = read_request(stream) {
                    kept.lock().unwrap().push(request);
                }
            }
        });
        Hook { port, bodies }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The JSON bodies received so far.
    fn alerts(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|(b, _)| serde_json::from_str(b).unwrap())
            .collect()
    }

    fn wait_for(&self, n: usize, what: &str) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let got = self.alerts();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{what}: {} of {n} webhooks in 30 s: {got:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Reads one request (headers and a Content-Length body), answers 200; (body, headers).
fn read_request(stream: TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        headers.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some((String::from_utf8(body).ok()?, headers))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A line stamped now (RFC 3339, as rsyslog writes them), `ago` seconds back.
fn stamp(ago: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(ago);
    t.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

fn failure(ago: i64, ip: &str, user: &str, pid: u32) -> String {
    format!(
        "{} mx1 postfix/smtpd[{pid}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}\n",
        stamp(ago)
    )
}

fn login(ago: i64, ip: &str, user: &str, session: &str) -> String {
    format!(
        "{} mx1 dovecot: imap-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, mpid=7, TLS, session=<{session}>\n",
        stamp(ago)
    )
}

fn append(log: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn add_config(config: &Path, text: &str) {
    append(config, text);
}

fn stop(mut child: Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "follow stopped with {status}");
}

/// `nft -c -f` in a network namespace of its own (the host's ruleset is never touched);
/// `None` when the kernel refuses namespaces or nftables here.
fn nft_check(file: &Path) -> Option<std::process::Output> {
    for args in [&["-rn", "nft"][..], &["-n", "nft"][..]] {
        let out = Command::new("unshare")
            .args(args)
            .args(["-c", "-f"])
            .arg(file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let refused = [
            "Operation not permitted",
            "Permission denied",
            "not supported",
            "unshare failed",
        ]
        .iter()
        .any(|r| err.contains(r));
        if !refused {
            return Some(out);
        }
    }
    None
}

fn metrics(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of one sample line of `text` (`name{labels}` as written).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn store_attempts(work: &Path) -> u64 {
    let db = rusqlite::Connection::open(work.join("maillogsentinel.db")).unwrap();
    db.query_row("SELECT sum(attempts) FROM events", [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

fn detections(work: &Path) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(work.join("maillogsentinel.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT kind, source FROM detections ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn blocklist(config: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(config)
        .args(["blocklist", "--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn follow_alerts_blocklists_and_counts_as_lines_are_written() {
    let s = setup();
    let hook = Hook::start();
    let metrics_port = free_port();
    let nft_path = s.work.join("blocklist.nft");
    let command_out = s.logs.join("command.jsonl");
    let textfile = s.logs.join("mls.prom");
    add_config(
        &s.config,
        &format!(
            "\n[policy]\nallow = 198.51.100.0/24\n\n[alerts]\nwebhook_url = {}\ncommand = cat >> '{}'\n\n\
             [blocklist]\npath = {}\nformat = nftables\nreload_command = touch '{}'\n\n\
             [metrics]\nlisten = 127.0.0.1:{metrics_port}\ntextfile = {}\n",
            hook.url(),
            command_out.display(),
            nft_path.display(),
            s.logs.join("reloaded").display(),
            textfile.display()
        ),
    );
    let log = s.logs.join("mail.log");
    // A customer behind a NAT logged in this morning (before any failure: no compromise).
    append(&log, &login(3000, "192.0.2.77", "carol", "n1"));
    let stderr = s.logs.join("follow.stderr");
    let follow = spawn_follow(&s.config, &stderr);
    std::thread::sleep(Duration::from_millis(500));

    // 12 failures from one address, then its login: brute force, then a takeover.
    let mut lines = String::new();
    for i in 0..12 {
        lines += &failure(60 - i, "203.0.113.5", "alice", 100 + i as u32);
    }
    append(&log, &lines);
    let got = hook.wait_for(1, "brute force");
    assert_eq!(got[0]["kind"], "bruteforce");
    assert_eq!(got[0]["ip"], "203.0.113.5");
    assert_eq!(got[0]["count"], 10);
    append(&log, &login(0, "203.0.113.5", "alice", "c1"));
    let got = hook.wait_for(2, "compromise");
    let c = &got[1];
    assert_eq!(c["kind"], "compromise", "{got:?}");
    for key in [
        "time",
        "server",
        "ip",
        "network",
        "user",
        "count",
        "first_seen",
        "evidence",
        "country_code",
        "asn",
        "aso",
        "hostname",
        "service",
        "protocol",
    ] {
        assert!(c.get(key).is_some(), "{key} missing in {c}");
    }
    assert_eq!(c["user"], "alice");
    assert_eq!(c["network"], "203.0.113.0/24");
    assert_eq!(c["count"], 12);
    assert_eq!(c["evidence"]["by"], "ip");
    assert_eq!(c["server"], "mx1");

    // The NAT customer's address fails 10 times (brute force, not listed: it logs in), the
    // allowed network fails 10 times (not listed), and a user is sprayed from 5 addresses.
    let mut lines = String::new();
    for i in 0..10 {
        lines += &failure(10, "192.0.2.77", "carol", 200 + i);
        lines += &failure(10, "198.51.100.9", "root", 300 + i);
    }
    for i in 1..=5 {
        lines += &failure(5, &format!("233.252.0.{i}"), "info\u{1b}[31m", 400 + i);
    }
    append(&log, &lines);
    let got = hook.wait_for(5, "the other detections");
    let mut kinds: Vec<(String, String)> = got
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().into(),
                a["ip"].as_str().unwrap().into(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("bruteforce".into(), "192.0.2.77".into()),
            ("bruteforce".into(), "198.51.100.9".into()),
            ("bruteforce".into(), "203.0.113.5".into()),
            ("compromise".into(), "203.0.113.5".into()),
            ("spraying".into(), "233.252.0.5".into()),
        ]
    );
    let spraying = got.iter().find(|a| a["kind"] == "spraying").unwrap();
    assert_eq!(
        spraying["user"], "info\\x1b[31m",
        "control characters neutralised"
    );
    // The command got the same alerts, one JSON a line.
    let wait = Instant::now();
    while std::fs::read_to_string(&command_out).map_or(0, |t| t.lines().count()) < 5 {
        assert!(
            wait.elapsed() < Duration::from_secs(30),
            "the command got fewer than 5 alerts"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let by_command: Vec<Value> = std::fs::read_to_string(&command_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(by_command.len(), 5);
    assert!(by_command.iter().all(|a| got.contains(a)));

    // The blocklist: the attacker only (the allowed network and the NAT address are not).
    let wait = Instant::now();
    loop {
        let text = std::fs::read_to_string(&nft_path).unwrap_or_default();
        if text.contains("203.0.113.5 timeout") {
            assert!(!text.contains("198.51.100"), "{text}");
            assert!(!text.contains("192.0.2.77"), "{text}");
            break;
        }
        assert!(
            wait.elapsed() < Duration::from_secs(10),
            "blocklist: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(s.logs.join("reloaded").exists(), "the reload command ran");
    match nft_check(&nft_path) {
        Some(out) => assert!(
            out.status.success(),
            "nft -c -f: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        None => eprintln!("SKIPPED: nft -c: the kernel refuses nftables in a namespace here"),
    }
    let printed = blocklist(&s.config, "plain");
    assert!(printed.ends_with("\n203.0.113.5\n"), "{printed}");
    if require("postmap", "postfix") {
        let table = s.logs.join("blocklist.cidr");
        std::fs::write(&table, blocklist(&s.config, "postfix")).unwrap();
        let query = |ip: &str| {
            Command::new("postmap")
                .args(["-q", ip])
                .arg(format!("cidr:{}", table.display()))
                .output()
                .unwrap()
        };
        let hit = query("203.0.113.5");
        assert!(hit.status.success());
        assert!(String::from_utf8_lossy(&hit.stdout).starts_with("REJECT 554 5.7.1 "));
        for ip in ["203.0.113.6", "198.51.100.9", "192.0.2.77"] {
            assert_eq!(query(ip).status.code(), Some(1), "{ip} is not listed");
        }
    }

    // ipinfo tells the address's detections and that it is on the blocklist; the NAT
    // customer's address was detected but is not listed.
    let ipinfo = |ip: &str| -> Value {
        let o = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
            .args(["--allow-root", "--config"])
            .arg(&s.config)
            .args(["ipinfo", "--json", "--no-dns", ip])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let attacker = ipinfo("203.0.113.5");
    let kinds: Vec<&str> = attacker["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["bruteforce", "compromise"], "{attacker}");
    assert!(attacker["blocklisted_until"].is_string(), "{attacker}");
    let customer = ipinfo("192.0.2.77");
    assert_eq!(customer["detections"][0]["kind"], "bruteforce");
    assert!(customer["blocklisted_until"].is_null(), "{customer}");

    // Metrics: valid for promtool, attempts as in the store.
    let text = metrics(metrics_port);
    let stored = store_attempts(&s.work);
    let counted: f64 = text
        .lines()
        .filter(|l| l.starts_with("maillogsentinel_attempts_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(counted as u64, stored, "{text}");
    assert_eq!(
        sample(
            &text,
            "maillogsentinel_alerts_sent_total{channel=\"webhook\"}"
        ),
        Some(5.0)
    );
    assert_eq!(
        sample(&text, "maillogsentinel_blocklist_entries"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "maillogsentinel_detections_total{kind=\"bruteforce\"}"
        ),
        Some(3.0)
    );
    assert!(
        !text.contains("203.0.113") && !text.contains("alice"),
        "no address or user labels"
    );
    if require("promtool", "prometheus") {
        let mut p = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A restart keeps the hold-offs: more failures of the attacker alert nothing new, and
    // the textfile was written when follow stopped.
    stop(follow);
    let lines_total = sample(
        &std::fs::read_to_string(&textfile).unwrap(),
        "maillogsentinel_lines_read_total",
    );
    assert_eq!(lines_total, Some(39.0), "every line written was read once");
    let follow = spawn_follow(&s.config, &stderr);
    let before = store_attempts(&s.work);
    append(&log, &failure(0, "203.0.113.5", "alice", 999));
    let wait = Instant::now();
    while store_attempts(&s.work) == before {
        assert!(
            wait.elapsed() < Duration::from_secs(30),
            "the restarted follow read nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A look of follow stores, then detects, before it sees the stop.
    stop(follow);
    assert_eq!(hook.alerts().len(), 5, "{:?}", hook.alerts());
    assert_eq!(detections(&s.work).len(), 5);
}

#[test]
fn alerts_wait_in_the_store_while_the_webhook_is_down() {
    let s = setup();
    // A port nobody listens on yet.
    let port = free_port();
    add_config(
        &s.config,
        &format!("\n[alerts]\nwebhook_url = http://127.0.0.1:{port}/hook\n"),
    );
    let log = s.logs.join("mail.log");
    let mut lines = String::new();
    for i in 0..10 {
        lines += &failure(30, "203.0.113.9", "admin", 100 + i);
    }
    append(&log, &lines);
    // The default run (timer mode) detects, fails to deliver, keeps the alert queued.
    run_ok(&s.config);
    let queued = |work: &PathBuf| -> i64 {
        rusqlite::Connection::open(work.join("maillogsentinel.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM alert_queue", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(queued(&s.work), 1);
    let hook = Hook::on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    // Retried 5 s after the failure: a run before that sends nothing, one after sends it.
    run_ok(&s.config);
    assert_eq!(hook.alerts().len(), 0);
    std::thread::sleep(Duration::from_secs(5));
    run_ok(&s.config);
    let got = hook.alerts();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["kind"], "bruteforce");
    assert_eq!(queued(&s.work), 0);
    run_ok(&s.config);
    assert_eq!(hook.alerts().len(), 1, "sent once");
    assert_eq!(
        detections(&s.work),
        [("bruteforce".into(), "203.0.113.9".into())]
    );
}

#[test]
fn ntfy_and_slack_webhooks_get_their_own_shapes() {
    for format in ["ntfy", "slack"] {
        let s = setup();
        let hook = Hook::start();
        add_config(
            &s.config,
            &format!(
                "\n[alerts]\nwebhook_url = {}\nwebhook_format = {format}\n",
                hook.url()
            ),
        );
        let log = s.logs.join("mail.log");
        append(&log, &failure(20, "203.0.113.7", "bob", 1));
        append(&log, &login(10, "203.0.113.7", "bob\u{7}", "s1"));
        run_ok(&s.config);
        let requests = hook.bodies.lock().unwrap().clone();
        assert_eq!(requests.len(), 1, "{format}: {requests:?}");
        let (body, headers) = &requests[0];
        assert!(
            !body.chars().any(|c| c.is_control() && c != '\n'),
            "{body:?}"
        );
        match format {
            "ntfy" => {
                assert!(
                    body.starts_with("bob\\x07 logged in (dovecot imap) from 203.0.113.7"),
                    "{body}"
                );
                assert!(
                    headers
                        .iter()
                        .any(|h| h == "title: POSSIBLE COMPROMISE on mx1"
                            || h == "Title: POSSIBLE COMPROMISE on mx1"),
                    "{headers:?}"
                );
                assert!(
                    headers
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case("priority: urgent")),
                    "{headers:?}"
                );
            }
            _ => {
                let v: Value = serde_json::from_str(body).unwrap();
                let text = v["text"].as_str().unwrap();
                assert!(
                    text.starts_with("*POSSIBLE COMPROMISE on mx1*: bob\\x07 logged in"),
                    "{text}"
                );
            }
        }
    }
}

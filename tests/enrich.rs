//! Enrichment with real parts: a dnsmasq on loopback serving PTR records (plain, IPv6,
//! hostile names, a name that does not resolve back), NXDOMAIN, and a forwarder that never
//! answers (timeouts); geo databases as CSV and mmdb files; `update-geo` against a local HTTP
//! server. dnsmasq comes from Debian's dnsmasq-base (scripts/test installs it); without it the
//! DNS tests say SKIPPED, and fail when MLS_REQUIRE_SERVERS=1 (as scripts/test sets).

use crate::support;

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::setup;

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// A dnsmasq on a free loopback port, logging its queries; killed on drop.
struct Dnsmasq {
    child: Child,
    port: u16,
    log: PathBuf,
    /// Receives what dnsmasq forwards for the "timeout" zone, never answers.
    _black_hole: UdpSocket,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Dnsmasq {
    /// Starts dnsmasq, or returns `None` after saying SKIPPED (panics instead when servers are
    /// required).
    fn start(dir: &Path, test: &str) -> Option<Dnsmasq> {
        if !Path::new(DNSMASQ).exists() {
            let why = format!("{DNSMASQ} not found (Debian package dnsmasq-base)");
            if std::env::var_os("MLS_REQUIRE_SERVERS").is_some() {
                panic!("{test}: {why}, and MLS_REQUIRE_SERVERS is set");
            }
            eprintln!("SKIPPED {test}: {why}");
            return None;
        }
        let black_hole = UdpSocket::bind("127.0.0.1:0").unwrap();
        let hole = black_hole.local_addr().unwrap().port();
        let log = dir.join("dnsmasq.log");
        let conf = dir.join("dnsmasq.conf");
        let user = if is_root() { "user=root\n" } else { "" };
        // A free port can be taken by another test between its choice and dnsmasq's bind:
        // dnsmasq then exits at once ("Address already in use"), and another port is tried.
        for _ in 0..5 {
            let port = free_udp_port();
            let _ = fs::remove_file(&log);
            fs::write(
                &conf,
                format!(
                    "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
                     log-queries\nlog-facility={log}\npid-file=\n{user}\
                     host-record=mail.example.net,192.0.2.7\n\
                     host-record=v6.example.net,2001:db8::7\n\
                     ptr-record=8.2.0.192.in-addr.arpa,\"=cmd;evil\\\"name.example\"\n\
                     ptr-record=12.2.0.192.in-addr.arpa,\"esc\\033[31m.example\"\n\
                     ptr-record=10.2.0.192.in-addr.arpa,liar.example.net\n\
                     address=/liar.example.net/192.0.2.250\n\
                     local=/in-addr.arpa/\nlocal=/ip6.arpa/\n\
                     server=/9.2.0.192.in-addr.arpa/127.0.0.1#{hole}\n",
                    log = log.display()
                ),
            )
            .unwrap();
            let child = Command::new(DNSMASQ)
                .arg("-k")
                .arg("-C")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let mut d = Dnsmasq {
                child,
                port,
                log: log.clone(),
                _black_hole: black_hole.try_clone().unwrap(),
            };
            // Ready once it logs its start; gone if it could not bind.
            let start = Instant::now();
            loop {
                if fs::read_to_string(&d.log).is_ok_and(|l| l.contains("started")) {
                    return Some(d);
                }
                if d.child.try_wait().unwrap().is_some() {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "dnsmasq did not start"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("dnsmasq exited at start 5 times (see its messages above)");
    }

    /// PTR queries it received so far.
    fn ptr_queries(&self) -> usize {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches("query[PTR]")
            .count()
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    nix::unistd::geteuid().is_root()
}

/// A failed SMTP AUTH line from `ip` for `user`.
fn failure(ip: &str, user: &str, second: u32) -> String {
    format!(
        "Nov 23 07:{:02}:{:02} mx1 postfix/smtpd[9]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}\n",
        second / 60,
        second % 60
    )
}

const IPS: [&str; 8] = [
    "192.0.2.7",   // PTR mail.example.net, confirmed
    "192.0.2.8",   // hostile PTR name
    "192.0.2.12",  // PTR name with an escape character
    "192.0.2.10",  // PTR liar.example.net, which resolves elsewhere
    "192.0.2.9",   // forwarded to a server that never answers
    "192.0.2.13",  // NXDOMAIN
    "2001:db8::7", // IPv6 PTR
    "2001:db8::1", // IPv6 NXDOMAIN
];

fn write_log(path: &Path, from_second: u32) {
    let mut text = String::new();
    for (i, ip) in IPS.iter().enumerate() {
        for k in 0..3 {
            text.push_str(&failure(
                ip,
                &format!("u{i}"),
                from_second + (i * 3 + k) as u32,
            ));
        }
    }
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn mls(config: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
        .args(["--allow-root", "--config"])
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// CSV rows by IP: (hostname, reverse_dns_status, country_code, asn, aso) cells.
fn csv_rows(work: &Path) -> HashMap<String, Vec<Vec<String>>> {
    let text = fs::read_to_string(work.join("maillogsentinel.csv")).unwrap();
    let mut out: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    for line in text.lines().skip(1) {
        let cells: Vec<String> = split_csv(line);
        assert_eq!(cells.len(), 9, "{line}");
        out.entry(cells[2].clone())
            .or_default()
            .push(cells[4..].to_vec());
    }
    out
}

/// `;`-separated cells, `"` quoting with `""` inside.
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ';' if !quoted => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

fn dns_config(s: &support::Setup, port: u16, extra: &str) {
    // The [dns] section is the config's last: replaced whole.
    let text = fs::read_to_string(&s.config).unwrap();
    let text = text.split("\n[dns]\n").next().unwrap();
    fs::write(
        &s.config,
        format!(
            "{text}\n[dns]\nnameservers = 127.0.0.1:{port}\ntimeout_ms = 400\nforward_confirm = yes\n{extra}"
        ),
    )
    .unwrap();
}

#[test]
fn every_row_of_an_ip_with_a_ptr_carries_it_and_the_cache_spares_the_next_runs() {
    let s = setup();
    let Some(dns) = Dnsmasq::start(&s.logs, "reverse DNS through dnsmasq") else {
        return;
    };
    dns_config(&s, dns.port, "");
    write_log(&s.logs.join("mail.log"), 0);
    let started = Instant::now();
    mls(&s.config, &["--no-progress"]);
    // The timeouts run concurrently with the rest: one 400 ms wait, not one per address.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        dns.ptr_queries(),
        IPS.len(),
        "one query per distinct address"
    );
    let expected: HashMap<&str, [&str; 2]> = [
        ("192.0.2.7", ["mail.example.net", "OK"]),
        ("192.0.2.8", ["null", "Error (invalid PTR name)"]),
        ("192.0.2.12", ["null", "Error (invalid PTR name)"]),
        ("192.0.2.10", ["liar.example.net", "OK"]),
        ("192.0.2.9", ["null", "Timeout"]),
        ("192.0.2.13", ["null", "NXDOMAIN"]),
        ("2001:db8::7", ["v6.example.net", "OK"]),
        ("2001:db8::1", ["null", "NXDOMAIN"]),
    ]
    .into();
    let check = |rows: &HashMap<String, Vec<Vec<String>>>, per_ip: usize| {
        assert_eq!(rows.len(), IPS.len());
        for (ip, cells) in rows {
            assert_eq!(cells.len(), per_ip, "{ip}");
            for c in cells {
                assert_eq!(
                    [c[0].as_str(), c[1].as_str()],
                    expected[ip.as_str()],
                    "{ip}"
                );
            }
        }
    };
    check(&csv_rows(&s.work), 3);
    // No hostile PTR byte reached the file.
    let text = fs::read_to_string(s.work.join("maillogsentinel.csv")).unwrap();
    assert!(!text.contains("evil") && !text.contains('\u{1b}'), "{text}");
    // Forward confirmation is stored per event.
    let store = maillogsentinel::store::Store::open(&s.work.join("maillogsentinel.db")).unwrap();
    let confirmed: HashMap<String, Option<bool>> = store
        .events()
        .unwrap()
        .into_iter()
        .map(|e| (e.event.ip.to_string(), e.enrichment.ptr_confirmed))
        .collect();
    assert_eq!(confirmed["192.0.2.7"], Some(true));
    assert_eq!(confirmed["192.0.2.10"], Some(false));
    assert_eq!(confirmed["2001:db8::7"], Some(true));
    assert_eq!(confirmed["192.0.2.13"], None);
    drop(store);

    // Same addresses again: every answer comes from the cache (the timeout too, for a while).
    write_log(&s.logs.join("mail.log"), 100);
    mls(&s.config, &["--no-progress"]);
    assert_eq!(dns.ptr_queries(), IPS.len(), "no new query");
    check(&csv_rows(&s.work), 6);

    // A reset keeps the cache; ipinfo reads it.
    mls(&s.config, &["--reset"]);
    mls(&s.config, &["--no-progress"]);
    assert_eq!(dns.ptr_queries(), IPS.len(), "no new query after --reset");
    check(&csv_rows(&s.work), 6);
    let o = mls(&s.config, &["ipinfo", "--json", "192.0.2.7", "192.0.2.99"]);
    let infos: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(infos[0]["hostname"], "mail.example.net");
    assert_eq!(infos[0]["ptr_source"], "cache");
    assert_eq!(infos[0]["failures"], 6);
    assert_eq!(infos[0]["users"][0]["user"], "u0");
    assert_eq!(infos[1]["reverse_dns_status"], "NXDOMAIN");
    assert_eq!(infos[1]["ptr_source"], "live");
    assert_eq!(infos[1]["failures"], 0);
    assert_eq!(
        dns.ptr_queries(),
        IPS.len() + 1,
        "ipinfo asked for the unknown one"
    );
}

#[test]
fn no_dns_flag_and_config_send_nothing() {
    let s = setup();
    let Some(dns) = Dnsmasq::start(&s.logs, "DNS switched off") else {
        return;
    };
    dns_config(&s, dns.port, "");
    write_log(&s.logs.join("mail.log"), 0);
    mls(&s.config, &["--no-progress", "--no-dns"]);
    dns_config(&s, dns.port, "enabled = false\n");
    write_log(&s.logs.join("mail.log"), 100);
    mls(&s.config, &["run", "--no-progress"]);
    assert_eq!(dns.ptr_queries(), 0);
    for cells in csv_rows(&s.work).values().flatten() {
        assert_eq!(&cells[..2], ["null", "null"]);
    }
}

fn geo_config(s: &support::Setup, country: &Path, asn: &Path) {
    let text = fs::read_to_string(&s.config).unwrap();
    fs::write(
        &s.config,
        format!(
            "{text}\n[geolocation]\ncountry_db_path = {}\n[ASN_ASO]\nasn_db_path = {}\n",
            country.display(),
            asn.display()
        ),
    )
    .unwrap();
}

#[test]
fn country_and_asn_from_csv_files_with_ipv6_twins_fill_the_csv() {
    let s = setup();
    let geo = s.logs.join("geo");
    fs::create_dir_all(&geo).unwrap();
    // Numeric v4 (the old tool's -num files) and dotted v6 twins found by name.
    fs::write(
        geo.join("country-ipv4-num.csv"),
        "3221225984,3221226239,FR\n",
    )
    .unwrap();
    fs::write(
        geo.join("country-ipv6-num.csv"),
        format!(
            "{},{},JP\n",
            u128::from("2001:db8::".parse::<std::net::Ipv6Addr>().unwrap()),
            u128::from("2001:db8::ffff".parse::<std::net::Ipv6Addr>().unwrap())
        ),
    )
    .unwrap();
    fs::write(
        geo.join("asn-ipv4.csv"),
        "192.0.2.0,192.0.2.127,64500,\"=HYPERLINK(\"\"x\"\");evil\"\n",
    )
    .unwrap();
    geo_config(
        &s,
        &geo.join("country-ipv4-num.csv"),
        &geo.join("asn-ipv4.csv"),
    );
    write_log(&s.logs.join("mail.log"), 0);
    let jsonl = s.work.join("events.jsonl");
    mls(
        &s.config,
        &["--no-progress", "--jsonl", jsonl.to_str().unwrap()],
    );
    let events: Vec<serde_json::Value> = fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), IPS.len() * 3);
    for e in &events {
        let (country, asn) = match e["ip"].as_str().unwrap() {
            ip if ip.starts_with("192.0.2.") => ("FR", serde_json::json!(64500)),
            _ => ("JP", serde_json::Value::Null),
        };
        assert_eq!(e["country_code"], country, "{e}");
        assert_eq!(e["asn"], asn, "{e}");
        assert!(e["hostname"].is_null() && e["reverse_dns_status"].is_null());
    }
    let rows = csv_rows(&s.work);
    assert_eq!(
        rows["192.0.2.7"][0][2..],
        ["FR", "64500", "'=HYPERLINK(\"x\");evil"]
    );
    assert_eq!(rows["2001:db8::7"][0][2..], ["JP", "null", "null"]);
    // The hostile organisation is quoted and neutralised in the file itself.
    let text = fs::read_to_string(s.work.join("maillogsentinel.csv")).unwrap();
    assert!(
        text.contains(";\"'=HYPERLINK(\"\"x\"\");evil\"\n"),
        "{text}"
    );
}

#[test]
fn a_missing_geo_database_warns_once_and_the_run_goes_on() {
    let s = setup();
    geo_config(&s, &s.logs.join("nope.csv"), &s.logs.join("nope.mmdb"));
    write_log(&s.logs.join("mail.log"), 0);
    let o = mls(&s.config, &["--no-progress"]);
    let log = fs::read_to_string(s.work.join("maillogsentinel.log")).unwrap();
    assert_eq!(log.matches("nope.csv").count(), 1, "{log}");
    assert_eq!(log.matches("nope.mmdb").count(), 1, "{log}");
    assert!(o.status.success());
    assert_eq!(csv_rows(&s.work).len(), IPS.len());
}

/// Serves `responses` in turn, one per connection: (status line and headers, body, bytes of
/// the body actually sent before closing).
fn http_server(responses: Vec<(String, Vec<u8>, usize)>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (head, body, send) in responses {
            let (mut conn, _) = listener.accept().unwrap();
            let mut req = [0u8; 4096];
            let _ = conn.read(&mut req);
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body[..send]);
        }
    });
    port
}

fn ok_head(len: usize) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
}

#[test]
fn update_geo_replaces_a_file_only_with_a_complete_valid_download() {
    let s = setup();
    let geo = s.logs.join("geo");
    fs::create_dir_all(&geo).unwrap();
    let target = geo.join("country.csv");
    fs::write(&target, "1.0.0.0,1.0.0.255,AU\n").unwrap();
    let new: Vec<u8> = (0..2000)
        .flat_map(|i| format!("{i}00000,{i}00099,FR\n").into_bytes())
        .collect();
    let html = b"<html>rate limited</html>\n".to_vec();
    let port = http_server(vec![
        (ok_head(new.len()), new.clone(), new.len() / 2), // truncated
        (ok_head(html.len()), html.clone(), html.len()),  // not a database
        (ok_head(new.len()), new.clone(), new.len()),     // good
    ]);
    let text = fs::read_to_string(&s.config).unwrap();
    fs::write(
        &s.config,
        format!(
            "{text}\n[geolocation]\ncountry_db_path = {}\ncountry_db_url = http://127.0.0.1:{port}/c.csv\n",
            target.display()
        ),
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_maillogsentinel"))
            .args(["--allow-root", "--config"])
            .arg(&s.config)
            .arg("update-geo")
            .output()
            .unwrap()
    };
    let old = fs::read(&target).unwrap();
    for what in ["truncated", "not a database"] {
        let o = run();
        assert_eq!(o.status.code(), Some(1), "{what}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("c.csv"),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(fs::read(&target).unwrap(), old, "{what}: old file kept");
    }
    let o = run();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(&target).unwrap(), new);
    // No temporary file left behind.
    let names: Vec<_> = fs::read_dir(&geo)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["country.csv"]);
}

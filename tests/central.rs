//! The fleet's central store on a real PostgreSQL: a throw-away cluster (initdb in a temp dir,
//! a free loopback port, run as `mlstest` when the tests run as root), `central init`,
//! `add-server`, shipping at the end of runs and by `ship`, row-level security, and a
//! central store that is down while a server runs. Without PostgreSQL the tests say SKIPPED,
//! and fail with MLS_REQUIRE_SERVERS=1 (as scripts/test sets).

use crate::support;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_maillogsentinel");

/// The PostgreSQL binaries of the Debian package.
fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A cluster of its own: superuser `postgres` trusted on loopback, every other role by
/// password (scram).
struct Cluster {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(test: &str) -> Option<Cluster> {
        let Some(bin) = pg_bin() else {
            if std::env::var_os("MLS_REQUIRE_SERVERS").is_some() {
                panic!("{test}: PostgreSQL is not installed, and MLS_REQUIRE_SERVERS is set");
            }
            eprintln!("SKIPPED {test}: PostgreSQL is not installed (apt install postgresql)");
            return None;
        };
        if is_root() && !support::can_drop_to("mlstest") {
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        if is_root() {
            support::chown("mlstest", tmp.path());
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Cluster {
            _tmp: tmp,
            bin,
            data,
            port,
        };
        let init = c.pg(
            "initdb",
            &[
                "-D",
                c.data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
            ],
        );
        assert!(init.status.success(), "initdb: {}", text(&init));
        fs::write(
            c.data.join("pg_hba.conf"),
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        c.ctl(&["start", "-w"]);
        let mut admin = c.admin("postgres");
        admin.batch_execute("CREATE DATABASE mls").unwrap();
        Some(c)
    }

    /// A PostgreSQL program, as `mlstest` when root.
    fn pg(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", "mlstest", "--regid", "mlstest", "--clear-groups"])
                .arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).current_dir("/").output().unwrap()
    }

    fn ctl(&self, args: &[&str]) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={}",
            self.port,
            self.data.display()
        );
        let mut all = vec!["-D", self.data.to_str().unwrap(), "-o", &opts, "-l"];
        let log = self.data.join("server.log");
        all.push(log.to_str().unwrap());
        all.extend_from_slice(args);
        let out = self.pg("pg_ctl", &all);
        assert!(out.status.success(), "pg_ctl {args:?}: {}", text(&out));
    }

    /// `central init` as the superuser, which must succeed.
    fn init(&self) {
        let out = mls(&[
            "central",
            "init",
            "--url",
            &self.url("postgres"),
            "--tls",
            "disable",
        ]);
        assert!(out.status.success(), "central init: {}", text(&out));
    }

    fn url(&self, role: &str) -> String {
        format!("postgresql://{role}@127.0.0.1:{}/mls", self.port)
    }

    fn admin(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname={db}",
                self.port
            ),
            postgres::NoTls,
        )
        .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg(
            "pg_ctl",
            &["-D", self.data.to_str().unwrap(), "stop", "-m", "immediate"],
        );
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What the server said of a refused statement.
fn said(e: postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

fn mls(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// A server: its working dir and config, with `[central]` for `name`.
fn server(c: &Cluster, dir: &Path, name: &str) -> support::Setup {
    let s = support::setup_in(dir);
    let pass = dir.join(format!("{name}.pass"));
    let out = mls(&[
        "central",
        "add-server",
        name,
        "--url",
        &c.url("postgres"),
        "--tls",
        "disable",
        "--password-file",
        pass.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "add-server: {}", text(&out));
    let mut conf = fs::read_to_string(&s.config).unwrap();
    conf.push_str(&format!(
        "\n[central]\nurl = {}\npassword_file = {}\nserver_name = {name}\ntls = disable\n",
        c.url(&role_of(name)),
        pass.display()
    ));
    fs::write(&s.config, conf).unwrap();
    s
}

fn role_of(name: &str) -> String {
    format!("mls_srv_{}", name.replace(['.', '-'], "_"))
}

/// Failed attempts per server in the central store.
fn central_failures(c: &Cluster, server: &str) -> (i64, i64) {
    central_rows(c, server, "failure")
}

/// Rows and attempts of one outcome of a server in the central store.
fn central_rows(c: &Cluster, server: &str, outcome: &str) -> (i64, i64) {
    let row = c
        .admin("mls")
        .query_one(
            "SELECT count(*), coalesce(sum(attempts), 0)::bigint FROM mls_events
             WHERE server = $1 AND outcome = $2",
            &[&server, &outcome],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// The per-source day summary that ships wrote, summed over their transactions (several rows
/// of one source and day are one per transaction).
const SHIPPED_SUMMARY: &str = "SELECT server, kind, value, day, min(first_unix) AS first_unix,
        max(last_unix) AS last_unix, sum(attempts)::bigint AS attempts
    FROM mls_source_days GROUP BY 1, 2, 3, 4";

/// The shipped summary of database `db` against the same summary derived from its events:
/// the rows that differ, both ways (none).
fn summary_mismatches(c: &Cluster, db: &str) -> i64 {
    c.admin(db)
        .query_one(
            &format!(
                "WITH shipped AS ({SHIPPED_SUMMARY}),
                 derived AS (SELECT * FROM mls_derived_source_days())
                 SELECT (SELECT count(*) FROM (TABLE shipped EXCEPT TABLE derived) a)
                     + (SELECT count(*) FROM (TABLE derived EXCEPT TABLE shipped) b)"
            ),
            &[],
        )
        .unwrap()
        .get(0)
}

fn local_failures(work: &Path) -> (i64, i64) {
    local_rows(work, "failure")
}

/// Rows and attempts of one outcome in a local store.
fn local_rows(work: &Path, outcome: &str) -> (i64, i64) {
    let db = rusqlite::Connection::open(work.join("maillogsentinel.db")).unwrap();
    db.query_row(
        "SELECT count(*), coalesce(sum(attempts), 0) FROM events WHERE outcome = ?1",
        [outcome],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// The cells of a row of a text table (columns are two spaces apart at least).
fn cells(row: &str) -> Vec<&str> {
    row.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// A read role for reports, and `config` set to use it (in UTC).
fn add_reader(c: &Cluster, dir: &Path, config: &Path) {
    let reader_pass = dir.join("reader.pass");
    if !reader_pass.exists() {
        let out = mls(&[
            "central",
            "add-reader",
            "reports",
            "--url",
            &c.url("postgres"),
            "--tls",
            "disable",
            "--password-file",
            reader_pass.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "add-reader: {}", text(&out));
    }
    let mut conf = fs::read_to_string(config).unwrap();
    if !conf.contains("timezone = UTC") {
        conf = conf.replace("[general]\n", "[general]\ntimezone = UTC\n");
    }
    conf.push_str(&format!(
        "report_url = {}\nreport_password_file = {}\n",
        c.url("mls_read_reports"),
        reader_pass.display()
    ));
    fs::write(config, conf).unwrap();
}

/// `report EXTRA... --stdout --date DAY` with `config`: the text.
fn report_of(config: &Path, day: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--allow-root",
        "--config",
        config.to_str().unwrap(),
        "report",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--stdout", "--date", day]);
    let out = mls(&args);
    assert!(out.status.success(), "report {extra:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lines(from: u64, to: u64, host: &str) -> String {
    (from..to)
        .map(|i| {
            format!(
                "Nov 23 10:{:02}:{:02} {host} postfix/smtpd[1]: warning: unknown[192.0.2.{}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=u{i}\n",
                (i / 60) % 60,
                i % 60,
                i % 200 + 1
            )
        })
        .collect()
}

#[test]
fn servers_ship_exactly_once_and_only_as_themselves() {
    let Some(c) = Cluster::start("servers_ship_exactly_once_and_only_as_themselves") else {
        return;
    };
    for _ in 0..2 {
        c.init();
    }
    let tmp = tempfile::tempdir().unwrap();
    let mx1 = server(&c, &tmp.path().join("mx1"), "mx1.example.org");
    let mx2 = server(&c, &tmp.path().join("mx2"), "mx2");
    fs::write(mx1.logs.join("mail.log"), lines(0, 300, "mx1")).unwrap();
    fs::write(mx2.logs.join("mail.log"), lines(0, 120, "mx2")).unwrap();
    support::run_ok(&mx1.config);
    support::run_ok(&mx2.config);
    let own_log = fs::read_to_string(mx1.work.join("maillogsentinel.log")).unwrap_or_default();
    assert_eq!(
        central_failures(&c, "mx1.example.org"),
        (300, 300),
        "{own_log}"
    );
    assert_eq!(central_failures(&c, "mx2"), (120, 120));
    // More lines, a run, and a `ship` with nothing new: nothing doubled.
    let mut log = fs::read_to_string(mx1.logs.join("mail.log")).unwrap();
    log.push_str(&lines(300, 350, "mx1"));
    fs::write(mx1.logs.join("mail.log"), log).unwrap();
    support::run_ok(&mx1.config);
    let ship = mls(&[
        "--allow-root",
        "--config",
        mx1.config.to_str().unwrap(),
        "ship",
    ]);
    assert!(ship.status.success(), "ship: {}", text(&ship));
    assert_eq!(
        central_failures(&c, "mx1.example.org"),
        local_failures(&mx1.work)
    );
    assert_eq!(central_failures(&c, "mx1.example.org"), (350, 350));
    let runs: i64 = c
        .admin("mls")
        .query_one(
            "SELECT count(*) FROM mls_runs WHERE server = 'mx1.example.org'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(runs, 2, "the runs ship too");

    // mx1's credentials: no rows as mx2, no update, no delete.
    let password = fs::read_to_string(tmp.path().join("mx1/mx1.example.org.pass")).unwrap();
    let mut as_mx1 = postgres::Client::connect(
        &format!(
            "host=127.0.0.1 port={} user={} password={} dbname=mls",
            c.port,
            role_of("mx1.example.org"),
            password.trim()
        ),
        postgres::NoTls,
    )
    .unwrap();
    let forged = as_mx1.execute(
        "INSERT INTO mls_events (server, store_id, local_id, time_unix, has_time, time_nanos,
             offset_secs, service, protocol, outcome, ip, attempts, net)
         VALUES ('mx2', 'x', 1, 0, false, 0, 0, 'postfix', 'smtp', 'success', '192.0.2.9', 1,
             '192.0.2.0/24')",
        &[],
    );
    let e = said(forged.unwrap_err());
    assert!(e.contains("row-level security"), "{e}");
    let forged = as_mx1.execute(
        "INSERT INTO mls_source_days (server, kind, value, day, first_unix, last_unix, attempts)
         VALUES ('mx2', 'ip', '\\x3139322e302e322e39', 1, 86400, 86400, 1)",
        &[],
    );
    let e = said(forged.unwrap_err());
    assert!(e.contains("row-level security"), "summary row as mx2: {e}");
    for sql in [
        "UPDATE mls_events SET attempts = 0",
        "UPDATE mls_source_days SET attempts = 0",
        "DELETE FROM mls_source_days",
        "DELETE FROM mls_events",
        "DELETE FROM mls_ships",
        "SELECT count(*) FROM mls_events",
    ] {
        let e = said(as_mx1.batch_execute(sql).unwrap_err());
        assert!(e.contains("permission denied"), "{sql}: {e}");
    }
    assert_eq!(central_failures(&c, "mx2"), (120, 120), "mx2 untouched");

    // A login on mx2 from an address that failed on mx1 only: the fleet report flags it, the
    // report of mx2 alone (its failures are elsewhere) too, mx2's own local report does not.
    let mut log = fs::read_to_string(mx1.logs.join("mail.log")).unwrap();
    log.push_str("Nov 23 10:59:59 mx1 postfix/smtpd[1]: warning: unknown[198.51.100.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=alice\n");
    fs::write(mx1.logs.join("mail.log"), log).unwrap();
    support::run_ok(&mx1.config);
    let mut log = fs::read_to_string(mx2.logs.join("mail.log")).unwrap();
    log.push_str("Nov 23 11:30:00 mx2 dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.1, mpid=7, TLS, session=<x1>\n");
    fs::write(mx2.logs.join("mail.log"), log).unwrap();
    support::run_ok(&mx2.config);
    add_reader(&c, tmp.path(), &mx2.config);
    let report = |extra: &[&str]| report_of(&mx2.config, "2026-11-23", extra);
    // A third server that never ran: named first in the fleet health table.
    let _mx3 = server(&c, &tmp.path().join("mx3"), "mx3");
    let fleet = report(&["--fleet"]);
    let health: Vec<&str> = fleet
        .lines()
        .skip_while(|l| !l.starts_with("Fleet health (3 servers)"))
        .skip(2)
        .take(3)
        .collect();
    assert!(
        health[0].trim_start().starts_with("mx3") && health[0].contains("SILENT: never ran"),
        "{fleet}"
    );
    assert!(
        health[1].trim_start().starts_with("mx1.example.org") && health[1].contains(" ok "),
        "{fleet}"
    );
    assert!(
        health[2].trim_start().starts_with("mx2") && health[2].contains(" ok "),
        "{fleet}"
    );
    assert!(
        fleet.contains("POSSIBLE COMPROMISE: 1 successful login"),
        "{fleet}"
    );
    let row = fleet
        .lines()
        .find(|l| l.contains("alice"))
        .unwrap_or_else(|| panic!("{fleet}"));
    let cells = cells(row);
    assert_eq!(
        cells[cells.len() - 2..],
        ["mx2", "mx1.example.org"],
        "login on, failed on: {fleet}"
    );
    assert!(
        fleet.contains("alice") && fleet.contains("198.51.100.7"),
        "{fleet}"
    );
    assert!(
        fleet.contains("Total failed attempts: 471 "),
        "both servers: {fleet}"
    );
    let one = report(&["--server", "mx2"]);
    assert!(one.contains("POSSIBLE COMPROMISE: 1"), "{one}");
    assert!(
        one.contains("Total failed attempts: 120 "),
        "mx2 alone: {one}"
    );
    let local = report(&["--no-scan"]);
    assert!(
        !local.contains("POSSIBLE COMPROMISE"),
        "mx2 alone never saw 198.51.100.0/24 fail: {local}"
    );
    // query --fleet: the network on both servers, then alice's events newest first.
    let query = |args: &[&str]| {
        let mut all = vec![
            "--allow-root",
            "--config",
            mx2.config.to_str().unwrap(),
            "query",
            "--fleet",
        ];
        all.extend_from_slice(args);
        let out = mls(&all);
        assert!(out.status.success(), "query {args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        query(&[
            "--ip",
            "198.51.100.0/24",
            "--group-by",
            "server",
            "--format",
            "csv"
        ]),
        "server;events;failures;successes;first_seen;last_seen\n\
         mx1.example.org;1;1;0;2026-11-23T10:59:59+00:00;2026-11-23T10:59:59+00:00\n\
         mx2;1;0;1;2026-11-23T11:30:00+00:00;2026-11-23T11:30:00+00:00\n"
    );
    let alice: serde_json::Value =
        serde_json::from_str(&query(&["--user-like", "ali*", "--format", "json"])).unwrap();
    let seen: Vec<(&str, &str, &str)> = alice
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["server"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["ip"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("mx2", "success", "198.51.100.7"),
            ("mx1.example.org", "failure", "198.51.100.7")
        ]
    );
    assert_eq!(
        query(&[
            "--user",
            "u5",
            "--outcome",
            "failure",
            "--limit",
            "1",
            "--format",
            "csv"
        ])
        .lines()
        .count(),
        2
    );
}

/// server, kind, value, day, first, last, attempts.
type SummaryRow = (String, String, Vec<u8>, i32, i64, i64, i64);

/// The shipped summary of a database, in one order.
fn summary_of(c: &Cluster, db: &str) -> Vec<SummaryRow> {
    c.admin(db)
        .query(&format!("{SHIPPED_SUMMARY} ORDER BY 1, 2, 3, 4"), &[])
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect()
}

#[test]
fn a_schema_1_store_migrates_with_its_summary() {
    let Some(c) = Cluster::start("a_schema_1_store_migrates_with_its_summary") else {
        return;
    };
    c.init();
    let tmp = tempfile::tempdir().unwrap();
    let mx = server(&c, &tmp.path().join("mx"), "mx");
    let mut log = lines(0, 400, "mx");
    log.push_str(&lines(0, 50, "mx").replace("Nov 23", "Nov 24"));
    for i in 0..20 {
        log.push_str(&format!("Nov 24 11:00:{i:02} mx dovecot: imap-login: Login: user=<u{}>, method=PLAIN, rip=198.51.100.{i}, lip=192.0.2.1, mpid=7, TLS, session=<s{i}>\n", i % 7));
    }
    fs::write(mx.logs.join("mail.log"), log).unwrap();
    support::run_ok(&mx.config);
    let shipped = summary_of(&c, "mls");
    assert!(
        shipped.iter().any(|r| r.1 == "user") && shipped.iter().any(|r| r.1 == "ip"),
        "{shipped:?}"
    );

    // A store of schema 1 (as the first fleet version made it) holding the same events.
    let mut admin = c.admin("postgres");
    admin.batch_execute("CREATE DATABASE old").unwrap();
    let mut old = c.admin("old");
    old.batch_execute("CREATE TABLE mls_schema (version integer NOT NULL)")
        .unwrap();
    old.batch_execute(maillogsentinel::central::schema::MIGRATIONS[0])
        .unwrap();
    old.batch_execute("INSERT INTO mls_schema VALUES (1)")
        .unwrap();
    let (lo, hi): (i64, i64) = c
        .admin("mls")
        .query_one("SELECT min(time_unix), max(time_unix) FROM mls_events", &[])
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    old.execute("SELECT mls_ensure_months($1, $2)", &[&lo, &hi])
        .unwrap();
    let mut rows = Vec::new();
    std::io::Read::read_to_end(
        &mut c
            .admin("mls")
            .copy_out("COPY (SELECT * FROM mls_events) TO STDOUT")
            .unwrap(),
        &mut rows,
    )
    .unwrap();
    let mut w = old.copy_in("COPY mls_events FROM STDIN").unwrap();
    std::io::Write::write_all(&mut w, &rows).unwrap();
    w.finish().unwrap();

    // This version ships only to the schema it knows.
    let to_old = tmp.path().join("to-old.conf");
    fs::write(
        &to_old,
        fs::read_to_string(&mx.config)
            .unwrap()
            .replace(&format!(":{}/mls", c.port), &format!(":{}/old", c.port)),
    )
    .unwrap();
    let out = mls(&["--allow-root", "--config", to_old.to_str().unwrap(), "ship"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("version 1, older than this version needs (3)")
            && text(&out).contains("central init"),
        "{}",
        text(&out)
    );

    let out = mls(&[
        "central",
        "init",
        "--url",
        &format!("postgresql://postgres@127.0.0.1:{}/old", c.port),
        "--tls",
        "disable",
    ]);
    assert!(out.status.success(), "central init: {}", text(&out));
    assert!(text(&out).contains("version 1 -> 3"), "{}", text(&out));
    assert_eq!(summary_mismatches(&c, "old"), 0);
    assert_eq!(
        summary_of(&c, "old"),
        shipped,
        "the migration's summary is the one ships write"
    );
}

#[test]
fn a_central_store_that_is_down_delays_shipping_and_loses_nothing() {
    let Some(c) = Cluster::start("a_central_store_that_is_down_delays_shipping_and_loses_nothing")
    else {
        return;
    };
    c.init();
    let tmp = tempfile::tempdir().unwrap();
    let mx = server(&c, &tmp.path().join("mx"), "mx");
    fs::write(mx.logs.join("mail.log"), lines(0, 100, "mx")).unwrap();
    support::run_ok(&mx.config);
    c.ctl(&["stop", "-m", "immediate"]);
    let mut log = fs::read_to_string(mx.logs.join("mail.log")).unwrap();
    log.push_str(&lines(100, 180, "mx"));
    fs::write(mx.logs.join("mail.log"), log).unwrap();
    // The run itself succeeds: its events are safe in the local store.
    let out = support::spawn_run(&mx.config).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let own_log = fs::read_to_string(mx.work.join("maillogsentinel.log")).unwrap();
    assert!(
        own_log.contains("not shipped to the central store"),
        "{own_log}"
    );
    assert_eq!(local_failures(&mx.work), (180, 180));
    let ship = mls(&[
        "--allow-root",
        "--config",
        mx.config.to_str().unwrap(),
        "ship",
    ]);
    assert_eq!(
        ship.status.code(),
        Some(69),
        "ship while down: {}",
        text(&ship)
    );
    let check = mls(&["--config", mx.config.to_str().unwrap(), "check-config"]);
    let said = text(&check);
    assert_eq!(check.status.code(), Some(1), "{said}");
    assert!(
        said.contains("PROBLEM  central store: cannot connect"),
        "{said}"
    );
    assert!(
        said.contains("central backlog: 80 events not shipped yet"),
        "{said}"
    );
    c.ctl(&["start", "-w"]);
    let ship = mls(&[
        "--allow-root",
        "--config",
        mx.config.to_str().unwrap(),
        "ship",
    ]);
    assert!(ship.status.success(), "ship: {}", text(&ship));
    assert_eq!(central_failures(&c, "mx"), (180, 180));
    let said = text(&mls(&[
        "--config",
        mx.config.to_str().unwrap(),
        "check-config",
    ]));
    assert!(said.contains("accepts this server's login"), "{said}");
    assert!(
        said.contains("central backlog: 0 events not shipped yet (last shipped 20"),
        "{said}"
    );
}

#[test]
fn ships_killed_or_cut_by_a_postgres_restart_neither_lose_nor_double() {
    let Some(c) =
        Cluster::start("ships_killed_or_cut_by_a_postgres_restart_neither_lose_nor_double")
    else {
        return;
    };
    c.init();
    let tmp = tempfile::tempdir().unwrap();
    let mx = server(&c, &tmp.path().join("mx"), "mx");
    // Three shipping transactions' worth of events, stored locally while the central store
    // is unknown to the run (the section is added after).
    let plain = fs::read_to_string(&mx.config).unwrap();
    let local_only = &plain[..plain.find("\n[central]").unwrap()];
    fs::write(&mx.config, local_only).unwrap();
    let mut log = String::new();
    for day in 0..3 {
        log.push_str(&lines(0, 42_000, "mx").replace("Nov 23", &format!("Nov 2{day}")));
    }
    fs::write(mx.logs.join("mail.log"), log).unwrap();
    support::run_ok(&mx.config);
    fs::write(&mx.config, &plain).unwrap();
    let expected = local_failures(&mx.work);
    assert_eq!(expected.0, 126_000);
    let mut rng = support::Rng::from_env("MLS_SEED");
    let ship = || {
        Command::new(BIN)
            .args([
                "--allow-root",
                "--config",
                mx.config.to_str().unwrap(),
                "ship",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    for round in 0..56 {
        let mut child = ship();
        std::thread::sleep(std::time::Duration::from_millis(rng.below(400)));
        if round % 8 == 7 {
            // The server goes away mid-ship, and comes back.
            c.ctl(&["stop", "-m", "immediate"]);
            let _ = child.wait();
            c.ctl(&["start", "-w"]);
        } else {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (rows, _) = central_failures(&c, "mx");
        assert!(
            rows <= expected.0,
            "round {round}: {rows} rows, more than the local store"
        );
        if round % 8 == 7 {
            assert_eq!(
                summary_mismatches(&c, "mls"),
                0,
                "round {round}: summary vs events"
            );
        }
    }
    let out = mls(&[
        "--allow-root",
        "--config",
        mx.config.to_str().unwrap(),
        "ship",
    ]);
    assert!(out.status.success(), "last ship: {}", text(&out));
    assert_eq!(central_failures(&c, "mx"), expected);
    let distinct: i64 = c
        .admin("mls")
        .query_one(
            "SELECT count(DISTINCT (store_id, local_id)) FROM mls_events WHERE server = 'mx'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(distinct, expected.0, "each local event once");
    assert_eq!(summary_mismatches(&c, "mls"), 0, "summary vs events");
}

/// One server of the three-server test: its setup, a config without `[central]` (its runs
/// store only), its whole log (generated, then the seeded lines) and the generator's counts.
struct Member {
    name: &'static str,
    setup: support::Setup,
    local_only: PathBuf,
    log: Vec<String>,
    truth: serde_json::Value,
}

/// A run of `config` as it happens on a server: shortly (2 s) after the last line of `log`
/// was written, which is when the file was last modified (stamps `Mon DD HH:MM:SS` of 2026,
/// UTC). `None` without faketime.
fn run_after_last_line(config: &Path, log: &Path) -> Option<()> {
    let content = fs::read_to_string(log).unwrap();
    let last = content.lines().last().unwrap();
    let f: Vec<&str> = last.split_whitespace().take(3).collect();
    let written = jiff::civil::DateTime::strptime(
        "%b %d %Y %H:%M:%S",
        format!("{} {} 2026 {}", f[0], f[1], f[2]),
    )
    .unwrap()
    .to_zoned(jiff::tz::TimeZone::UTC)
    .unwrap();
    support::touch(log, &format!("@{}", written.timestamp().as_second()));
    let run_at = written.timestamp() + jiff::SignedDuration::from_secs(2);
    let out = support::run_at(
        config,
        &run_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        &[],
    )?;
    assert!(
        out.status.success(),
        "run of {}: {}",
        config.display(),
        text(&out)
    );
    Some(())
}

#[test]
fn three_servers_ship_concurrently_through_kills_and_restarts() {
    three_servers_ship();
}

/// The test above; `None` when it cannot run here (it said SKIPPED).
fn three_servers_ship() -> Option<()> {
    const TEST: &str = "three_servers_ship_concurrently_through_kills_and_restarts";
    let c = Cluster::start(TEST)?;
    c.init();
    let tmp = tempfile::tempdir().unwrap();
    // After each generated log (which starts at midnight and covers about 40 min): an address
    // failing on mx-a and mx-b, then logging in on imap-c (a cross-server takeover), and a
    // user sprayed from 250 addresses over mx-a and mx-b (more than the generator's).
    let fail = |second: u32, host: &str, ip: &str, user: &str| {
        format!(
            "Nov 20 02:{:02}:{:02} {host} postfix/smtpd[7]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}\n",
            second / 60,
            second % 60
        )
    };
    let spray = |net: usize| -> Vec<String> {
        (1..=125)
            .map(|i| {
                fail(
                    10 + i,
                    ["mx-a", "mx-b"][net],
                    &format!("198.51.{}.{i}", 100 + net),
                    "sprayuser",
                )
            })
            .collect()
    };
    let seeded: [Vec<String>; 3] = [
        [fail(1, "mx-a", "203.0.113.66", "victim"), fail(2, "mx-a", "203.0.113.66", "victim")]
            .into_iter()
            .chain(spray(0))
            .collect(),
        [fail(5, "mx-b", "203.0.113.66", "victim")].into_iter().chain(spray(1)).collect(),
        vec!["Nov 20 02:10:00 imap-c dovecot: imap-login: Login: user=<victim>, method=PLAIN, rip=203.0.113.66, lip=192.0.2.1, mpid=7, TLS, session=<t1>\n".into()],
    ];
    let names = ["mx-a.example.org", "mx-b.example.org", "imap-c.example.org"];
    let mut fleet = Vec::new();
    for (i, (name, seeded)) in names.into_iter().zip(seeded).enumerate() {
        let dir = tmp.path().join(format!("server{i}"));
        let gen_dir = tmp.path().join(format!("generated{i}"));
        let seed = (11 + i).to_string();
        let host = name.split('.').next().unwrap();
        let args = [
            "--size",
            "6M",
            "--seed",
            &seed,
            "--hostname",
            host,
            "--start",
            "2026-11-20T00:00:00",
        ];
        let truth = crate::truth::generate(&gen_dir, &args)?;
        let mut log: Vec<String> = fs::read_to_string(gen_dir.join("mail.log"))
            .unwrap()
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect();
        log.extend(seeded);
        let setup = server(&c, &dir, name);
        let conf = fs::read_to_string(&setup.config)
            .unwrap()
            .replace("[general]\n", "[general]\ntimezone = UTC\n");
        fs::write(&setup.config, &conf).unwrap();
        let local_only = dir.join("local.conf");
        fs::write(&local_only, &conf[..conf.find("\n[central]").unwrap()]).unwrap();
        fleet.push(Member {
            name,
            setup,
            local_only,
            log,
            truth,
        });
    }

    // Each round: every log grows by a chunk and is stored by a run, then the three servers
    // ship at once and are killed (SIGKILL) at a random instant, or PostgreSQL stops
    // (`-m immediate`) under them and starts again.
    const ROUNDS: usize = 24;
    let mut rng = support::Rng::from_env("MLS_SEED");
    let (mut killed, mut cut) = (0, 0);
    for round in 0..ROUNDS {
        for m in &fleet {
            let per = m.log.len().div_ceil(ROUNDS);
            let chunk = m.log.iter().skip(round * per).take(per);
            let live = m.setup.logs.join("mail.log");
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&live)
                .unwrap();
            for line in chunk {
                std::io::Write::write_all(&mut f, line.as_bytes()).unwrap();
            }
            drop(f);
            run_after_last_line(&m.local_only, &live)?;
        }
        let mut ships: Vec<std::process::Child> = fleet
            .iter()
            .map(|m| {
                Command::new(BIN)
                    .args(["--allow-root", "--config"])
                    .arg(&m.setup.config)
                    .arg("ship")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(rng.below(120)));
        if round % 8 == 7 {
            c.ctl(&["stop", "-m", "immediate"]);
            for s in &mut ships {
                cut += usize::from(s.try_wait().unwrap().is_none());
                let _ = s.wait();
            }
            c.ctl(&["start", "-w"]);
        } else {
            for s in &mut ships {
                killed += usize::from(s.try_wait().unwrap().is_none());
                let _ = s.kill();
                let _ = s.wait();
            }
        }
    }
    eprintln!("{TEST}: {killed} ships killed mid-way, {cut} cut by the restarts");
    assert!(killed > 0, "no kill landed during a ship");

    for m in &fleet {
        let out = mls(&[
            "--allow-root",
            "--config",
            m.setup.config.to_str().unwrap(),
            "ship",
        ]);
        assert!(
            out.status.success(),
            "last ship of {}: {}",
            m.name,
            text(&out)
        );
        // A clean run over the whole log, in a working dir of its own.
        let clean = support::setup_in(&tmp.path().join(format!("clean-{}", m.name)));
        fs::write(clean.logs.join("mail.log"), m.log.concat()).unwrap();
        run_after_last_line(&clean.config, &clean.logs.join("mail.log"))?;
        let attempts = &m.truth["attempts"];
        let seeded = |outcome: &str| {
            m.log
                .iter()
                .rev()
                .take_while(|l| l.contains(" 02:"))
                .filter(|l| l.contains(outcome))
                .count() as i64
        };
        for (outcome, visible, marker) in [
            ("failure", "failure_visible", "authentication failed"),
            ("success", "success_visible", "Login:"),
        ] {
            let central = central_rows(&c, m.name, outcome);
            assert_eq!(
                central,
                local_rows(&m.setup.work, outcome),
                "{} {outcome}",
                m.name
            );
            assert_eq!(
                central,
                local_rows(&clean.work, outcome),
                "{} {outcome}",
                m.name
            );
            assert_eq!(
                central.1,
                attempts[visible].as_i64().unwrap() + seeded(marker),
                "{} {outcome} attempts against the generator's truth",
                m.name
            );
        }
        let distinct: i64 = c
            .admin("mls")
            .query_one(
                "SELECT count(DISTINCT (store_id, local_id)) - count(*) FROM mls_events
                 WHERE server = $1",
                &[&m.name],
            )
            .unwrap()
            .get(0);
        assert_eq!(distinct, 0, "{}: an event twice", m.name);
    }
    assert_eq!(summary_mismatches(&c, "mls"), 0, "summary vs events");

    // The fleet report: the takeover names its servers, the shared attacker and the user
    // sprayed over two servers have their tables.
    let imap = &fleet[2].setup.config;
    add_reader(&c, tmp.path(), imap);
    // Made when the day is over, as the fleet report timer would.
    let out = support::run_at(
        imap,
        "2026-11-21 00:05:00",
        &["report", "--fleet", "--stdout", "--date", "2026-11-20"],
    )?;
    assert!(out.status.success(), "fleet report: {}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let compromises: Vec<&str> = report
        .lines()
        .skip_while(|l| !l.starts_with("Successful logins from sources that failed before"))
        .skip(2)
        .collect();
    let first = cells(compromises[0]);
    assert!(
        first[1] == "victim"
            && first[first.len() - 2..]
                == ["imap-c.example.org", "mx-a.example.org, mx-b.example.org"],
        "the takeover across servers comes first: {report}"
    );
    assert!(
        report.contains("(1 after failures on another server)"),
        "{report}"
    );
    let table = |title: &str| -> Vec<String> {
        report
            .lines()
            .skip_while(|l| !l.starts_with(title))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    let shared = table("Attackers seen by several servers");
    assert!(
        shared.iter().any(|l| l.contains("203.0.113.66")
            && l.contains("mx-a.example.org, mx-b.example.org")),
        "{report}"
    );
    let sprayed = table("Spraying across servers");
    assert_eq!(
        cells(&sprayed[1]),
        ["sprayuser", "250", "250", "no login seen", "2"],
        "{report}"
    );
    let health = table("Fleet health (3 servers)");
    assert_eq!(health.len(), 4, "a header and one row per server: {report}");
    for row in &health[1..] {
        let cells = cells(row);
        assert_eq!(cells[1], "ok", "each server ran and shipped: {report}");
        // Every event of the generated logs is of that day: the window's sums are all of them.
        let count = |outcome| {
            maillogsentinel::report::thousands(central_rows(&c, cells[0], outcome).1 as u64)
        };
        assert_eq!(cells[6..8], [count("failure"), count("success")], "{row}");
    }
    Some(())
}

/// Every filter of `query --fleet` reads only its days' events, through indexes (the plans,
/// with sequential scans priced out, hold none), and finds what the local `query` finds in
/// the store the events were shipped from.
#[test]
fn every_fleet_filter_is_served_by_an_index_and_agrees_with_the_local_query() {
    use maillogsentinel::central::{self, DayReading, Params, Window};
    use maillogsentinel::query::{Filters, UserFilter};
    let Some(c) = Cluster::start("every_fleet_filter_is_served_by_an_index") else {
        return;
    };
    c.init();
    let tmp = tempfile::tempdir().unwrap();
    let mx = server(&c, &tmp.path().join("mx"), "mx");
    let mut log = lines(0, 300, "mx");
    for i in 0..20 {
        log.push_str(&format!("Nov 24 11:00:{i:02} mx dovecot: imap-login: Login: user=<u{}>, method=PLAIN, rip=192.0.2.{}, lip=192.0.2.1, mpid=7, TLS, session=<s{i}>\n", i % 7, i + 1));
    }
    log.push_str(&lines(0, 40, "mx").replace("Nov 23", "Nov 25"));
    fs::write(mx.logs.join("mail.log"), log).unwrap();
    support::run_ok(&mx.config);
    add_reader(&c, tmp.path(), &mx.config);

    let query = |fleet: bool, args: &[&str]| {
        let mut all = vec![
            "--allow-root",
            "--config",
            mx.config.to_str().unwrap(),
            "query",
        ];
        if fleet {
            all.push("--fleet");
        }
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "csv"]);
        if !args.contains(&"--limit") {
            all.extend_from_slice(&["--limit", "1000"]);
        }
        let out = mls(&all);
        assert!(out.status.success(), "query {args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    for args in [
        &["--ip", "192.0.2.5"][..],
        &["--ip", "192.0.2.5", "--outcome", "success"],
        &["--ip", "192.0.2.0/24"],
        &["--ip", "192.0.2.4/30", "--outcome", "failure"],
        &["--ip", "192.0.0.0/16"],
        &["--user", "u3"],
        &["--user", "u3", "--outcome", "failure"],
        &["--user-like", "u1*"],
        &["--user-like", "*5"],
        &["--outcome", "success"],
        &["--server", "mx"],
        &["--since", "2026-11-24", "--until", "2026-11-25"],
        // A limit reached inside a day, after whole newer days.
        &["--ip", "192.0.2.5", "--limit", "2"],
        &["--user-like", "u*", "--limit", "45"],
    ] {
        let local = query(false, args);
        assert!(local.lines().count() > 1, "{args:?} finds events: {local}");
        assert_eq!(query(true, args), local, "{args:?}");
    }

    let mut db = c.admin("mls");
    db.batch_execute("ANALYZE; SET enable_seqscan = off")
        .unwrap();
    for f in [
        Filters {
            ip: Some("192.0.2.5".parse().unwrap()),
            ..Filters::default()
        },
        Filters {
            ip: Some("192.0.2.0/24".parse().unwrap()),
            ..Filters::default()
        },
        Filters {
            ip: Some("10.0.0.0/8".parse().unwrap()),
            ..Filters::default()
        },
        Filters {
            user: Some(UserFilter::Exact(b"u3".to_vec())),
            ..Filters::default()
        },
        Filters {
            user: Some(UserFilter::Like(b"*5".to_vec())),
            ..Filters::default()
        },
        Filters {
            asn: Some("64500".into()),
            ..Filters::default()
        },
        Filters {
            country: Some("FR".into()),
            ..Filters::default()
        },
        Filters {
            server: Some("mx".into()),
            ..Filters::default()
        },
        Filters {
            outcome: Some(maillogsentinel::event::Outcome::Success),
            ..Filters::default()
        },
        Filters {
            since: Some(1_795_000_000),
            ..Filters::default()
        },
    ] {
        let explain = |db: &mut postgres::Client, (sql, params): &(String, Params)| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                params.iter().map(|p| &**p).collect();
            let plan: Vec<String> = db
                .query(&format!("EXPLAIN {sql}"), &params)
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let plan = plan.join("\n");
            assert!(!plan.contains("Seq Scan"), "{f:?}:\n{plan}");
            plan
        };
        // A value's filter reads its days from the summary, then only those days' events.
        let by_value = f.ip.is_some() || f.user.is_some() || f.asn.is_some() || f.country.is_some();
        let days = central::days_statement(&f);
        assert_eq!(days.is_some(), by_value, "{f:?}");
        let Some(days) = days else {
            explain(&mut db, &central::events_statement(&f, None, Some(100)));
            continue;
        };
        assert!(
            explain(&mut db, &days).contains("mls_source_days_key"),
            "{f:?}"
        );
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
            days.1.iter().map(|p| &**p).collect();
        let rows = db.query(&days.0, &params).unwrap();
        let newest = rows.first().map(|r| r.get::<_, i64>(0));
        let windows: Vec<Window> = rows
            .iter()
            .filter(|r| Some(r.get::<_, i64>(0)) == newest)
            .map(|r| (r.get(1), r.get(2), r.get(3)))
            .collect();
        // Both ways of reading a day go through indexes, and read the same events (none for
        // the values the store does not have).
        let (from, to) = windows.first().map_or((0, 0), |w| (w.1, w.2));
        let span = DayReading::Span {
            servers: vec!["mx".into()],
            from,
            to,
        };
        let mut read = Vec::new();
        for day in [DayReading::Windows(&windows), span] {
            let statement = central::events_statement(&f, Some(&day), Some(100));
            explain(&mut db, &statement);
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                statement.1.iter().map(|p| &**p).collect();
            let ids: Vec<i64> = db
                .query(&statement.0, &params)
                .unwrap()
                .iter()
                .map(|r| r.get("local_id"))
                .collect();
            assert_eq!(ids.is_empty(), windows.is_empty(), "{f:?} {day:?}");
            read.push(ids);
        }
        assert_eq!(read[0], read[1], "{f:?}");
    }
}

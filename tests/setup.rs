//! Setup end to end: non-interactive setup into temporary directories, the units checked by
//! `systemd-analyze verify`, a first run with the written config; cron syntax refused; and the
//! wizard driven in a real pseudo-terminal, every prompt answered.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_maillogsentinel");

/// A user that exists and is not root: `mlstest` when running as root (scripts/test creates
/// it before the tests; created here, once per process, when it is missing), else the running
/// user. Tests run in parallel threads: a `useradd` each raced, and the loser failed.
fn operational_user() -> String {
    static USER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    USER.get_or_init(|| {
        // SAFETY: geteuid has no preconditions.
        if !nix::unistd::geteuid().is_root() {
            return std::env::var("USER").unwrap_or_else(|_| "nobody".into());
        }
        let exists = |name: &str| {
            Command::new("id")
                .arg(name)
                .output()
                .unwrap()
                .status
                .success()
        };
        if !exists("mlstest") {
            let status = Command::new("useradd")
                .args(["--system", "--no-create-home", "mlstest"])
                .status()
                .unwrap();
            // 9: created meanwhile by another process (another test binary).
            assert!(
                status.success() || (status.code() == Some(9) && exists("mlstest")),
                "useradd mlstest: {status}"
            );
        }
        "mlstest".into()
    })
    .clone()
}

fn units(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "service" || e == "timer")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn non_interactive_setup_writes_a_config_and_units_that_systemd_accepts() {
    let user = operational_user();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let config = t.join("etc/maillogsentinel.conf");
    let mail_log = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/mail.log");
    fs::write(
        t.join("answers"),
        format!(
            "# answers for automation\nuser = {user}\nworking_dir = {w}\nstate_dir = {s}\nmail_log = {m}\nreport_schedule = *-*-* 23:50:00\n",
            w = t.join("work").display(),
            s = t.join("state").display(),
            m = mail_log.display()
        ),
    )
    .unwrap();
    let o = Command::new(BIN)
        .current_dir(t)
        .arg("--config")
        .arg(&config)
        .args([
            "setup",
            "--non-interactive",
            "--extract-schedule",
            "*:0/15",
            "--answers",
        ])
        .arg(t.join("answers"))
        .arg("--units-dir")
        .arg(t.join("units"))
        .arg("--exe")
        .arg(BIN)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("systemctl enable --now maillogsentinel-extract.timer"),
        "{out}"
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&config).unwrap().mode() & 0o777, 0o640);
    let unit_files = units(&t.join("units"));
    assert_eq!(unit_files.len(), 9, "{unit_files:?}");
    let timer = fs::read_to_string(t.join("units/maillogsentinel-extract.timer")).unwrap();
    assert!(
        timer.contains("OnCalendar=*:0/15\nPersistent=true"),
        "{timer}"
    );
    let service = fs::read_to_string(t.join("units/maillogsentinel.service")).unwrap();
    assert!(service.contains(&format!("User={user}\n")), "{service}");
    // The setup log keeps what was shown.
    let log = fs::read_to_string(t.join("maillogsentinel_setup.log")).unwrap();
    assert!(log.contains("Next steps:") && log.contains(&user), "{log}");

    if crate::support::require("systemd-analyze", "systemd") {
        let o = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .args(&unit_files)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "systemd-analyze verify: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // The written config works: a first run on the sample log.
    let o = Command::new(BIN)
        .args(["--allow-root", "--no-progress", "--no-dns", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = fs::read_to_string(t.join("work/maillogsentinel.csv")).unwrap();
    assert!(csv.lines().count() > 10, "{csv}");
}

#[test]
fn cron_syntax_and_root_are_refused_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .current_dir(tmp.path())
        .arg("--config")
        .arg(tmp.path().join("c.conf"))
        .args(["setup", "--non-interactive", "--user", &operational_user()])
        .args(["--extract-schedule", "*/15 * * * *"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cron syntax") && err.contains("*:0/15"),
        "{err}"
    );
    let o = Command::new(BIN)
        .current_dir(tmp.path())
        .args(["setup", "--non-interactive", "--user", "root"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("must not be root"));
    assert!(!tmp.path().join("c.conf").exists());
}

#[test]
fn setup_without_a_terminal_says_how_to_automate_it() {
    let o = Command::new(BIN)
        .args(["--config", "/nonexistent/mls.conf", "setup"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--non-interactive"));
}

#[test]
fn the_wizard_in_a_pseudo_terminal_answers_every_prompt() {
    let user = operational_user();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let config = t.join("mls.conf");
    let mut cmd = Command::new(BIN);
    cmd.current_dir(t)
        .arg("--config")
        .arg(&config)
        .arg("setup")
        .arg("--units-dir")
        .arg(t.join("units"))
        .env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    fn answer(p: &mut rexpect::session::PtySession, prompt: &str, text: &str) {
        p.exp_string(prompt)
            .unwrap_or_else(|e| panic!("{prompt}: {e}"));
        p.send_line(text).unwrap();
    }
    answer(&mut p, "Operational user", "root"); // refused on the spot...
    answer(&mut p, "must not be root", &user); // ...and asked again
    answer(
        &mut p,
        "Working directory",
        &t.join("work").display().to_string(),
    );
    answer(
        &mut p,
        "State directory",
        &t.join("state").display().to_string(),
    );
    answer(
        &mut p,
        "Mail log",
        &t.join("no-such.log").display().to_string(),
    );
    answer(&mut p, "does not exist", "journal"); // refused on the spot, asked again
    answer(&mut p, "Report email", "not-an-address");
    answer(&mut p, "not an email address", "soc@example.org");
    answer(&mut p, "Log level", "debug");
    p.exp_string("Cache reverse DNS answers?").unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    answer(&mut p, "DNS cache size", "");
    answer(&mut p, "DNS cache TTL", "600");
    answer(&mut p, "Country database path", "-");
    // The default ASN path does not exist here: declining update-geo asks again.
    answer(&mut p, "ASN database path", "");
    p.exp_string("fetch it with `maillogsentinel update-geo`")
        .unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    answer(&mut p, "ASN database path", "-");
    answer(&mut p, "Extraction mode", "cron");
    answer(&mut p, "expected timer or follow", "follow");
    answer(&mut p, "Extraction schedule", "0 * * * *");
    answer(&mut p, "cron syntax", "*:0/30");
    answer(&mut p, "Report schedule", "");
    answer(&mut p, "Geo database update schedule", "monthly");
    // A readable summary to confirm before anything is written.
    p.exp_string("The configuration to write:").unwrap();
    p.exp_string("Mail log:             journal").unwrap();
    p.exp_string("DNS cache:            off").unwrap();
    p.exp_string("Extraction mode:      follow").unwrap();
    p.exp_string("Write this configuration?").unwrap();
    assert!(
        !config.exists(),
        "nothing is written before the summary is confirmed"
    );
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("Install the units").unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    p.exp_string("Next steps:").unwrap();
    p.exp_string("enable --now maillogsentinel-follow.service")
        .unwrap();
    p.exp_eof().unwrap();

    let c = maillogsentinel::config::Config::load(&config)
        .unwrap()
        .config;
    assert_eq!(c.paths.working_dir, t.join("work"));
    assert_eq!(c.paths.mail_log, maillogsentinel::config::MailLog::Journal);
    assert_eq!(c.report.email.as_deref(), Some("soc@example.org"));
    assert!(!c.dns_cache.enabled);
    assert_eq!((c.dns_cache.size, c.dns_cache.ttl_seconds), (128, 600));
    assert_eq!(c.country_db.path, None);
    let timer = fs::read_to_string(t.join("units/maillogsentinel-extract.timer")).unwrap();
    assert!(timer.contains("OnCalendar=*:0/30\n"), "{timer}");
    let geo = fs::read_to_string(t.join("units/maillogsentinel-geo-update.timer")).unwrap();
    assert!(geo.contains("OnCalendar=monthly\n"), "{geo}");
    let log = fs::read_to_string(t.join("maillogsentinel_setup.log")).unwrap();
    assert!(
        log.contains("Report email (empty: no mail): soc@example.org"),
        "{log}"
    );
    assert!(!log.contains("Answers {"), "no debug dump: {log}");
}

#[test]
fn the_shipped_man_page_and_completions_are_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .arg("generate")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/generated");
    for name in [
        "maillogsentinel.8",
        "maillogsentinel.bash",
        "_maillogsentinel",
        "maillogsentinel.fish",
    ] {
        let fresh = fs::read(tmp.path().join(name)).unwrap();
        let old = fs::read(shipped.join(name)).unwrap_or_default();
        assert!(
            fresh == old,
            "packaging/generated/{name} is stale: run `cargo run --release -- generate packaging/generated`"
        );
    }
    let man = fs::read_to_string(shipped.join("maillogsentinel.8")).unwrap();
    for cmd in [
        "report",
        "setup",
        "check\\-config",
        "ipinfo",
        "update\\-geo",
    ] {
        assert!(man.contains(cmd), "{cmd} missing from the man page");
    }
}

#[test]
fn check_config_reports_problems_and_what_a_run_would_do() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let config = t.join("mls.conf");
    let mail_log = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/mail.log");
    fs::write(
        &config,
        format!(
            "[paths]\nworking_dir = {w}\nstate_dir = {w}\nmail_log = {m}\n[geolocation]\ncountry_db_path = {t}/missing.csv\n\
             [alerts]\ncommand = true\n[blocklist]\npath = {t}/no-such-dir/block.nft\n",
            w = t.join("w").display(),
            m = mail_log.display(),
            t = t.display()
        ),
    )
    .unwrap();
    let o = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("PROBLEM") && out.contains("missing.csv"),
        "{out}"
    );
    assert!(out.contains("alerts through command"), "{out}");
    assert!(
        out.contains("no-such-dir/block.nft: its directory is not writable"),
        "{out}"
    );
    assert!(out.contains("the first run reads all 1 files"), "{out}");
    fs::write(
        &config,
        fs::read_to_string(&config)
            .unwrap()
            .replace("country_db_path", "# country_db_path")
            .replace("path = ", "# path = "),
    )
    .unwrap();
    let o = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // A wrong value: exit 78 with the line.
    fs::write(&config, "[dns]\ntimeout_ms = soon\n").unwrap();
    let o = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&o.stderr).contains(":2: [dns] timeout_ms"));
}

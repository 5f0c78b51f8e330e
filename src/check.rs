//! What `check-config` finds: the paths and their permissions for the running user, the mail
//! log's readability, the store's integrity (read-only), the geo databases, the report's
//! delivery, and what a run would do; as a list of [`Finding`]s, so that it is tested without
//! capturing output. Changes nothing.
//!
//! Not here: loading the config (a wrong one is the caller's exit 78), printing.

use std::path::Path;

use nix::unistd::{AccessFlags as Access, access};

use crate::config::{Config, MailLog, ReportTransport};
use crate::enrich::geo::Geo;
use crate::ingest::guard::user_name;
use crate::source::files::{InputProblem, LogFile, check_live, discover};
use crate::store::{IngestStore, Store};
use crate::workdir::WorkDir;

/// How a finding reads: all is well, worth knowing, what a run would do, or a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Note,
    Run,
    Problem,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Note => "note",
            Verdict::Run => "run",
            Verdict::Problem => "PROBLEM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    pub text: String,
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, verdict: Verdict, text: String) {
        self.0.push(Finding { verdict, text });
    }
    fn ok(&mut self, text: String) {
        self.push(Verdict::Ok, text);
    }
    fn note(&mut self, text: String) {
        self.push(Verdict::Note, text);
    }
    fn problem(&mut self, text: String) {
        self.push(Verdict::Problem, text);
    }
}

fn may(path: &Path, mode: Access) -> bool {
    access(path, mode).is_ok()
}

/// Every finding about `config`, in the order a reader checks them.
pub fn check(config: &Config) -> Vec<Finding> {
    let mut f = Findings::default();
    f.ok(format!("config {} loads", config.path.display()));
    directories(config, &mut f);
    match &config.paths.mail_log {
        MailLog::File(live) => mail_log_file(config, live, &mut f),
        MailLog::Journal => {
            let j = &config.journal;
            let found = std::process::Command::new(&j.journalctl)
                .arg("--version")
                .output()
                .is_ok();
            if found {
                f.ok(format!(
                    "mail_log is the journal ({})",
                    j.journalctl.display()
                ));
            } else {
                f.problem(format!(
                    "mail_log is the journal but {} is not found",
                    j.journalctl.display()
                ));
            }
        }
    }
    enrichment(config, &mut f);
    delivery(config, &mut f);
    realtime(config, &mut f);
    central(config, &mut f);
    f.0
}

/// Alerts, blocklist and metrics: where they go, and whether their files can be written.
fn realtime(config: &Config, f: &mut Findings) {
    let channels = crate::alert::deliver::channels(config);
    if channels.is_empty() {
        f.note("no [alerts] channel: detections are stored and counted, not sent".into());
    } else {
        f.ok(format!("alerts through {}", channels.join(", ")));
    }
    let writable = |what: &str, path: &Path, f: &mut Findings| {
        let dir = path.parent().unwrap_or(Path::new("/"));
        if may(dir, Access::W_OK | Access::X_OK) {
            f.ok(format!("{what} {} can be written", path.display()));
        } else {
            f.problem(format!(
                "{what} {}: its directory is not writable by this user",
                path.display()
            ));
        }
    };
    if let Some(path) = &config.blocklist.path {
        writable("blocklist", path, f);
    }
    if let Some(path) = &config.metrics.textfile {
        writable("metrics textfile", path, f);
    }
    if let Some(addr) = config.metrics.listen {
        f.note(format!(
            "follow mode serves metrics at http://{addr}/metrics"
        ));
    }
}

/// The central store: reachable, and how much is waiting to be shipped.
fn central(config: &Config, f: &mut Findings) {
    let Some(url) = &config.central.url else {
        return;
    };
    match crate::central::connect_configured(&config.central) {
        Ok(_) => f.ok(format!("central store {url} accepts this server's login")),
        Err(e) => f.problem(format!("central store: {e}; what to do: {}", e.way_out())),
    }
    let db = WorkDir::of(config).store();
    let Ok(store) = Store::open_read_only(&db) else {
        return;
    };
    let shipped = store.shipped().ok().flatten();
    let after = shipped.map_or(0, |(event, _, _)| event);
    let backlog = store.events_count_after(after).unwrap_or(0);
    let last = shipped.map_or_else(
        || "never shipped".to_owned(),
        |(_, _, at)| {
            jiff::Timestamp::from_second(at)
                .map_or_else(|_| at.to_string(), |t| format!("last shipped {t}"))
        },
    );
    f.note(format!(
        "central backlog: {backlog} events not shipped yet ({last})"
    ));
}

fn directories(config: &Config, f: &mut Findings) {
    for (what, dir) in [
        ("working_dir", &config.paths.working_dir),
        ("state_dir", &config.paths.state_dir),
    ] {
        if !dir.is_dir() {
            f.note(format!(
                "{what} {} does not exist yet: a run creates it",
                dir.display()
            ));
        } else if may(dir, Access::W_OK | Access::X_OK) {
            f.ok(format!("{what} {} is writable", dir.display()));
        } else {
            f.problem(format!(
                "{what} {} is not writable by this user",
                dir.display()
            ));
        }
    }
}

fn mail_log_file(config: &Config, live: &Path, f: &mut Findings) {
    let files = match discover(live).or_else(|e| InputProblem::of(&e).map(|_| Vec::new()).ok_or(e))
    {
        Ok(files) => files,
        Err(e) => return f.problem(format!("mail_log {}: {e}", live.display())),
    };
    if let Err(p) = check_live(live, &files) {
        return f.problem(format!(
            "mail_log {}: {}: {}",
            live.display(),
            p.cause(),
            p.fix(&user_name())
        ));
    }
    let known = store(config, f).map_or(0, |s| s.checkpoints().map_or(0, |c| c.len()));
    rotation_set(live, &files, f);
    if known == 0 {
        f.push(
            Verdict::Run,
            format!(
                "the first run reads all {} files (use --from-end to start at their end)",
                files.len()
            ),
        );
    } else {
        f.push(
            Verdict::Run,
            format!("{known} files have checkpoints: a run reads only what is new"),
        );
    }
}

/// The store, when there is one, checked and opened read-only.
fn store(config: &Config, f: &mut Findings) -> Option<Store> {
    let db = WorkDir::of(config).store();
    if !db.exists() {
        return None;
    }
    match Store::verify_read_only(&db) {
        Ok(()) => f.ok(format!("store {} passes its integrity check", db.display())),
        Err(e) => f.problem(format!("{e}; what to do: {}", e.way_out())),
    }
    match Store::open_read_only(&db) {
        Ok(s) => Some(s),
        Err(e) => {
            f.note(e.to_string());
            None
        }
    }
}

fn rotation_set(live: &Path, files: &[LogFile], f: &mut Findings) {
    let mut bytes = 0u64;
    for file in files {
        if !may(&file.path, Access::R_OK) {
            f.problem(format!(
                "{} is not readable by this user (add it to the log's group, usually adm: usermod -aG adm USER)",
                file.path.display()
            ));
        }
        bytes += std::fs::metadata(&file.path).map_or(0, |m| m.len());
    }
    f.ok(format!(
        "mail_log {}: {} files in the rotation set, {} MiB on disk",
        live.display(),
        files.len(),
        bytes >> 20
    ));
}

fn enrichment(config: &Config, f: &mut Findings) {
    if config.dns.enabled {
        let servers = if config.dns.nameservers.is_empty() {
            "the system's resolvers".to_owned()
        } else {
            format!("{:?}", config.dns.nameservers)
        };
        f.ok(format!(
            "reverse DNS on: {servers}, {} ms timeout, {} at once, cache {}",
            config.dns.timeout_ms,
            config.dns.concurrency,
            if config.dns_cache.enabled {
                "on"
            } else {
                "off"
            }
        ));
    } else {
        f.note("reverse DNS off".into());
    }
    let (geo, warnings) = Geo::load(&config.country_db, &config.asn_db);
    for w in warnings {
        f.problem(w);
    }
    if !geo.is_empty() {
        f.ok("geo databases load".into());
    }
}

fn delivery(config: &Config, f: &mut Findings) {
    match (&config.report.email, &config.report.transport) {
        (None, _) => {
            f.note("no [report] email: reports are saved in working_dir/reports only".into())
        }
        (Some(to), ReportTransport::Sendmail(p)) => {
            if may(p, Access::X_OK) {
                f.ok(format!("reports to {to} through {}", p.display()));
            } else {
                f.problem(format!(
                    "reports to {to}: {} is not an executable sendmail",
                    p.display()
                ));
            }
        }
        (Some(to), ReportTransport::Smtp { host, port, .. }) => {
            f.ok(format!("reports to {to} through SMTP {host}:{port}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_name_a_missing_log_and_a_missing_sendmail() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[paths]\nworking_dir = {0}/w\nstate_dir = {0}\nmail_log = {0}/none.log\n[report]\nemail = a@example.org\nsendmail_path = {0}/no-sendmail\n[dns]\nenabled = no\n",
            dir.path().display()
        );
        let config = Config::from_str(&text, &dir.path().join("c.conf"))
            .unwrap()
            .config;
        let found = check(&config);
        let problems: Vec<&str> = found
            .iter()
            .filter(|f| f.verdict == Verdict::Problem)
            .map(|f| f.text.as_str())
            .collect();
        assert_eq!(problems.len(), 2, "{found:#?}");
        assert!(problems[0].contains("none.log"), "{problems:?}");
        assert!(
            problems[1].contains("not an executable sendmail"),
            "{problems:?}"
        );
        assert!(found.iter().any(|f| f.verdict == Verdict::Note
            && f.text.starts_with("working_dir")
            && f.text.contains("does not exist yet")));
        assert!(found.contains(&Finding {
            verdict: Verdict::Note,
            text: "reverse DNS off".into()
        }));
    }
}

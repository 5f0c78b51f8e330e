//! `maillogsentinel check-config`: validates the configuration, the paths and their
//! permissions for the running user, the mail log's readability, the geo databases and the
//! report's delivery, and says what a run would do. Exit 0 when all is well, 1 with problems,
//! 78 when the config itself is wrong. Changes nothing.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;

use super::run::{Common, DB_FILE, Exit, load_config};
use crate::config::{MailLog, ReportTransport};
use crate::enrich::geo::Geo;
use crate::ingest::guard::user_name;
use crate::source::files::{InputProblem, check_live, discover};
use crate::store::Store;

fn access(path: &Path, mode: libc::c_int) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path; access() only reads it.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
}

pub fn run(common: &Common) -> anyhow::Result<ExitCode> {
    let config = match load_config(common) {
        Ok(c) => c,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let mut problems = 0;
    let mut problem = |msg: String| {
        println!("PROBLEM  {msg}");
        problems += 1;
    };
    println!("ok       config {} loads", config.path.display());
    for (what, dir) in [
        ("working_dir", &config.paths.working_dir),
        ("state_dir", &config.paths.state_dir),
    ] {
        if dir.is_dir() {
            if access(dir, libc::W_OK | libc::X_OK) {
                println!("ok       {what} {} is writable", dir.display());
            } else {
                problem(format!(
                    "{what} {} is not writable by this user",
                    dir.display()
                ));
            }
        } else {
            println!(
                "note     {what} {} does not exist yet: a run creates it",
                dir.display()
            );
        }
    }
    match &config.paths.mail_log {
        MailLog::File(live) => match discover(live)
            .or_else(|e| InputProblem::of(&e).map(|_| Vec::new()).ok_or(e))
            .map(|files| (check_live(live, &files), files))
        {
            Ok((Err(p), _)) => problem(format!(
                "mail_log {}: {}: {}",
                live.display(),
                p.cause(),
                p.fix(&user_name())
            )),
            Ok((Ok(()), files)) => {
                let db = config.paths.working_dir.join(DB_FILE);
                let store = if db.exists() {
                    match Store::verify_read_only(&db) {
                        Ok(()) => {
                            println!("ok       store {} passes its integrity check", db.display())
                        }
                        Err(e) => problem(format!("{e}; what to do: {}", e.way_out())),
                    }
                    match Store::open_read_only(&db) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            println!("note     {e}");
                            None
                        }
                    }
                } else {
                    None
                };
                let known = store
                    .as_ref()
                    .and_then(|s| s.checkpoints().ok())
                    .map_or(0, |c| c.len());
                let mut bytes = 0u64;
                for f in &files {
                    if !access(&f.path, libc::R_OK) {
                        problem(format!(
                            "{} is not readable by this user (add it to the log's group, usually adm: usermod -aG adm USER)",
                            f.path.display()
                        ));
                    }
                    bytes += std::fs::metadata(&f.path).map_or(0, |m| m.len());
                }
                println!(
                    "ok       mail_log {}: {} files in the rotation set, {} MiB on disk",
                    live.display(),
                    files.len(),
                    bytes >> 20
                );
                if known == 0 {
                    println!(
                        "run      the first run reads all {} files (use --from-end to start at their end)",
                        files.len()
                    );
                } else {
                    println!(
                        "run      {known} files have checkpoints: a run reads only what is new"
                    );
                }
            }
            Err(e) => problem(format!("mail_log {}: {e}", live.display())),
        },
        MailLog::Journal => {
            let j = &config.journal;
            let found = std::process::Command::new(&j.journalctl)
                .arg("--version")
                .output()
                .is_ok();
            if found {
                println!(
                    "ok       mail_log is the journal ({})",
                    j.journalctl.display()
                );
            } else {
                problem(format!(
                    "mail_log is the journal but {} is not found",
                    j.journalctl.display()
                ));
            }
        }
    }
    if config.dns.enabled {
        let servers = if config.dns.nameservers.is_empty() {
            "the system's resolvers".to_owned()
        } else {
            format!("{:?}", config.dns.nameservers)
        };
        println!(
            "ok       reverse DNS on: {servers}, {} ms timeout, {} at once, cache {}",
            config.dns.timeout_ms,
            config.dns.concurrency,
            if config.dns_cache.enabled {
                "on"
            } else {
                "off"
            }
        );
    } else {
        println!("note     reverse DNS off");
    }
    let (geo, warnings) = Geo::load(&config.country_db, &config.asn_db);
    for w in warnings {
        problem(w);
    }
    if !geo.is_empty() {
        println!("ok       geo databases load");
    }
    match (&config.report.email, &config.report.transport) {
        (None, _) => {
            println!("note     no [report] email: reports are saved in working_dir/reports only")
        }
        (Some(to), ReportTransport::Sendmail(p)) => {
            if access(p, libc::X_OK) {
                println!("ok       reports to {to} through {}", p.display());
            } else {
                problem(format!(
                    "reports to {to}: {} is not an executable sendmail",
                    p.display()
                ));
            }
        }
        (Some(to), ReportTransport::Smtp { host, port, .. }) => {
            println!("ok       reports to {to} through SMTP {host}:{port}");
        }
    }
    Ok(if problems == 0 {
        println!("all good");
        ExitCode::SUCCESS
    } else {
        println!("{problems} problem(s)");
        ExitCode::from(1)
    })
}

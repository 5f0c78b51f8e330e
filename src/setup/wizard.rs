//! The interactive wizard: the old wizard's questions, defaults shown, each answer checked on
//! the spot (a wrong one is asked again with the reason; a mail log that does not exist is
//! refused, a missing geo database can be fetched by `update-geo` at the end), then a summary
//! to confirm before anything is written. Answers are kept in the setup log.

use std::path::{Path, PathBuf};

use dialoguer::{Confirm, Input};

use super::Transcript;
use super::answers::{self, Answers};
use crate::config::DnsCache;

/// What the wizard decided besides the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    /// Install the units to `/etc/systemd/system`.
    pub install_units: bool,
    /// Run `update-geo` once the config is written (a geo database is missing).
    pub fetch_geo: bool,
}

fn ask<T>(
    log: &mut Transcript,
    prompt: &str,
    default: String,
    check: impl Fn(&str) -> Result<T, String>,
) -> std::io::Result<T> {
    let text: String = Input::new()
        .with_prompt(prompt)
        .default(default)
        .validate_with(|v: &String| check(v).map(|_| ()))
        .interact_text()
        .map_err(std::io::Error::other)?;
    log.record(&format!("{prompt}: {text}"));
    Ok(check(&text).expect("validated"))
}

fn confirm(log: &mut Transcript, prompt: &str, default: bool) -> std::io::Result<bool> {
    let yes = Confirm::new()
        .with_prompt(prompt)
        .default(default)
        .interact()
        .map_err(std::io::Error::other)?;
    log.record(&format!("{prompt}: {}", if yes { "yes" } else { "no" }));
    Ok(yes)
}

fn show_path(p: &Option<PathBuf>) -> String {
    p.as_ref().map_or("-".into(), |p| p.display().to_string())
}

/// A mail log that exists as a file, or the journal.
fn check_existing_mail_log(v: &str) -> Result<String, String> {
    let log = answers::check_mail_log(v)?;
    if log == "journal" || Path::new(&log).is_file() {
        Ok(log)
    } else {
        Err(format!(
            "{log} does not exist: give the file Postfix and Dovecot log to (often /var/log/mail.log or /var/log/maillog), or `journal`"
        ))
    }
}

/// A geo database path; when the file is missing, whether `update-geo` should fetch it, or
/// else the question again.
fn ask_geo_db(
    log: &mut Transcript,
    prompt: &str,
    default: &Option<PathBuf>,
    fetch: &mut bool,
) -> std::io::Result<Option<PathBuf>> {
    loop {
        let path = ask(
            log,
            prompt,
            show_path(default),
            answers::check_optional_path,
        )?;
        match &path {
            Some(p) if !p.is_file() => {
                let offer = format!(
                    "{} does not exist: fetch it with `maillogsentinel update-geo` at the end?",
                    p.display()
                );
                if confirm(log, &offer, true)? {
                    *fetch = true;
                    return Ok(path);
                }
            }
            _ => return Ok(path),
        }
    }
}

/// Asks every question, starting from `d`'s values, until the summary is confirmed.
pub fn run(d: &Answers, log: &mut Transcript) -> std::io::Result<(Answers, Choices)> {
    log.say("MailLogSentinel setup: press Enter to keep the [default].");
    let mut start = d.clone();
    loop {
        let (a, fetch_geo) = ask_all(&start, log)?;
        log.say("");
        log.say("The configuration to write:");
        for line in a.summary() {
            log.say(&format!("  {line}"));
        }
        if confirm(log, "Write this configuration?", true)? {
            let install_units = confirm(log, "Install the units to /etc/systemd/system?", false)?;
            return Ok((
                a,
                Choices {
                    install_units,
                    fetch_geo,
                },
            ));
        }
        log.say("Again, with your answers as the defaults.");
        start = a;
    }
}

fn ask_dns_cache(log: &mut Transcript, d: &DnsCache) -> std::io::Result<DnsCache> {
    let enabled = confirm(log, "Cache reverse DNS answers?", d.enabled)?;
    let size = ask(
        log,
        "DNS cache size (entries in memory)",
        d.size.to_string(),
        answers::check_positive,
    )?;
    let ttl_seconds = ask(
        log,
        "DNS cache TTL (seconds)",
        d.ttl_seconds.to_string(),
        answers::check_seconds,
    )?;
    Ok(DnsCache {
        enabled,
        size,
        ttl_seconds,
    })
}

fn ask_all(d: &Answers, log: &mut Transcript) -> std::io::Result<(Answers, bool)> {
    let user = ask(
        log,
        "Operational user (not root)",
        d.user.clone(),
        answers::check_user,
    )?;
    let working_dir = ask(
        log,
        "Working directory (CSV, database, reports)",
        d.working_dir.display().to_string(),
        answers::check_absolute,
    )?;
    let state_dir = ask(
        log,
        "State directory (lock)",
        d.state_dir.display().to_string(),
        answers::check_absolute,
    )?;
    let mail_log = ask(
        log,
        "Mail log (a file, or `journal`)",
        d.mail_log.clone(),
        check_existing_mail_log,
    )?;
    let email = ask(
        log,
        "Report email (empty: no mail)",
        d.email.clone().unwrap_or_default(),
        answers::check_email,
    )?;
    let log_level = ask(
        log,
        "Log level",
        d.log_level.as_str().to_owned(),
        answers::check_log_level,
    )?;
    let dns_cache = ask_dns_cache(log, &d.dns_cache)?;
    let mut fetch = false;
    let country_db_path = ask_geo_db(
        log,
        "Country database path (- for none)",
        &d.country_db_path,
        &mut fetch,
    )?;
    let asn_db_path = ask_geo_db(
        log,
        "ASN database path (- for none)",
        &d.asn_db_path,
        &mut fetch,
    )?;
    let schedule = |log: &mut Transcript, prompt: &str, default: &str| {
        ask(log, prompt, default.to_owned(), answers::check_on_calendar)
    };
    let a = Answers {
        user,
        working_dir,
        state_dir,
        mail_log,
        email,
        log_level,
        dns_cache,
        country_db_path,
        asn_db_path,
        follow: ask(
            log,
            "Extraction mode: timer (a run every schedule) or follow (reads as the log is written; alerts within seconds)",
            if d.follow { "follow" } else { "timer" }.to_owned(),
            answers::check_mode,
        )?,
        extract_schedule: schedule(
            log,
            "Extraction schedule (OnCalendar=)",
            &d.extract_schedule,
        )?,
        report_schedule: schedule(log, "Report schedule (OnCalendar=)", &d.report_schedule)?,
        geo_schedule: schedule(
            log,
            "Geo database update schedule (OnCalendar=)",
            &d.geo_schedule,
        )?,
    };
    Ok((a, fetch))
}

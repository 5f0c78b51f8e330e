//! The interactive wizard: the old wizard's questions, defaults shown, each answer checked on
//! the spot (a wrong one is asked again with the reason). Answers are kept in the setup log.

use std::path::PathBuf;

use dialoguer::{Confirm, Input};

use super::Transcript;
use super::answers::{self, Answers};

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

/// Asks every question, starting from `d`'s values; then whether to install the units.
pub fn run(d: &Answers, log: &mut Transcript) -> std::io::Result<(Answers, bool)> {
    log.say("MailLogSentinel setup: press Enter to keep the [default].");
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
        answers::check_mail_log,
    )?;
    let email = ask(
        log,
        "Report email (empty: no mail)",
        d.email.clone().unwrap_or_default(),
        |v| answers::check_email(v).map(|e| e.unwrap_or_default()),
    )?;
    let log_level = ask(
        log,
        "Log level",
        d.log_level.clone(),
        answers::check_log_level,
    )?;
    let dns_cache_enabled = confirm(log, "Cache reverse DNS answers?", d.dns_cache_enabled)?;
    let dns_cache_size = ask(
        log,
        "DNS cache size (entries in memory)",
        d.dns_cache_size.to_string(),
        |v| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("`{v}`: a number of entries, 1 or more"))
        },
    )?;
    let dns_cache_ttl = ask(
        log,
        "DNS cache TTL (seconds)",
        d.dns_cache_ttl.to_string(),
        |v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{v}`: a number of seconds"))
        },
    )?;
    let country = ask(
        log,
        "Country database path (- for none)",
        show_path(&d.country_db_path),
        |v| answers::check_optional_path(v).map(|p| show_path(&p)),
    )?;
    let asn = ask(
        log,
        "ASN database path (- for none)",
        show_path(&d.asn_db_path),
        |v| answers::check_optional_path(v).map(|p| show_path(&p)),
    )?;
    let extract_schedule = ask(
        log,
        "Extraction schedule (OnCalendar=)",
        d.extract_schedule.clone(),
        answers::check_on_calendar,
    )?;
    let report_schedule = ask(
        log,
        "Report schedule (OnCalendar=)",
        d.report_schedule.clone(),
        answers::check_on_calendar,
    )?;
    let geo_schedule = ask(
        log,
        "Geo database update schedule (OnCalendar=)",
        d.geo_schedule.clone(),
        answers::check_on_calendar,
    )?;
    let install = confirm(log, "Install the units to /etc/systemd/system?", false)?;
    let a = Answers {
        user,
        working_dir: PathBuf::from(working_dir.display().to_string()),
        state_dir,
        mail_log,
        email: Some(email).filter(|e| !e.is_empty()),
        log_level,
        dns_cache_enabled,
        dns_cache_size,
        dns_cache_ttl,
        country_db_path: answers::check_optional_path(&country).expect("validated"),
        asn_db_path: answers::check_optional_path(&asn).expect("validated"),
        extract_schedule,
        report_schedule,
        geo_schedule,
    };
    Ok((a, install))
}

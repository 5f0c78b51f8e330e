//! What setup asks, with the old wizard's defaults, and the checks each answer passes before
//! anything is written: paths absolute, an email address, a user that exists and is not root,
//! and systemd `OnCalendar=` expressions (cron syntax is refused with the equivalent).
//!
//! Not here: asking (`wizard`), writing (`setup`).

use std::path::{Path, PathBuf};

use crate::config::{DnsCache, LogLevel, Paths, values};

/// Every answer of a setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    pub user: String,
    pub working_dir: PathBuf,
    pub state_dir: PathBuf,
    /// A log file, or `journal`.
    pub mail_log: String,
    pub email: Option<String>,
    pub log_level: LogLevel,
    pub dns_cache: DnsCache,
    pub country_db_path: Option<PathBuf>,
    pub asn_db_path: Option<PathBuf>,
    /// Follow mode (`maillogsentinel-follow.service`) instead of the extraction timer.
    pub follow: bool,
    pub extract_schedule: String,
    pub report_schedule: String,
    pub geo_schedule: String,
}

impl Default for Answers {
    /// The config's own defaults, a detected mail log, and the geo databases in the state
    /// directory (where `update-geo` puts them).
    fn default() -> Answers {
        let paths = Paths::default();
        Answers {
            user: "maillogsentinel".into(),
            country_db_path: Some(paths.state_dir.join("country-ipv4-num.csv")),
            asn_db_path: Some(paths.state_dir.join("asn-ipv4-num.csv")),
            working_dir: paths.working_dir,
            state_dir: paths.state_dir,
            mail_log: detect_mail_log(Path::new("/")),
            email: None,
            log_level: LogLevel::default(),
            dns_cache: DnsCache::default(),
            follow: false,
            extract_schedule: "hourly".into(),
            report_schedule: "*-*-* 23:50:00".into(),
            geo_schedule: "weekly".into(),
        }
    }
}

impl Answers {
    /// The answers as a reader checks them before they are written: one `label: value` line
    /// each.
    pub fn summary(&self) -> Vec<String> {
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("none".into(), |p| p.display().to_string())
        };
        let c = &self.dns_cache;
        vec![
            format!("Operational user:     {}", self.user),
            format!("Working directory:    {}", self.working_dir.display()),
            format!("State directory:      {}", self.state_dir.display()),
            format!("Mail log:             {}", self.mail_log),
            format!(
                "Report email:         {}",
                self.email.as_deref().unwrap_or("none (no mail)")
            ),
            format!("Log level:            {}", self.log_level.as_str()),
            if c.enabled {
                format!(
                    "DNS cache:            {} entries for {} s",
                    c.size, c.ttl_seconds
                )
            } else {
                "DNS cache:            off".to_owned()
            },
            format!("Country database:     {}", path(&self.country_db_path)),
            format!("ASN database:         {}", path(&self.asn_db_path)),
            format!(
                "Extraction mode:      {}",
                if self.follow {
                    "follow (reads as the log is written; alerts within seconds)"
                } else {
                    "timer"
                }
            ),
            format!("Extraction schedule:  {}", self.extract_schedule),
            format!("Report schedule:      {}", self.report_schedule),
            format!("Geo update schedule:  {}", self.geo_schedule),
        ]
    }
}

/// `/var/log/mail.log` (Debian), `/var/log/maillog` (RHEL), else the journal; under `root`
/// (for tests).
pub fn detect_mail_log(root: &Path) -> String {
    for candidate in ["var/log/mail.log", "var/log/maillog"] {
        if root.join(candidate).is_file() {
            return format!("/{candidate}");
        }
    }
    "journal".into()
}

pub fn check_absolute(v: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(v.trim());
    if p.is_absolute() && !v.contains(['\n', '\r']) {
        Ok(p)
    } else {
        Err(format!("`{v}` is not an absolute path"))
    }
}

/// An absolute path, or none for an empty answer or `-`.
pub fn check_optional_path(v: &str) -> Result<Option<PathBuf>, String> {
    if v.trim().is_empty() || v.trim() == "-" {
        Ok(None)
    } else {
        check_absolute(v).map(Some)
    }
}

pub fn check_mail_log(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("journal") {
        return Ok("journal".into());
    }
    check_absolute(v).map(|p| p.display().to_string())
}

/// The report address: the config loader's own check, so setup never writes one it refuses.
pub fn check_email(v: &str) -> Result<Option<String>, String> {
    let v = v.trim();
    values::parse_email(v)
        .map_err(|_| format!("`{v}` is not an email address like admin@example.org"))
}

/// The log level: the config loader's own check.
pub fn check_log_level(v: &str) -> Result<LogLevel, String> {
    values::parse_log_level(v.trim())
}

/// A boolean answer, as the config file spells them (`yes`, `no`, `on`, `0`...).
pub fn check_bool(v: &str) -> Result<bool, String> {
    values::parse_bool(v.trim())
}

/// A DNS cache size: the config loader's own check.
pub fn check_positive(v: &str) -> Result<usize, String> {
    values::parse_positive(v.trim())
}

/// A TTL: the config loader's own check.
pub fn check_seconds(v: &str) -> Result<u64, String> {
    values::parse_seconds(v.trim())
}

/// The uid and primary gid of `name`, if the user exists.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    // getpwnam_r underneath: safe from any thread.
    let user = nix::unistd::User::from_name(name).ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

pub fn check_user(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty() || v == "root" || user_ids(v).is_some_and(|(uid, _)| uid == 0) {
        return Err("the operational user must not be root: create one (e.g. `useradd --system --groups adm maillogsentinel`)".into());
    }
    match user_ids(v) {
        Some(_) => Ok(v.to_owned()),
        None => Err(format!(
            "no user `{v}`: create it first (`useradd --system --groups adm {v}`)"
        )),
    }
}

/// `timer` or `follow`: whether follow mode replaces the extraction timer.
pub fn check_mode(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "timer" => Ok(false),
        "follow" => Ok(true),
        other => Err(format!("expected timer or follow, got `{other}`")),
    }
}

/// A systemd calendar expression: the shorthands (`hourly`, `daily`, …) or the
/// `DOW YYYY-MM-DD HH:MM:SS` form. Cron syntax (`*/15 * * * *`) is refused with its systemd
/// equivalent when there is an obvious one.
pub fn check_on_calendar(v: &str) -> Result<String, String> {
    let v = v.trim();
    const SHORTHANDS: &[&str] = &[
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "annually",
        "quarterly",
        "semiannually",
    ];
    if SHORTHANDS.contains(&v.to_ascii_lowercase().as_str()) {
        return Ok(v.to_ascii_lowercase());
    }
    let fields: Vec<&str> = v.split_whitespace().collect();
    let cronish = fields.len() == 5
        && fields
            .iter()
            .all(|f| f.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c)));
    if cronish || v.starts_with('@') {
        let hint = match fields.as_slice() {
            [m, "*", "*", "*", "*"] if m.starts_with("*/") => {
                format!("*:0/{}", &m[2..])
            }
            ["0", "*", "*", "*", "*"] | ["@hourly"] => "hourly".into(),
            [m, h, "*", "*", "*"] if m.parse::<u8>().is_ok() && h.parse::<u8>().is_ok() => {
                format!("*-*-* {h:0>2}:{m:0>2}:00")
            }
            _ => "for example `hourly`, `*:0/15` or `*-*-* 23:50:00`".into(),
        };
        return Err(format!(
            "`{v}` is cron syntax; systemd timers want OnCalendar= syntax: {hint} (see man systemd.time)"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || " *:-/.,~".contains(c);
    if v.is_empty()
        || !v.chars().all(allowed)
        || !v.contains(|c: char| c.is_ascii_digit() || c == '*')
    {
        return Err(format!(
            "`{v}` is not an OnCalendar= expression (e.g. `hourly`, `*:0/15`, `*-*-* 23:50:00`)"
        ));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_is_refused_with_its_systemd_equivalent() {
        let e = check_on_calendar("*/15 * * * *").unwrap_err();
        assert!(e.contains("*:0/15"), "{e}");
        let e = check_on_calendar("50 23 * * *").unwrap_err();
        assert!(e.contains("*-*-* 23:50:00"), "{e}");
        assert!(check_on_calendar("@daily").is_err());
        assert!(
            check_on_calendar("0 * * * *")
                .unwrap_err()
                .contains("hourly")
        );
    }

    #[test]
    fn calendar_expressions_pass() {
        for ok in [
            "hourly",
            "Daily",
            "*:0/15",
            "*-*-* 23:50:00",
            "Mon..Fri 08:00",
            "weekly",
        ] {
            assert!(check_on_calendar(ok).is_ok(), "{ok}");
        }
        for bad in ["", "every hour", "$(reboot)", "hourly\nExecStart=/bin/sh"] {
            assert!(check_on_calendar(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn other_answers() {
        assert!(check_absolute("relative/dir").is_err());
        assert_eq!(check_mail_log("JOURNAL").unwrap(), "journal");
        assert_eq!(check_email("").unwrap(), None);
        assert!(check_email("a b@example.org").is_err());
        assert!(check_email("admin").is_err());
        assert_eq!(
            check_email("root@localhost").unwrap().as_deref(),
            Some("root@localhost")
        );
        assert_eq!(check_log_level("warning").unwrap(), LogLevel::Warning);
        // The same rules as the config loader: `WARN` accepted, `<>;` refused.
        assert_eq!(check_log_level("WARN").unwrap(), LogLevel::Warning);
        assert!(check_email("Admin <a@example.org>").is_err());
        assert!(check_email("a@example.org;b@example.org").is_err());
        assert!(check_user("root").is_err());
        assert!(check_user("no-such-user-mls").is_err());
        assert!(check_user("nobody").is_ok());
    }

    #[test]
    fn mail_log_detection() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(detect_mail_log(dir.path()), "journal");
        std::fs::create_dir_all(dir.path().join("var/log")).unwrap();
        std::fs::write(dir.path().join("var/log/maillog"), "").unwrap();
        assert_eq!(detect_mail_log(dir.path()), "/var/log/maillog");
        std::fs::write(dir.path().join("var/log/mail.log"), "").unwrap();
        assert_eq!(detect_mail_log(dir.path()), "/var/log/mail.log");
    }
}

//! The configuration file (`/etc/maillogsentinel.conf`, or `--config PATH`), compatible with
//! the old tool's: `[paths] working_dir state_dir mail_log`, `[report] email`, `[general]
//! log_level`, `[dns_cache] enabled size ttl_seconds`, `[geolocation] country_db_path`,
//! `[ASN_ASO] asn_db_path`, plus new keys with defaults (see `config/maillogsentinel.conf`).
//!
//! Unknown keys warn; wrong values fail naming file, line, section and key. Relative paths are
//! taken relative to the config file's directory. Not here: acting on the values.

mod ini;

use std::io;
use std::path::{Path, PathBuf};

use ini::{Ini, IniError};

pub use crate::sink::CsvDateFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailLog {
    File(PathBuf),
    /// Read the systemd journal (`mail_log = journal`).
    Journal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCache {
    pub enabled: bool,
    pub size: usize,
    pub ttl_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    pub units: Vec<String>,
    pub identifiers: Vec<String>,
    /// Journal files to read instead of the system journal (`journalctl --directory`).
    pub directory: Option<PathBuf>,
    pub journalctl: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    pub working_dir: PathBuf,
    pub state_dir: PathBuf,
    pub mail_log: MailLog,
    pub backup_dir: PathBuf,
    pub report_email: Option<String>,
    pub log_level: LogLevel,
    pub timezone: Option<String>,
    pub csv_date_format: CsvDateFormat,
    pub jsonl_path: Option<PathBuf>,
    pub dns_cache: DnsCache,
    pub country_db_path: Option<PathBuf>,
    pub asn_db_path: Option<PathBuf>,
    pub journal: JournalConfig,
}

/// A loaded config and the warnings (unknown keys) it gave.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: [{section}] {key}: {message}")]
    Value {
        path: PathBuf,
        line: usize,
        section: String,
        key: String,
        message: String,
    },
}

/// Every section and key this version knows (the old tool's and the new ones).
const KNOWN: &[(&str, &[&str])] = &[
    (
        "paths",
        &[
            "working_dir",
            "state_dir",
            "mail_log",
            "backup_dir",
            "jsonl_export",
        ],
    ),
    ("report", &["email"]),
    ("general", &["log_level", "timezone", "csv_date_format"]),
    ("dns_cache", &["enabled", "size", "ttl_seconds"]),
    ("geolocation", &["country_db_path"]),
    ("ASN_ASO", &["asn_db_path"]),
    (
        "journal",
        &["enabled", "units", "identifiers", "directory", "journalctl"],
    ),
];

struct Reader<'a> {
    ini: &'a Ini,
    path: &'a Path,
    base: PathBuf,
}

impl Reader<'_> {
    fn syntax(&self, e: IniError) -> ConfigError {
        ConfigError::Syntax {
            path: self.path.to_path_buf(),
            line: e.line,
            message: e.message,
        }
    }

    fn value_error(&self, section: &str, key: &str, line: usize, message: String) -> ConfigError {
        ConfigError::Value {
            path: self.path.to_path_buf(),
            line,
            section: section.to_owned(),
            key: key.to_owned(),
            message,
        }
    }

    fn get(&self, section: &str, key: &str) -> Result<Option<(String, usize)>, ConfigError> {
        self.ini.get(section, key).map_err(|e| self.syntax(e))
    }

    /// A typed value: `parse` says why a text is wrong.
    fn typed<T>(
        &self,
        section: &str,
        key: &str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(section, key)? {
            None => Ok(default),
            Some((v, line)) => parse(&v).map_err(|m| self.value_error(section, key, line, m)),
        }
    }

    fn path(&self, section: &str, key: &str) -> Result<Option<PathBuf>, ConfigError> {
        self.typed(section, key, None, |v| {
            if v.is_empty() {
                return Ok(None);
            }
            if v.contains('\n') || v.contains('\0') {
                return Err(format!("expected a path, got `{}`", v.escape_debug()));
            }
            Ok(Some(self.base.join(v)))
        })
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => Err(format!(
            "expected true/false (yes/no, on/off, 1/0), got `{v}`"
        )),
    }
}

fn parse_positive<T: std::str::FromStr + PartialOrd + Default>(v: &str) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err(format!("expected a positive integer, got `{v}`")),
    }
}

fn parse_list(v: &str) -> Vec<String> {
    v.split([',', ' ', '\n', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_email(v: &str) -> Result<Option<String>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    let ok = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !v
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if ok {
        Ok(Some(v.to_owned()))
    } else {
        Err(format!(
            "expected an address like admin@example.org, got `{}`",
            v.escape_debug()
        ))
    }
}

impl Config {
    pub fn default_path() -> &'static Path {
        Path::new("/etc/maillogsentinel.conf")
    }

    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_bytes(&bytes, path)
    }

    pub fn from_str(text: &str, path: &Path) -> Result<Loaded, ConfigError> {
        Config::from_bytes(text.as_bytes(), path)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Loaded, ConfigError> {
        let ini = Ini::parse(bytes).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.line,
            message: e.message,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let r = Reader {
            ini: &ini,
            path,
            base,
        };
        let mut warnings = Vec::new();
        for (section, line, keys) in &ini.sections {
            match KNOWN.iter().find(|(s, _)| s == section) {
                None => warnings.push(format!(
                    "{}:{line}: unknown section [{section}], ignored",
                    path.display()
                )),
                Some((_, known)) => {
                    for (key, e) in keys {
                        if !known.contains(&key.as_str()) {
                            warnings.push(format!(
                                "{}:{}: unknown key `{key}` in [{section}], ignored",
                                path.display(),
                                e.line
                            ));
                        }
                    }
                }
            }
        }
        let working_dir = r
            .path("paths", "working_dir")?
            .unwrap_or_else(|| PathBuf::from("/var/log/maillogsentinel"));
        let state_dir = r
            .path("paths", "state_dir")?
            .unwrap_or_else(|| PathBuf::from("/var/lib/maillogsentinel"));
        let journal_enabled = r.typed("journal", "enabled", false, parse_bool)?;
        let mail_log = match r.get("paths", "mail_log")? {
            Some((v, _))
                if v.eq_ignore_ascii_case("journal") || v.eq_ignore_ascii_case("journald") =>
            {
                MailLog::Journal
            }
            _ if journal_enabled => MailLog::Journal,
            _ => MailLog::File(
                r.path("paths", "mail_log")?
                    .unwrap_or_else(|| PathBuf::from("/var/log/mail.log")),
            ),
        };
        let backup_dir = r
            .path("paths", "backup_dir")?
            .unwrap_or_else(|| working_dir.join("backups"));
        let log_level = r.typed("general", "log_level", LogLevel::Info, |v| {
            Ok(match v.to_ascii_uppercase().as_str() {
                "DEBUG" => LogLevel::Debug,
                "INFO" => LogLevel::Info,
                "WARNING" | "WARN" => LogLevel::Warning,
                "ERROR" => LogLevel::Error,
                "CRITICAL" => LogLevel::Critical,
                _ => {
                    return Err(format!(
                        "expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got `{v}`"
                    ));
                }
            })
        })?;
        let timezone = r.typed("general", "timezone", None, |v| {
            if v.is_empty() {
                return Ok(None);
            }
            jiff::tz::TimeZone::get(v)
                .map(|_| Some(v.to_owned()))
                .map_err(|_| format!("unknown time zone `{v}` (an IANA name such as Europe/Paris)"))
        })?;
        let csv_date_format = r.typed(
            "general",
            "csv_date_format",
            CsvDateFormat::Legacy,
            |v| match v.to_ascii_lowercase().as_str() {
                "legacy" | "" => Ok(CsvDateFormat::Legacy),
                "iso" => Ok(CsvDateFormat::Iso),
                _ => Err(format!(
                    "expected `legacy` (DD/MM/YYYY HH:MM) or `iso`, got `{v}`"
                )),
            },
        )?;
        let dns_cache = DnsCache {
            enabled: r.typed("dns_cache", "enabled", true, parse_bool)?,
            size: r.typed("dns_cache", "size", 128, parse_positive)?,
            ttl_seconds: r.typed("dns_cache", "ttl_seconds", 3600, parse_positive)?,
        };
        let journal = JournalConfig {
            units: r.typed(
                "journal",
                "units",
                parse_list("postfix@-.service postfix.service dovecot.service"),
                |v| Ok(parse_list(v)),
            )?,
            identifiers: r.typed(
                "journal",
                "identifiers",
                parse_list("postfix/smtpd postfix/submission/smtpd postfix/smtps/smtpd dovecot"),
                |v| Ok(parse_list(v)),
            )?,
            directory: r.path("journal", "directory")?,
            journalctl: r.typed("journal", "journalctl", PathBuf::from("journalctl"), |v| {
                Ok(PathBuf::from(v))
            })?,
        };
        let config = Config {
            path: path.to_path_buf(),
            working_dir,
            state_dir,
            mail_log,
            backup_dir,
            report_email: r.typed("report", "email", None, parse_email)?,
            log_level,
            timezone,
            csv_date_format,
            jsonl_path: r.path("paths", "jsonl_export")?,
            dns_cache,
            country_db_path: r.path("geolocation", "country_db_path")?,
            asn_db_path: r.path("ASN_ASO", "asn_db_path")?,
            journal,
        };
        Ok(Loaded { config, warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Loaded, ConfigError> {
        Config::from_str(text, Path::new("/etc/maillogsentinel.conf"))
    }

    #[test]
    fn the_old_tools_config_loads() {
        let l = load(
            "[paths]\nworking_dir = /var/log/maillogsentinel\nstate_dir = /var/lib/maillogsentinel\nmail_log = /var/log/mail.log\n\n[report]\nemail = security-team@example.org\n\n[general]\nlog_level = INFO\n\n[dns_cache]\nenabled = True\nsize = 128\nttl_seconds = 3600\n\n[geolocation]\ncountry_db_path = /var/lib/maillogsentinel/country_aside.csv\n\n[ASN_ASO]\nasn_db_path = /var/lib/maillogsentinel/asn.csv\n",
        )
        .unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let c = l.config;
        assert_eq!(c.working_dir, Path::new("/var/log/maillogsentinel"));
        assert_eq!(c.state_dir, Path::new("/var/lib/maillogsentinel"));
        assert_eq!(c.mail_log, MailLog::File("/var/log/mail.log".into()));
        assert_eq!(c.report_email.as_deref(), Some("security-team@example.org"));
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(
            c.dns_cache,
            DnsCache {
                enabled: true,
                size: 128,
                ttl_seconds: 3600
            }
        );
        assert_eq!(
            c.country_db_path.as_deref(),
            Some(Path::new("/var/lib/maillogsentinel/country_aside.csv"))
        );
        assert_eq!(
            c.asn_db_path.as_deref(),
            Some(Path::new("/var/lib/maillogsentinel/asn.csv"))
        );
        assert_eq!(c.backup_dir, Path::new("/var/log/maillogsentinel/backups"));
        assert_eq!(c.csv_date_format, CsvDateFormat::Legacy);
    }

    #[test]
    fn defaults_when_sections_are_missing() {
        let c = load("").unwrap().config;
        assert_eq!(c.mail_log, MailLog::File("/var/log/mail.log".into()));
        assert_eq!(c.log_level, LogLevel::Info);
        assert!(c.dns_cache.enabled);
        assert_eq!(c.report_email, None);
        assert!(c.journal.identifiers.contains(&"dovecot".to_owned()));
    }

    #[test]
    fn wrong_values_name_file_line_section_and_key() {
        for (text, expected) in [
            (
                "[dns_cache]\nsize = abc\n",
                "/etc/maillogsentinel.conf:2: [dns_cache] size: expected a positive integer, got `abc`",
            ),
            (
                "[dns_cache]\n\nttl_seconds = -5\n",
                "/etc/maillogsentinel.conf:3: [dns_cache] ttl_seconds: expected a positive integer, got `-5`",
            ),
            (
                "[dns_cache]\nenabled = maybe\n",
                "/etc/maillogsentinel.conf:2: [dns_cache] enabled: expected true/false (yes/no, on/off, 1/0), got `maybe`",
            ),
            (
                "[general]\nlog_level = LOUD\n",
                "/etc/maillogsentinel.conf:2: [general] log_level: expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got `LOUD`",
            ),
            (
                "[report]\nemail = not an address\n",
                "/etc/maillogsentinel.conf:2: [report] email: expected an address like admin@example.org, got `not an address`",
            ),
            (
                "[general]\ntimezone = Mars/Olympus\n",
                "/etc/maillogsentinel.conf:2: [general] timezone: unknown time zone `Mars/Olympus` (an IANA name such as Europe/Paris)",
            ),
            (
                "[general]\ncsv_date_format = us\n",
                "/etc/maillogsentinel.conf:2: [general] csv_date_format: expected `legacy` (DD/MM/YYYY HH:MM) or `iso`, got `us`",
            ),
            (
                "[paths]\nworking_dir = %(x)s\n",
                "/etc/maillogsentinel.conf:2: `%(x)s` refers to no option of [paths] or [DEFAULT]",
            ),
            (
                "[paths\n",
                "/etc/maillogsentinel.conf:1: section header without `]`: [paths",
            ),
        ] {
            assert_eq!(load(text).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn unknown_keys_and_sections_warn() {
        let l = load("[paths]\nworking_dir = /w\nfoo = 1\n[extra]\nx = 1\n").unwrap();
        assert_eq!(
            l.warnings,
            [
                "/etc/maillogsentinel.conf:3: unknown key `foo` in [paths], ignored",
                "/etc/maillogsentinel.conf:4: unknown section [extra], ignored"
            ]
        );
    }

    #[test]
    fn the_example_config_loads_without_warnings() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/maillogsentinel.conf"
        ));
        let l = Config::load(path).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        assert_eq!(l.config.mail_log, MailLog::File("/var/log/mail.log".into()));
        assert_eq!(
            l.config.report_email.as_deref(),
            Some("security-team@example.org")
        );
    }

    #[test]
    fn journal_and_relative_paths() {
        let l = Config::from_str(
            "[paths]\nworking_dir = ../out\nmail_log = journal\n[journal]\ndirectory = j\nidentifiers = postfix/smtpd, dovecot\n",
            Path::new("/srv/conf/mls.conf"),
        )
        .unwrap();
        assert_eq!(l.config.mail_log, MailLog::Journal);
        assert_eq!(l.config.working_dir, Path::new("/srv/conf/../out"));
        assert_eq!(
            l.config.journal.directory.as_deref(),
            Some(Path::new("/srv/conf/j"))
        );
        assert_eq!(l.config.journal.identifiers, ["postfix/smtpd", "dovecot"]);
        let l = load("[journal]\nenabled = yes\n").unwrap();
        assert_eq!(l.config.mail_log, MailLog::Journal);
    }
}

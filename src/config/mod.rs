//! The configuration file (`/etc/maillogsentinel.conf`, or `--config PATH`) as a typed
//! [`Config`]: one struct per `[section]`, each with its defaults in its `Default` impl and
//! its keys beside the code that reads them (the [`Section`] trait). The old Python tool's file
//! loads as it is: its sections `[paths] [report] [general] [dns_cache] [geolocation]
//! [ASN_ASO]`, read with `configparser` semantics (`ini`), plus new keys and sections;
//! `config/maillogsentinel.conf` documents every key.
//!
//! Unknown sections and keys give warnings and are ignored; keys of the old tool (and of its
//! setup script) that this version does not use yet are accepted silently. A wrong value fails
//! with file, line, section and key. Relative paths are taken relative to the directory of the
//! config file, so every path in a [`Config`] is absolute; `~` is refused (not expanded).
//!
//! Adding a section is one struct with `Default` and `Section`, one field of [`Config`] and
//! one line of [`SECTIONS`]. Not here: acting on the values (creating directories, opening
//! files), command-line options, the validators of value types (`values`).

mod ini;
mod realtime;
pub(crate) mod values;

pub use realtime::{
    AlertsConfig, BlocklistConfig, BlocklistFormat, MetricsConfig, PolicyConfig, WebhookFormat,
};

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ini::{Ini, ParseError};
use jiff::tz::TimeZone;
use values::{
    check_single_path, parse_bool, parse_choice, parse_csv_date_format, parse_email, parse_list,
    parse_log_level, parse_nameservers, parse_one_line, parse_port, parse_positive, parse_seconds,
    parse_timezone, parse_url,
};

pub use crate::sink::CsvDateFormat;

/// `[general] log_level`, as Python's `logging` names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    /// The name the config file spells it with (what setup writes).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }
}

/// `[paths] mail_log`: where the mail log comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailLog {
    /// The live log file; its rotated siblings are read too.
    File(PathBuf),
    /// The systemd journal (`mail_log = journal`, or `[journal] enabled = yes`).
    Journal,
}

/// `[paths]`: where things are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `working_dir`: database, CSV, own log.
    pub working_dir: PathBuf,
    /// `state_dir`: the run lock, markers.
    pub state_dir: PathBuf,
    /// `mail_log`.
    pub mail_log: MailLog,
    /// `backup_dir`: where `--reset`/`--purge` archive files. Default `<working_dir>/backups`.
    pub backup_dir: PathBuf,
    /// `jsonl_export`: JSON Lines export of every event. Default none.
    pub jsonl_path: Option<PathBuf>,
}

impl Paths {
    fn backups_in(working_dir: &Path) -> PathBuf {
        working_dir.join("backups")
    }
}

impl Default for Paths {
    fn default() -> Paths {
        let working_dir = PathBuf::from("/var/log/maillogsentinel");
        Paths {
            backup_dir: Paths::backups_in(&working_dir),
            working_dir,
            state_dir: "/var/lib/maillogsentinel".into(),
            mail_log: MailLog::File("/var/log/mail.log".into()),
            jsonl_path: None,
        }
    }
}

/// `[general]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct General {
    /// `log_level`. Default INFO.
    pub log_level: LogLevel,
    /// `timezone`: the zone of offset-less timestamps and of report windows, resolved when
    /// the file is loaded. Default none: the system's zone ([`Config::time_zone`]).
    pub timezone: Option<TimeZone>,
    /// `csv_date_format`. Default `legacy`.
    pub csv_date_format: CsvDateFormat,
}

/// `[report]`: who gets the report and how it is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportConfig {
    /// `email`: the recipient. Default none (no mail).
    pub email: Option<String>,
    /// `from` (or the old `sender_override`). Default: the running user at the FQDN.
    pub from: Option<String>,
    /// `subject_prefix`. Default `[MailLogSentinel]`.
    pub subject_prefix: String,
    pub transport: ReportTransport,
    /// `attach = all`: the whole CSV (the old behaviour) instead of the window's rows.
    pub attach_all: bool,
}

impl Default for ReportConfig {
    fn default() -> ReportConfig {
        ReportConfig {
            email: None,
            from: None,
            subject_prefix: "[MailLogSentinel]".into(),
            transport: ReportTransport::Sendmail(DEFAULT_SENDMAIL.into()),
            attach_all: false,
        }
    }
}

const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportTransport {
    /// `transport = sendmail`, `sendmail_path` (default `/usr/sbin/sendmail`).
    Sendmail(PathBuf),
    /// `transport = smtp`, `smtp_host` (localhost), `smtp_port` (25, or 587 with STARTTLS),
    /// `smtp_starttls`, `smtp_username`, `smtp_password_file` (a file holding the password:
    /// never the password itself in the config).
    Smtp {
        host: String,
        port: u16,
        starttls: bool,
        username: Option<String>,
        password_file: Option<PathBuf>,
    },
}

/// `[dns_cache]`: the reverse DNS cache of the enrichment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCache {
    /// Default on.
    pub enabled: bool,
    /// Entries kept, at least 1. Default 128.
    pub size: usize,
    /// Default 3600.
    pub ttl_seconds: u64,
}

impl Default for DnsCache {
    fn default() -> DnsCache {
        DnsCache {
            enabled: true,
            size: 128,
            ttl_seconds: 3600,
        }
    }
}

/// `[dns]`: how reverse DNS lookups are made (the cache is `[dns_cache]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// Off: no lookups at all (`hostname` and `reverse_dns_status` stay `null`). Default on.
    pub enabled: bool,
    /// Servers to ask (port 53 unless given); empty (default): the system's
    /// (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Time allowed to one lookup, in milliseconds. Default 2000.
    pub timeout_ms: u64,
    /// Lookups in flight at once. Default 64.
    pub concurrency: usize,
    /// Also check that each PTR name resolves back to the address. Default off.
    pub forward_confirm: bool,
}

impl Default for DnsConfig {
    fn default() -> DnsConfig {
        DnsConfig {
            enabled: true,
            nameservers: Vec::new(),
            timeout_ms: 2000,
            concurrency: 64,
            forward_confirm: false,
        }
    }
}

/// `[geolocation]` / `[ASN_ASO]`: one offline database and where `update-geo` fetches it.
/// Every key defaults to none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoDbConfig {
    /// A sapics ip-location-db CSV (numeric or dotted ranges) or a MaxMind-format `.mmdb`.
    pub path: Option<PathBuf>,
    /// The IPv6 twin of a CSV `path`. Default: `path` with `ipv4` replaced by `ipv6`, when
    /// that file exists.
    pub v6_path: Option<PathBuf>,
    /// Download addresses for `update-geo`.
    pub url: Option<String>,
    pub v6_url: Option<String>,
}

/// `[journal]`: how `journalctl` is run when the mail log is the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// `enabled = yes` reads the journal whatever `[paths] mail_log` says. Default off.
    pub enabled: bool,
    /// systemd units (`journalctl -u`), used when `identifiers` is empty.
    pub units: Vec<String>,
    /// Syslog identifiers (`journalctl -t`).
    pub identifiers: Vec<String>,
    /// Journal files to read instead of the system journal (`journalctl --directory`).
    pub directory: Option<PathBuf>,
    /// The `journalctl` binary: a bare name is looked up in `PATH`.
    pub journalctl: PathBuf,
}

impl Default for JournalConfig {
    fn default() -> JournalConfig {
        JournalConfig {
            enabled: false,
            units: parse_list("postfix@-.service postfix.service dovecot.service"),
            identifiers: parse_list(
                "postfix/smtpd postfix/submission/smtpd postfix/smtps/smtpd dovecot",
            ),
            directory: None,
            journalctl: "journalctl".into(),
        }
    }
}

/// `[central] tls`: how the connection to the central PostgreSQL store is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CentralTls {
    /// Plain TCP (a loopback or a trusted network only).
    Disable,
    /// Encrypted, the server's certificate not checked.
    Require,
    /// Encrypted, the certificate checked against `ca_file` and the host name.
    #[default]
    VerifyFull,
}

/// `[central]`: the fleet's central PostgreSQL store, fed by `ship` at the end of each run.
/// Absent (no `url`): the server works alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CentralConfig {
    /// `url = postgresql://USER@HOST:PORT/DB` (no password in it: `password_file`).
    pub url: Option<String>,
    /// A file holding the role's password (what `central add-server` writes).
    pub password_file: Option<PathBuf>,
    /// `server_name`: this server's name in the fleet. Default: the host's FQDN.
    pub server_name: Option<String>,
    /// Default `verify-full`.
    pub tls: CentralTls,
    /// The CA certificate(s), PEM, that `verify-full` checks the server's certificate with.
    pub ca_file: Option<PathBuf>,
    /// `report_url`: a reader role (`central add-reader`) for `report --fleet`.
    pub report_url: Option<String>,
    /// `report_password_file`: that role's password.
    pub report_password_file: Option<PathBuf>,
}

/// The whole configuration, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub paths: Paths,
    pub report: ReportConfig,
    pub general: General,
    pub dns_cache: DnsCache,
    pub dns: DnsConfig,
    /// `[geolocation] country_db_path, country_db_v6_path, country_db_url, country_db_v6_url`.
    pub country_db: GeoDbConfig,
    /// `[ASN_ASO] asn_db_path, asn_db_v6_path, asn_db_url, asn_db_v6_url`.
    pub asn_db: GeoDbConfig,
    pub journal: JournalConfig,
    pub central: CentralConfig,
    pub policy: PolicyConfig,
    pub alerts: AlertsConfig,
    pub blocklist: BlocklistConfig,
    pub metrics: MetricsConfig,
}

/// A loaded config and its warnings (unknown sections and keys), one line each, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read (missing, permissions, a directory...).
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The file is not INI as `configparser` reads it (or breaks its strict mode).
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A key's value is wrong (type, range, bad interpolation, invalid UTF-8).
    #[error("{}:{line}: [{section}] {key}: {message}", path.display())]
    Value {
        path: PathBuf,
        line: usize,
        section: String,
        key: String,
        message: String,
    },
}

/// One `[section]` of the file: its name, the keys this version reads, and how.
trait Section: Sized {
    const NAME: &'static str;
    const KEYS: &'static [&'static str];
    /// The section's values; an absent key takes its default.
    fn read(r: &Reader) -> Result<Self, ConfigError>;
}

impl Section for Paths {
    const NAME: &'static str = "paths";
    const KEYS: &'static [&'static str] = &[
        "working_dir",
        "state_dir",
        "mail_log",
        "backup_dir",
        "jsonl_export",
    ];
    fn read(r: &Reader) -> Result<Paths, ConfigError> {
        let d = Paths::default();
        let working_dir = r.path("working_dir")?.unwrap_or(d.working_dir);
        Ok(Paths {
            state_dir: r.path("state_dir")?.unwrap_or(d.state_dir),
            mail_log: r
                .read("mail_log", |v| {
                    if v.eq_ignore_ascii_case("journal") || v.eq_ignore_ascii_case("journald") {
                        Ok(MailLog::Journal)
                    } else {
                        r.resolve(v).map(MailLog::File)
                    }
                })?
                .unwrap_or(d.mail_log),
            backup_dir: r
                .path("backup_dir")?
                .unwrap_or_else(|| Paths::backups_in(&working_dir)),
            jsonl_path: r.optional_path("jsonl_export")?,
            working_dir,
        })
    }
}

impl Section for ReportConfig {
    const NAME: &'static str = "report";
    const KEYS: &'static [&'static str] = &[
        "email",
        "from",
        "sender_override",
        "subject_prefix",
        "transport",
        "sendmail_path",
        "smtp_host",
        "smtp_port",
        "smtp_starttls",
        "smtp_username",
        "smtp_password_file",
        "attach",
    ];
    fn read(r: &Reader) -> Result<ReportConfig, ConfigError> {
        let d = ReportConfig::default();
        let from = match r.read("from", parse_email)?.flatten() {
            Some(f) => Some(f),
            None => r.read("sender_override", parse_email)?.flatten(),
        };
        let smtp = r.read("transport", |v| parse_choice(v, &["sendmail", "smtp"]))? == Some(1);
        let transport = if smtp {
            let starttls = r.read("smtp_starttls", parse_bool)?.unwrap_or(false);
            let text = |v: &str| Ok(v.to_owned());
            ReportTransport::Smtp {
                host: r
                    .read("smtp_host", text)?
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "localhost".to_owned()),
                port: r
                    .read("smtp_port", parse_port)?
                    .unwrap_or(if starttls { 587 } else { 25 }),
                starttls,
                username: r.read("smtp_username", text)?.filter(|u| !u.is_empty()),
                password_file: r.optional_path("smtp_password_file")?,
            }
        } else {
            ReportTransport::Sendmail(
                r.path("sendmail_path")?
                    .unwrap_or_else(|| DEFAULT_SENDMAIL.into()),
            )
        };
        Ok(ReportConfig {
            email: r.read("email", parse_email)?.flatten(),
            from,
            subject_prefix: r
                .read("subject_prefix", parse_one_line)?
                .unwrap_or(d.subject_prefix),
            transport,
            attach_all: r
                .read("attach", |v| parse_choice(v, &["window", "all"]))?
                .map_or(d.attach_all, |i| i == 1),
        })
    }
}

impl Section for General {
    const NAME: &'static str = "general";
    const KEYS: &'static [&'static str] = &["log_level", "timezone", "csv_date_format"];
    fn read(r: &Reader) -> Result<General, ConfigError> {
        let d = General::default();
        Ok(General {
            log_level: r.read("log_level", parse_log_level)?.unwrap_or(d.log_level),
            timezone: r.read("timezone", parse_timezone)?.flatten(),
            csv_date_format: r
                .read("csv_date_format", parse_csv_date_format)?
                .unwrap_or(d.csv_date_format),
        })
    }
}

impl Section for DnsCache {
    const NAME: &'static str = "dns_cache";
    const KEYS: &'static [&'static str] = &["enabled", "size", "ttl_seconds"];
    fn read(r: &Reader) -> Result<DnsCache, ConfigError> {
        let d = DnsCache::default();
        Ok(DnsCache {
            enabled: r.read("enabled", parse_bool)?.unwrap_or(d.enabled),
            size: r.read("size", parse_positive)?.unwrap_or(d.size),
            ttl_seconds: r
                .read("ttl_seconds", parse_seconds)?
                .unwrap_or(d.ttl_seconds),
        })
    }
}

impl Section for DnsConfig {
    const NAME: &'static str = "dns";
    const KEYS: &'static [&'static str] = &[
        "enabled",
        "nameservers",
        "timeout_ms",
        "concurrency",
        "forward_confirm",
    ];
    fn read(r: &Reader) -> Result<DnsConfig, ConfigError> {
        let d = DnsConfig::default();
        Ok(DnsConfig {
            enabled: r.read("enabled", parse_bool)?.unwrap_or(d.enabled),
            nameservers: r
                .read("nameservers", parse_nameservers)?
                .unwrap_or(d.nameservers),
            timeout_ms: r
                .read("timeout_ms", parse_positive)?
                .map_or(d.timeout_ms, |n| n as u64),
            concurrency: r
                .read("concurrency", parse_positive)?
                .unwrap_or(d.concurrency),
            forward_confirm: r
                .read("forward_confirm", parse_bool)?
                .unwrap_or(d.forward_confirm),
        })
    }
}

impl GeoDbConfig {
    /// The database keys of `r`'s section, all named `{prefix}_{key}`.
    fn read_prefixed(r: &Reader, prefix: &str) -> Result<GeoDbConfig, ConfigError> {
        let key = |k: &str| format!("{prefix}_{k}");
        Ok(GeoDbConfig {
            path: r.optional_path(&key("path"))?,
            v6_path: r.optional_path(&key("v6_path"))?,
            url: r.read(&key("url"), parse_url)?.flatten(),
            v6_url: r.read(&key("v6_url"), parse_url)?.flatten(),
        })
    }
}

/// `[geolocation]`: the country database.
struct CountryDb(GeoDbConfig);

impl Section for CountryDb {
    const NAME: &'static str = "geolocation";
    const KEYS: &'static [&'static str] = &[
        "country_db_path",
        "country_db_v6_path",
        "country_db_url",
        "country_db_v6_url",
    ];
    fn read(r: &Reader) -> Result<CountryDb, ConfigError> {
        GeoDbConfig::read_prefixed(r, "country_db").map(CountryDb)
    }
}

/// `[ASN_ASO]`: the AS number and organisation database.
struct AsnDb(GeoDbConfig);

impl Section for AsnDb {
    const NAME: &'static str = "ASN_ASO";
    const KEYS: &'static [&'static str] = &[
        "asn_db_path",
        "asn_db_v6_path",
        "asn_db_url",
        "asn_db_v6_url",
    ];
    fn read(r: &Reader) -> Result<AsnDb, ConfigError> {
        GeoDbConfig::read_prefixed(r, "asn_db").map(AsnDb)
    }
}

impl Section for JournalConfig {
    const NAME: &'static str = "journal";
    const KEYS: &'static [&'static str] =
        &["enabled", "units", "identifiers", "directory", "journalctl"];
    fn read(r: &Reader) -> Result<JournalConfig, ConfigError> {
        let d = JournalConfig::default();
        let list = |v: &str| Ok(parse_list(v));
        Ok(JournalConfig {
            enabled: r.read("enabled", parse_bool)?.unwrap_or(d.enabled),
            units: r.read("units", list)?.unwrap_or(d.units),
            identifiers: r.read("identifiers", list)?.unwrap_or(d.identifiers),
            directory: r.optional_path("directory")?,
            journalctl: r
                .read("journalctl", |v| {
                    check_single_path(v)?;
                    if v.contains('/') {
                        r.resolve(v)
                    } else {
                        Ok(PathBuf::from(v))
                    }
                })?
                .unwrap_or(d.journalctl),
        })
    }
}

/// A PostgreSQL URL without a password (that lives in `password_file`).
fn parse_postgres_url(v: &str) -> Result<Option<String>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    let rest = v
        .strip_prefix("postgresql://")
        .or_else(|| v.strip_prefix("postgres://"))
        .ok_or_else(|| {
            format!(
                "expected postgresql://USER@HOST:PORT/DB, got `{}`",
                ini::shown(v)
            )
        })?;
    let userinfo = rest.split_once('@').map_or("", |(u, _)| u);
    if userinfo.contains(':') {
        return Err("the password does not go in the URL: put it in password_file".into());
    }
    if v.contains(char::is_whitespace) {
        return Err(format!("a URL has no spaces: `{}`", ini::shown(v)));
    }
    Ok(Some(v.to_owned()))
}

impl Section for CentralConfig {
    const NAME: &'static str = "central";
    const KEYS: &'static [&'static str] = &[
        "url",
        "password_file",
        "server_name",
        "tls",
        "ca_file",
        "report_url",
        "report_password_file",
    ];
    fn read(r: &Reader) -> Result<CentralConfig, ConfigError> {
        let d = CentralConfig::default();
        let tls = r.read("tls", |v| {
            parse_choice(v, &["disable", "require", "verify-full"])
        })?;
        Ok(CentralConfig {
            url: r.read("url", parse_postgres_url)?.flatten(),
            password_file: r.optional_path("password_file")?,
            server_name: r
                .read("server_name", parse_one_line)?
                .filter(|n| !n.is_empty()),
            tls: match tls {
                Some(0) => CentralTls::Disable,
                Some(1) => CentralTls::Require,
                Some(_) => CentralTls::VerifyFull,
                None => d.tls,
            },
            ca_file: r.optional_path("ca_file")?,
            report_url: r.read("report_url", parse_postgres_url)?.flatten(),
            report_password_file: r.optional_path("report_password_file")?,
        })
    }
}

/// The sections and keys this version reads: one line per [`Section`].
const SECTIONS: &[(&str, &[&str])] = &[
    (Paths::NAME, Paths::KEYS),
    (ReportConfig::NAME, ReportConfig::KEYS),
    (General::NAME, General::KEYS),
    (DnsCache::NAME, DnsCache::KEYS),
    (DnsConfig::NAME, DnsConfig::KEYS),
    (CountryDb::NAME, CountryDb::KEYS),
    (AsnDb::NAME, AsnDb::KEYS),
    (JournalConfig::NAME, JournalConfig::KEYS),
    (CentralConfig::NAME, CentralConfig::KEYS),
    (PolicyConfig::NAME, PolicyConfig::KEYS),
    (AlertsConfig::NAME, AlertsConfig::KEYS),
    (BlocklistConfig::NAME, BlocklistConfig::KEYS),
    (MetricsConfig::NAME, MetricsConfig::KEYS),
];

/// Keys of the old tool and of the file its setup script wrote, accepted without a warning and
/// not used (yet).
const LEGACY: &[(&str, &[&str])] = &[
    ("paths", &["csv_filename"]),
    (
        "general",
        &["log_file", "log_file_max_bytes", "log_file_backup_count"],
    ),
    (
        "sqlite_database",
        &["db_type", "db_path", "user", "password_hash", "salt"],
    ),
    ("sql_export_systemd", &["frequency"]),
    ("sql_import_systemd", &["frequency"]),
    ("User", &["run_as_user"]),
    (
        "systemd",
        &[
            "extraction_schedule",
            "report_schedule",
            "ip_update_schedule",
        ],
    ),
];

fn is_known_section(section: &str) -> bool {
    SECTIONS.iter().chain(LEGACY).any(|(s, _)| *s == section)
}

fn is_known_key(section: &str, key: &str) -> bool {
    SECTIONS
        .iter()
        .chain(LEGACY)
        .any(|(s, keys)| *s == section && keys.contains(&key))
}

/// The warnings of `ini`'s unknown sections and keys, in file order.
fn warnings(ini: &Ini, path: &Path) -> Vec<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for section in &ini.sections {
        let name = &section.name;
        if !is_known_section(name) {
            let hint = SECTIONS
                .iter()
                .chain(LEGACY)
                .find(|(s, _)| s.eq_ignore_ascii_case(name.trim()))
                .map(|(s, _)| format!(" (did you mean [{s}]? section names are case-sensitive)"))
                .unwrap_or_default();
            found.push((
                section.line,
                format!(
                    "{}:{}: unknown section [{name}], ignored{hint}",
                    path.display(),
                    section.line
                ),
            ));
            continue;
        }
        for (key, entry) in &section.options {
            if !is_known_key(name, key) {
                found.push((
                    entry.line,
                    format!(
                        "{}:{}: unknown key `{key}` in [{name}], ignored",
                        path.display(),
                        entry.line
                    ),
                ));
            }
        }
    }
    found.sort_by_key(|(line, _)| *line);
    found.into_iter().map(|(_, w)| w).collect()
}

/// Reads typed values of one section out of a parsed file, naming file, line, section and
/// key on error.
struct Reader<'a> {
    ini: &'a Ini,
    path: &'a Path,
    section: &'static str,
    keys: &'static [&'static str],
}

impl Reader<'_> {
    /// The interpolated value of a key this version reads.
    fn get(&self, key: &str) -> Result<Option<ini::Value>, ConfigError> {
        debug_assert!(
            self.keys.contains(&key),
            "[{}] {key} is read but not in its KEYS",
            self.section
        );
        self.ini
            .get(self.section, key)
            .map_err(|e| self.error(key, e.line, e.message))
    }

    fn error(&self, key: &str, line: usize, message: String) -> ConfigError {
        ConfigError::Value {
            path: self.path.to_path_buf(),
            line,
            section: self.section.to_owned(),
            key: key.to_owned(),
            message,
        }
    }

    /// The value of `key` through `parse`, `None` when absent.
    fn read<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => parse(&v.text)
                .map(Some)
                .map_err(|m| self.error(key, v.line, m)),
        }
    }

    /// A path (an empty value is an error), relative ones from the config file's directory.
    fn path(&self, key: &str) -> Result<Option<PathBuf>, ConfigError> {
        self.read(key, |v| self.resolve(v))
    }

    /// An optional path: empty means none.
    fn optional_path(&self, key: &str) -> Result<Option<PathBuf>, ConfigError> {
        Ok(self
            .read(key, |v| {
                if v.is_empty() {
                    Ok(None)
                } else {
                    self.resolve(v).map(Some)
                }
            })?
            .flatten())
    }

    fn resolve(&self, v: &str) -> Result<PathBuf, String> {
        check_single_path(v)?;
        let p = Path::new(v);
        if p.is_absolute() {
            return Ok(p.to_path_buf());
        }
        let dir = self.path.parent().unwrap_or(Path::new(""));
        std::path::absolute(dir.join(p))
            .map_err(|e| format!("cannot make `{}` absolute: {e}", ini::shown(v)))
    }
}

/// Reads section `S` of `ini`.
fn section<S: Section>(ini: &Ini, path: &Path) -> Result<S, ConfigError> {
    S::read(&Reader {
        ini,
        path,
        section: S::NAME,
        keys: S::KEYS,
    })
}

impl Config {
    /// The zone of offset-less timestamps and of report windows: `[general] timezone`, else
    /// the system's.
    pub fn time_zone(&self) -> TimeZone {
        self.general
            .timezone
            .clone()
            .unwrap_or_else(crate::envelope::timestamp::Clock::system_zone)
    }

    /// `/etc/maillogsentinel.conf`, where the old tool's setup put it.
    pub fn default_path() -> &'static Path {
        Path::new("/etc/maillogsentinel.conf")
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_bytes(&bytes, path)
    }

    /// Checks `text` as if read from `path` (which names it in messages and anchors relative
    /// paths).
    pub fn from_str(text: &str, path: &Path) -> Result<Loaded, ConfigError> {
        Config::from_bytes(text.as_bytes(), path)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Loaded, ConfigError> {
        let ini = Ini::parse(bytes).map_err(|e| match e {
            ParseError::Syntax { line, message } => ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                message,
            },
            ParseError::Value {
                line,
                section,
                key,
                message,
            } => ConfigError::Value {
                path: path.to_path_buf(),
                line,
                section,
                key,
                message,
            },
        })?;
        let warnings = warnings(&ini, path);
        let mut paths: Paths = section(&ini, path)?;
        let journal: JournalConfig = section(&ini, path)?;
        if journal.enabled {
            paths.mail_log = MailLog::Journal;
        }
        let config = Config {
            path: path.to_path_buf(),
            paths,
            report: section(&ini, path)?,
            general: section(&ini, path)?,
            dns_cache: section(&ini, path)?,
            dns: section(&ini, path)?,
            country_db: section::<CountryDb>(&ini, path)?.0,
            asn_db: section::<AsnDb>(&ini, path)?.0,
            journal,
            central: section(&ini, path)?,
            policy: section(&ini, path)?,
            alerts: section(&ini, path)?,
            blocklist: section(&ini, path)?,
            metrics: section(&ini, path)?,
        };
        Ok(Loaded { config, warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/etc/maillogsentinel.conf";

    fn load(text: &str) -> Result<Loaded, ConfigError> {
        Config::from_str(text, Path::new(PATH))
    }

    fn config(text: &str) -> Config {
        let loaded = load(text).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        loaded.config
    }

    fn error(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    fn defaults() -> Config {
        Config {
            path: PathBuf::from(PATH),
            paths: Paths {
                working_dir: "/var/log/maillogsentinel".into(),
                state_dir: "/var/lib/maillogsentinel".into(),
                mail_log: MailLog::File("/var/log/mail.log".into()),
                backup_dir: "/var/log/maillogsentinel/backups".into(),
                jsonl_path: None,
            },
            report: ReportConfig {
                email: None,
                from: None,
                subject_prefix: "[MailLogSentinel]".into(),
                transport: ReportTransport::Sendmail("/usr/sbin/sendmail".into()),
                attach_all: false,
            },
            general: General {
                log_level: LogLevel::Info,
                timezone: None,
                csv_date_format: CsvDateFormat::Legacy,
            },
            dns_cache: DnsCache {
                enabled: true,
                size: 128,
                ttl_seconds: 3600,
            },
            dns: DnsConfig {
                enabled: true,
                nameservers: vec![],
                timeout_ms: 2000,
                concurrency: 64,
                forward_confirm: false,
            },
            country_db: GeoDbConfig::default(),
            asn_db: GeoDbConfig::default(),
            journal: JournalConfig {
                enabled: false,
                units: vec![
                    "postfix@-.service".into(),
                    "postfix.service".into(),
                    "dovecot.service".into(),
                ],
                identifiers: vec![
                    "postfix/smtpd".into(),
                    "postfix/submission/smtpd".into(),
                    "postfix/smtps/smtpd".into(),
                    "dovecot".into(),
                ],
                directory: None,
                journalctl: "journalctl".into(),
            },
            central: CentralConfig::default(),
            policy: PolicyConfig::default(),
            alerts: AlertsConfig::default(),
            blocklist: BlocklistConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }

    #[test]
    fn default_path() {
        assert_eq!(Config::default_path(), Path::new(PATH));
    }

    #[test]
    fn defaults_when_sections_are_missing() {
        assert_eq!(config(""), defaults());
        assert_eq!(config("# only comments\n\n"), defaults());
        // Sections present but empty, or only with the old tool's unused keys.
        assert_eq!(
            config(
                "[paths]\ncsv_filename = x.csv\n[report]\n[general]\n[dns_cache]\n[geolocation]\n[ASN_ASO]\n[journal]\n"
            ),
            defaults()
        );
    }

    #[test]
    fn every_key_set() {
        let c = config(
            "[paths]\nworking_dir = /w\nstate_dir = /s\nmail_log = /logs/mail.log\nbackup_dir = /b\njsonl_export = /w/events.jsonl\n\
             [report]\nemail = soc@example.org\nfrom = mls@example.org\nsubject_prefix = [MLS]\ntransport = smtp\nsmtp_host = smtp.example.org\nsmtp_starttls = yes\nsmtp_username = mls\nsmtp_password_file = /etc/mls.pass\nattach = all\n\
             [general]\nlog_level = debug\ntimezone = Europe/Paris\ncsv_date_format = ISO\n\
             [dns_cache]\nenabled = off\nsize = 1_000\nttl_seconds = 0\n\
             [dns]\nenabled = no\nnameservers = 192.0.2.53, [2001:db8::53]:5353\ntimeout_ms = 500\nconcurrency = 8\nforward_confirm = yes\n\
             [geolocation]\ncountry_db_path = /g/country.csv\ncountry_db_v6_path = /g/country6.csv\ncountry_db_url = https://example.org/c4.csv\ncountry_db_v6_url = http://example.org/c6.csv\n\
             [ASN_ASO]\nasn_db_path = /g/asn.mmdb\n\
             [journal]\nenabled = no\nunits = a.service, b.service\nidentifiers =\ndirectory = /j\njournalctl = /usr/bin/journalctl\n",
        );
        assert_eq!(
            c,
            Config {
                path: PATH.into(),
                paths: Paths {
                    working_dir: "/w".into(),
                    state_dir: "/s".into(),
                    mail_log: MailLog::File("/logs/mail.log".into()),
                    backup_dir: "/b".into(),
                    jsonl_path: Some("/w/events.jsonl".into())
                },
                report: ReportConfig {
                    email: Some("soc@example.org".into()),
                    from: Some("mls@example.org".into()),
                    subject_prefix: "[MLS]".into(),
                    transport: ReportTransport::Smtp {
                        host: "smtp.example.org".into(),
                        port: 587,
                        starttls: true,
                        username: Some("mls".into()),
                        password_file: Some("/etc/mls.pass".into()),
                    },
                    attach_all: true,
                },
                general: General {
                    log_level: LogLevel::Debug,
                    timezone: Some(jiff::tz::TimeZone::get("Europe/Paris").unwrap()),
                    csv_date_format: CsvDateFormat::Iso
                },
                dns_cache: DnsCache {
                    enabled: false,
                    size: 1000,
                    ttl_seconds: 0
                },
                dns: DnsConfig {
                    enabled: false,
                    nameservers: vec![
                        "192.0.2.53:53".parse().unwrap(),
                        "[2001:db8::53]:5353".parse().unwrap()
                    ],
                    timeout_ms: 500,
                    concurrency: 8,
                    forward_confirm: true,
                },
                country_db: GeoDbConfig {
                    path: Some("/g/country.csv".into()),
                    v6_path: Some("/g/country6.csv".into()),
                    url: Some("https://example.org/c4.csv".into()),
                    v6_url: Some("http://example.org/c6.csv".into()),
                },
                asn_db: GeoDbConfig {
                    path: Some("/g/asn.mmdb".into()),
                    ..GeoDbConfig::default()
                },
                journal: JournalConfig {
                    enabled: false,
                    units: vec!["a.service".into(), "b.service".into()],
                    identifiers: vec![],
                    directory: Some("/j".into()),
                    journalctl: "/usr/bin/journalctl".into(),
                },
                central: CentralConfig::default(),
                policy: PolicyConfig::default(),
                alerts: AlertsConfig::default(),
                blocklist: BlocklistConfig::default(),
                metrics: MetricsConfig::default(),
            }
        );
    }

    #[test]
    fn backup_dir_follows_working_dir() {
        let c = config("[paths]\nworking_dir = /srv/mls\n");
        assert_eq!(c.paths.backup_dir, Path::new("/srv/mls/backups"));
    }

    #[test]
    fn wrong_values_name_file_line_section_and_key() {
        for (text, expected) in [
            (
                "[dns_cache]\nsize = abc\n",
                "2: [dns_cache] size: expected a positive integer, got `abc`",
            ),
            (
                "[dns_cache]\nsize = 0\n",
                "2: [dns_cache] size: expected a positive integer, got `0`",
            ),
            (
                "[dns_cache]\nsize = -1\n",
                "2: [dns_cache] size: expected a positive integer, got `-1`",
            ),
            (
                "[dns_cache]\nsize = 1__0\n",
                "2: [dns_cache] size: expected a positive integer, got `1__0`",
            ),
            (
                "[dns_cache]\nsize =\n",
                "2: [dns_cache] size: expected a positive integer, got ``",
            ),
            (
                "[dns_cache]\n\nttl_seconds = -5\n",
                "3: [dns_cache] ttl_seconds: expected a number of seconds (0 or more), got `-5`",
            ),
            (
                "[dns_cache]\nttl_seconds = 1h\n",
                "2: [dns_cache] ttl_seconds: expected a number of seconds (0 or more), got `1h`",
            ),
            (
                "[dns_cache]\nenabled = maybe\n",
                "2: [dns_cache] enabled: expected a boolean (1/yes/true/on or 0/no/false/off), got `maybe`",
            ),
            (
                "[journal]\nenabled = y\n",
                "2: [journal] enabled: expected a boolean (1/yes/true/on or 0/no/false/off), got `y`",
            ),
            (
                "[general]\nlog_level = LOUD\n",
                "2: [general] log_level: expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got `LOUD`",
            ),
            (
                "[report]\nemail = not an address\n",
                "2: [report] email: expected one address like admin@example.org (no spaces), got `not an address`",
            ),
            (
                "[report]\nemail = a@b\n  c@d\n",
                "2: [report] email: expected one address like admin@example.org (no spaces), got `a@b\\nc@d`",
            ),
            (
                "[general]\ntimezone = Mars/Olympus\n",
                "2: [general] timezone: unknown time zone `Mars/Olympus` (expected an IANA name such as Europe/Paris)",
            ),
            (
                "[general]\ncsv_date_format = us\n",
                "2: [general] csv_date_format: expected `legacy` (DD/MM/YYYY HH:MM) or `iso` (RFC 3339), got `us`",
            ),
            (
                "[paths]\nworking_dir =\n",
                "2: [paths] working_dir: expected a path, got an empty value",
            ),
            (
                "[paths]\nstate_dir = ~/state\n",
                "2: [paths] state_dir: `~` is not expanded: write the absolute path instead of `~/state`",
            ),
            (
                "[paths]\nmail_log = /var/log/mail.log\n    /var/log/other.log\n",
                "2: [paths] mail_log: expected one path, got several lines: `/var/log/mail.log\\n/var/log/other.log`",
            ),
            (
                "[paths]\nbackup_dir = /a\0b\n",
                "2: [paths] backup_dir: a path cannot contain a NUL byte: `/a\\0b`",
            ),
            (
                "[journal]\njournalctl =\n",
                "2: [journal] journalctl: expected a path, got an empty value",
            ),
            (
                "[paths]\nworking_dir = %(x)s\n",
                "2: [paths] working_dir: `%(x)s` refers to no option `x` of [paths] or [DEFAULT]",
            ),
            (
                "[DEFAULT]\nbase = /srv\n[paths]\n\nworking_dir = %(base)s/100%\n",
                "5: [paths] working_dir: a lone `%` in `%(base)s/100%`: write `%%` for a literal %, `%(name)s` for another option",
            ),
            (
                "[paths]\nworking_dir = %(state_dir)s/w\nstate_dir = %(working_dir)s/s\n",
                "2: [paths] working_dir: `%(name)s` references nested more than 10 deep (a loop?)",
            ),
        ] {
            assert_eq!(error(text), format!("{PATH}:{expected}"), "{text:?}");
        }
    }

    #[test]
    fn syntax_and_encoding_errors_name_file_and_line() {
        assert_eq!(
            error("[paths\n"),
            format!("{PATH}:1: section header without `]`: `[paths`")
        );
        assert_eq!(
            error("[paths]\nworking_dir = /a\n[dns_cache]\n[paths]\n"),
            format!("{PATH}:4: section [paths] appears twice (first on line 1)")
        );
        assert_eq!(
            error("[paths]\nworking_dir = /a\nWORKING_DIR = /b\n"),
            format!("{PATH}:3: key `working_dir` appears twice in [paths] (first on line 2)")
        );
        assert_eq!(
            error("working_dir = /a\n"),
            format!("{PATH}:1: `working_dir = /a` comes before any [section] header")
        );
        let e = Config::from_bytes(
            b"[report]\n\nemail = caf\xc3@example.org\n",
            Path::new(PATH),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{PATH}:3: [report] email: not valid UTF-8 (byte 0xC3 at column 12): the file must be saved as UTF-8"
            )
        );
        assert!(matches!(e, ConfigError::Value { line: 3, .. }));
    }

    #[test]
    fn booleans_as_configparser_reads_them() {
        for (v, expected) in [
            ("1", true),
            ("yes", true),
            ("True", true),
            ("ON", true),
            ("0", false),
            ("No", false),
            ("FALSE", false),
            ("off", false),
        ] {
            let c = config(&format!("[dns_cache]\nenabled = {v}\n"));
            assert_eq!(c.dns_cache.enabled, expected, "{v}");
        }
        for v in ["", "2", "y", "n", "enabled", "true false"] {
            assert!(parse_bool(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn log_levels_any_case_and_warn() {
        for (v, expected) in [
            ("DEBUG", LogLevel::Debug),
            ("info", LogLevel::Info),
            ("Warning", LogLevel::Warning),
            ("WARN", LogLevel::Warning),
            ("error", LogLevel::Error),
            ("CRITICAL", LogLevel::Critical),
            ("fatal", LogLevel::Critical),
        ] {
            assert_eq!(parse_log_level(v), Ok(expected), "{v}");
        }
        for v in ["", "NOTSET", "10", "INFO DEBUG"] {
            assert!(parse_log_level(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn integers_as_python_int_reads_them() {
        for (v, n) in [
            ("128", 128),
            ("+5", 5),
            ("1_000", 1000),
            ("007", 7),
            ("0", 0),
        ] {
            assert_eq!(values::parse_uint(v), Some(n), "{v}");
        }
        for v in [
            "",
            "-1",
            "_1",
            "1_",
            "1__0",
            "1.5",
            "0x10",
            "1e3",
            "++1",
            "99999999999999999999",
        ] {
            assert_eq!(values::parse_uint(v), None, "{v:?}");
        }
        assert_eq!(parse_positive("1"), Ok(1));
        assert!(parse_positive("0").is_err());
        assert_eq!(parse_seconds("0"), Ok(0));
    }

    #[test]
    fn email_addresses() {
        for v in [
            "root@localhost",
            "security-team@example.org",
            "a.b+tag@sub.example.org",
        ] {
            assert_eq!(parse_email(v), Ok(Some(v.to_owned())), "{v}");
        }
        assert_eq!(parse_email(""), Ok(None));
        for v in [
            "nobody",
            "@example.org",
            "admin@",
            "a@b@c",
            "a b@example.org",
            "a@example.org\r\nBcc: x@y",
            "a@example.org\nb@example.org",
            "Admin <a@example.org>",
            "a@example.org,b@example.org",
            "a@example.org;b@example.org",
            "a\t@example.org",
        ] {
            assert!(parse_email(v).is_err(), "{v:?}");
        }
        assert_eq!(config("[report]\nemail =\n").report.email, None);
    }

    #[test]
    fn timezones() {
        assert_eq!(
            config("[general]\ntimezone = Europe/Paris\n")
                .general
                .timezone
                .and_then(|z| z.iana_name().map(str::to_owned))
                .as_deref(),
            Some("Europe/Paris")
        );
        assert_eq!(
            config("[general]\ntimezone = UTC\n")
                .general
                .timezone
                .and_then(|z| z.iana_name().map(str::to_owned))
                .as_deref(),
            Some("UTC")
        );
        assert_eq!(config("[general]\ntimezone =\n").general.timezone, None);
        assert!(parse_timezone("Europe/Nowhere").is_err());
        assert!(parse_timezone("../../etc/passwd").is_err());
    }

    #[test]
    fn csv_date_formats() {
        assert_eq!(parse_csv_date_format("legacy"), Ok(CsvDateFormat::Legacy));
        assert_eq!(parse_csv_date_format("LEGACY"), Ok(CsvDateFormat::Legacy));
        assert_eq!(parse_csv_date_format("iso"), Ok(CsvDateFormat::Iso));
        assert!(parse_csv_date_format("").is_err());
        assert!(parse_csv_date_format("rfc3339").is_err());
    }

    #[test]
    fn mail_log_journal() {
        for v in ["journal", "Journal", "JOURNALD"] {
            let c = config(&format!("[paths]\nmail_log = {v}\n"));
            assert_eq!(c.paths.mail_log, MailLog::Journal, "{v}");
        }
        // `[journal] enabled = yes` wins over a mail_log path (which must still be valid).
        let c = config("[paths]\nmail_log = /var/log/mail.log\n[journal]\nenabled = yes\n");
        assert_eq!(c.paths.mail_log, MailLog::Journal);
        let c = config("[journal]\nenabled = true\n");
        assert_eq!(c.paths.mail_log, MailLog::Journal);
        assert!(load("[paths]\nmail_log = ~/mail.log\n[journal]\nenabled = yes\n").is_err());
        // `enabled = no` does not undo `mail_log = journal`.
        let c = config("[paths]\nmail_log = journal\n[journal]\nenabled = no\n");
        assert_eq!(c.paths.mail_log, MailLog::Journal);
        let c = config("[paths]\nmail_log = /srv/log/mail.log\n[journal]\nenabled = no\n");
        assert_eq!(c.paths.mail_log, MailLog::File("/srv/log/mail.log".into()));
    }

    #[test]
    fn journal_lists_and_binary() {
        let c = config(
            "[journal]\nunits = a.service,b.service  c.service\nidentifiers =\n    postfix/smtpd,\n    dovecot\njournalctl = journalctl-test\n",
        );
        assert_eq!(c.journal.units, ["a.service", "b.service", "c.service"]);
        assert_eq!(c.journal.identifiers, ["postfix/smtpd", "dovecot"]);
        assert_eq!(c.journal.journalctl, Path::new("journalctl-test"));
        assert_eq!(c.journal.directory, None);
        let c = config("[journal]\nunits =\ndirectory =\n");
        assert!(c.journal.units.is_empty());
        assert_eq!(c.journal.directory, None);
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_files_directory() {
        let l = Config::from_str(
            "[paths]\nworking_dir = ../out\nstate_dir = state\nmail_log = logs/mail.log\n[journal]\ndirectory = ./j\njournalctl = bin/journalctl\n[geolocation]\ncountry_db_path = c.csv\n",
            Path::new("/srv/conf/mls.conf"),
        )
        .unwrap();
        let c = l.config;
        assert_eq!(c.paths.working_dir, Path::new("/srv/conf/../out"));
        assert_eq!(c.paths.state_dir, Path::new("/srv/conf/state"));
        assert_eq!(c.paths.backup_dir, Path::new("/srv/conf/../out/backups"));
        assert_eq!(
            c.paths.mail_log,
            MailLog::File("/srv/conf/logs/mail.log".into())
        );
        assert_eq!(
            c.journal.directory.as_deref(),
            Some(Path::new("/srv/conf/j"))
        );
        assert_eq!(c.journal.journalctl, Path::new("/srv/conf/bin/journalctl"));
        assert_eq!(
            c.country_db.path.as_deref(),
            Some(Path::new("/srv/conf/c.csv"))
        );
        // A config given by a relative path: made absolute from the current directory.
        let c = Config::from_str("[paths]\nworking_dir = w\n", Path::new("mls.conf"))
            .unwrap()
            .config;
        assert!(c.paths.working_dir.is_absolute());
        assert_eq!(
            c.paths.working_dir,
            std::env::current_dir().unwrap().join("w")
        );
        assert_eq!(c.path, Path::new("mls.conf"));
    }

    #[test]
    fn default_section_and_interpolation_feed_typed_values() {
        let c = config(
            "[DEFAULT]\nbase = /srv/mls\n[paths]\nworking_dir = %(base)s/work\nstate_dir = %(working_dir)s/state\njsonl_export = %(working_dir)s/100%%.jsonl\n[dns_cache]\nenabled = yes\n",
        );
        assert_eq!(c.paths.working_dir, Path::new("/srv/mls/work"));
        assert_eq!(c.paths.state_dir, Path::new("/srv/mls/work/state"));
        assert_eq!(
            c.paths.jsonl_path.as_deref(),
            Some(Path::new("/srv/mls/work/100%.jsonl"))
        );
        // DEFAULT keys reach the sections that exist, as in Python: here [dns_cache] but not
        // [journal] (absent), so the journal is not enabled.
        let c = config("[DEFAULT]\nenabled = no\n[dns_cache]\n");
        assert!(!c.dns_cache.enabled);
        assert_eq!(c.paths.mail_log, MailLog::File("/var/log/mail.log".into()));
        let c = config("[DEFAULT]\nenabled = yes\n[journal]\n");
        assert_eq!(c.paths.mail_log, MailLog::Journal);
    }

    #[test]
    fn unknown_sections_and_keys_warn_in_file_order() {
        let l = load(
            "[extra]\nx = 1\n[paths]\nworking_dir = /w\nzzz = 1\naaa = 2\n[Paths]\n[ASN_ASO]\nasn_db_url = https://x\nasn_db_pth = /a\n[DEFAULT]\nanything = 1\n",
        )
        .unwrap();
        assert_eq!(
            l.warnings,
            [
                format!("{PATH}:1: unknown section [extra], ignored"),
                format!("{PATH}:5: unknown key `zzz` in [paths], ignored"),
                format!("{PATH}:6: unknown key `aaa` in [paths], ignored"),
                format!(
                    "{PATH}:7: unknown section [Paths], ignored (did you mean [paths]? section names are case-sensitive)"
                ),
                format!("{PATH}:10: unknown key `asn_db_pth` in [ASN_ASO], ignored"),
            ]
        );
        assert_eq!(l.config.paths.working_dir, Path::new("/w"));
        // A wrong value in an unknown key does not fail.
        assert!(load("[paths]\nsize = abc\nx = 50%\n").is_ok());
    }

    #[test]
    fn the_old_tools_setup_output_loads_without_warnings() {
        // What the old `maillogsentinel_setup.py` wrote (configparser's own output).
        let c = config(
            "# Generated by MailLogSentinel Interactive Setup 2025-06-01T10:00:00\n\
             [paths]\nworking_dir = /var/log/maillogsentinel\nstate_dir = /var/lib/maillogsentinel\nmail_log = /var/log/mail.log\ncsv_filename = maillogsentinel.csv\n\n\
             [report]\nemail = security-team@example.org\nsubject_prefix = [MailLogSentinel]\nsender_override = admin@localhost\n\n\
             [geolocation]\ncountry_db_path = /var/lib/maillogsentinel/country_aside.csv\ncountry_db_url = https://raw.githubusercontent.com/sapics/ip-location-db/main/asn-country/asn-country-ipv4-num.csv\n\n\
             [ASN_ASO]\nasn_db_path = /var/lib/maillogsentinel/asn.csv\nasn_db_url = https://raw.githubusercontent.com/sapics/ip-location-db/refs/heads/main/asn/asn-ipv4-num.csv\n\n\
             [general]\nlog_level = INFO\nlog_file_max_bytes = 1000000\nlog_file_backup_count = 5\n\n\
             [dns_cache]\nenabled = True\nsize = 128\nttl_seconds = 3600\n\n\
             [sqlite_database]\ndb_type = sqlite3\ndb_path = /var/lib/maillogsentinel/maillogsentinel.sqlite\nuser = \npassword_hash = \nsalt = \n\n\
             [sql_export_systemd]\nfrequency = *:0/4\n\n[sql_import_systemd]\nfrequency = *:0/5\n\n\
             [User]\nrun_as_user = mls\n\n\
             [systemd]\nextraction_schedule = hourly\nreport_schedule = *-*-* 23:59:59\nip_update_schedule = daily\n\n",
        );
        assert_eq!(c.report.email.as_deref(), Some("security-team@example.org"));
        assert_eq!(
            c.country_db.path.as_deref(),
            Some(Path::new("/var/lib/maillogsentinel/country_aside.csv"))
        );
    }

    #[test]
    fn tables_are_consistent() {
        for (section, keys) in SECTIONS.iter().chain(LEGACY) {
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), keys.len(), "[{section}] lists a key twice");
            for key in *keys {
                assert_eq!(key.to_lowercase(), *key, "keys are matched lower-cased");
            }
        }
        for (section, keys) in LEGACY {
            for key in *keys {
                let used = SECTIONS
                    .iter()
                    .any(|(s, k)| s == section && k.contains(key));
                assert!(!used, "[{section}] {key} is both used and legacy");
            }
        }
    }

    #[test]
    fn real_time_sections_are_read_and_checked() {
        let c = load(
            "[policy]\ncompromise_lookback = 12h\nbruteforce_threshold = 5\nbruteforce_window = 300\n\
             spraying_addresses = 4\nallow = 192.0.2.0/24, 2001:db8::/32 198.51.100.7\n\
             [alerts]\nwebhook_url = http://127.0.0.1:9/hook\nwebhook_format = ntfy\ncommand = logger -t mls\nhold_off = 30m\n\
             [blocklist]\npath = /w/block.nft\nformat = nftables\nban_time = 1d\nnetwork_threshold = 4\n\
             [metrics]\nlisten = 127.0.0.1:9817\ntextfile = /t/mls.prom\n",
        )
        .unwrap()
        .config;
        assert_eq!(c.policy.compromise_lookback, 43_200);
        assert_eq!(
            (c.policy.bruteforce_threshold, c.policy.bruteforce_window),
            (5, 300)
        );
        assert_eq!(c.policy.slow_bruteforce_threshold, 30);
        assert_eq!(c.policy.allow.len(), 3);
        assert!(c.policy.allows(&"192.0.2.9".parse().unwrap()));
        assert!(!c.policy.allows(&"203.0.113.9".parse().unwrap()));
        assert_eq!(c.alerts.webhook_format, WebhookFormat::Ntfy);
        assert_eq!(c.alerts.hold_off, 1800);
        assert_eq!(c.alerts.command.as_deref(), Some("logger -t mls"));
        assert_eq!(c.blocklist.format, BlocklistFormat::Nftables);
        assert_eq!(
            (c.blocklist.ban_time, c.blocklist.network_threshold),
            (86_400, 4)
        );
        assert_eq!(c.metrics.listen, Some("127.0.0.1:9817".parse().unwrap()));
        assert!(error("[policy]\nallow = 192.0.2.0/40\n").contains("[policy] allow"));
        assert!(error("[alerts]\nwebhook_format = teams\n").contains("json or ntfy or slack"));
        assert!(error("[blocklist]\nban_time = 1w\n").contains("duration"));
        assert!(error("[metrics]\nlisten = 9817\n").contains("127.0.0.1:9817"));
    }

    #[test]
    fn the_example_config_documents_every_key() {
        let text = include_str!("../../config/maillogsentinel.conf");
        // Keys are given or commented out (`# key = ...`) under their section's header.
        let mut section = "";
        let mut seen = Vec::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name;
                continue;
            }
            let line = line.strip_prefix("# ").unwrap_or(line);
            if let Some((key, _)) = line.split_once(" = ") {
                seen.push((section.to_owned(), key.to_owned()));
            }
        }
        for (section, keys) in SECTIONS {
            for key in *keys {
                assert!(
                    seen.contains(&(section.to_string(), key.to_string())),
                    "[{section}] {key} is not in config/maillogsentinel.conf"
                );
            }
        }
        let sections: Vec<_> = text.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(
            sections,
            [
                "[paths]",
                "[report]",
                "[general]",
                "[dns_cache]",
                "[dns]",
                "[geolocation]",
                "[ASN_ASO]",
                "[journal]",
                "[central]",
                "[policy]",
                "[alerts]",
                "[blocklist]",
                "[metrics]"
            ]
        );
    }
}

//! The configuration loader from the outside: files on disk in the old tool's format, the
//! example config, and what a user sees when a file is wrong or unreadable.

use std::fs;
use std::path::{Path, PathBuf};

use maillogsentinel::config::{
    CentralConfig, Config, ConfigError, CsvDateFormat, DnsCache, DnsConfig, General, GeoDbConfig,
    JournalConfig, Loaded, LogLevel, MailLog, Paths, ReportConfig, ReportTransport,
};

/// The old tool's `/etc/maillogsentinel.conf`, as its setup wrote it and users edited it.
const OLD_TOOL_CONFIG: &str = "\
[paths]
working_dir = /var/log/maillogsentinel
state_dir = /var/lib/maillogsentinel
mail_log = /var/log/mail.log

[report]
email = security-team@example.org

[general]
log_level = INFO

[dns_cache]
enabled = True
size = 128
ttl_seconds = 3600

[geolocation]
country_db_path = /var/lib/maillogsentinel/country_aside.csv

[ASN_ASO]
asn_db_path = /var/lib/maillogsentinel/asn.csv
";

fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("maillogsentinel.conf");
    fs::write(&path, bytes).unwrap();
    path
}

fn load_bytes(bytes: &[u8]) -> (tempfile::TempDir, PathBuf, Result<Loaded, ConfigError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), bytes);
    let loaded = Config::load(&path);
    (dir, path, loaded)
}

fn old_tool_config(path: &Path) -> Config {
    Config {
        path: path.to_path_buf(),
        paths: Paths {
            working_dir: "/var/log/maillogsentinel".into(),
            state_dir: "/var/lib/maillogsentinel".into(),
            mail_log: MailLog::File("/var/log/mail.log".into()),
            backup_dir: "/var/log/maillogsentinel/backups".into(),
            jsonl_path: None,
        },
        report: ReportConfig {
            email: Some("security-team@example.org".into()),
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
        country_db: GeoDbConfig {
            path: Some("/var/lib/maillogsentinel/country_aside.csv".into()),
            ..GeoDbConfig::default()
        },
        asn_db: GeoDbConfig {
            path: Some("/var/lib/maillogsentinel/asn.csv".into()),
            ..GeoDbConfig::default()
        },
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
        policy: Default::default(),
        alerts: Default::default(),
        blocklist: Default::default(),
        metrics: Default::default(),
    }
}

#[test]
fn the_old_tools_config_loads_field_by_field() {
    let (_dir, path, loaded) = load_bytes(OLD_TOOL_CONFIG.as_bytes());
    let Loaded { config, warnings } = loaded.unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.path, path);
    assert_eq!(
        config.paths.working_dir,
        Path::new("/var/log/maillogsentinel")
    );
    assert_eq!(
        config.paths.state_dir,
        Path::new("/var/lib/maillogsentinel")
    );
    assert_eq!(
        config.paths.mail_log,
        MailLog::File("/var/log/mail.log".into())
    );
    assert_eq!(
        config.paths.backup_dir,
        Path::new("/var/log/maillogsentinel/backups")
    );
    assert_eq!(
        config.report.email.as_deref(),
        Some("security-team@example.org")
    );
    assert_eq!(config.general.log_level, LogLevel::Info);
    assert_eq!(config.general.timezone, None);
    assert_eq!(config.general.csv_date_format, CsvDateFormat::Legacy);
    assert_eq!(config.paths.jsonl_path, None);
    assert_eq!(
        config.dns_cache,
        DnsCache {
            enabled: true,
            size: 128,
            ttl_seconds: 3600
        }
    );
    assert_eq!(
        config.country_db.path.as_deref(),
        Some(Path::new("/var/lib/maillogsentinel/country_aside.csv"))
    );
    assert_eq!(
        config.asn_db.path.as_deref(),
        Some(Path::new("/var/lib/maillogsentinel/asn.csv"))
    );
    assert_eq!(config.journal, old_tool_config(&path).journal);
    // And nothing else: the whole struct.
    assert_eq!(config, old_tool_config(&path));
}

#[test]
fn the_old_tools_config_with_windows_line_endings_and_a_bom() {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(OLD_TOOL_CONFIG.replace('\n', "\r\n").as_bytes());
    let (_dir, path, loaded) = load_bytes(&bytes);
    let loaded = loaded.unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.config, old_tool_config(&path));
}

#[test]
fn the_old_tools_french_example_with_aligned_values() {
    // Like the old tool's shipped example: French comments, values aligned with spaces, no
    // [general] or [dns_cache].
    let (_dir, path, loaded) = load_bytes(
        "[paths]\n# dossier de travail + logs + CSV\nworking_dir = /var/log/maillogsentinel\n# dossier interne d'état (offset)\nstate_dir   = /var/lib/maillogsentinel\n# fichier principal de log Postfix\nmail_log    = /var/log/mail.log\n\n[report]\n# adresse de réception du rapport quotidien\nemail = security-team@example.org\n\n[geolocation]\ncountry_db_path = /var/lib/maillogsentinel/country_aside.csv\n\n[ASN_ASO]\nasn_db_path = /var/lib/maillogsentinel/asn.csv\n"
            .as_bytes(),
    );
    let loaded = loaded.unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.config, old_tool_config(&path));
}

#[test]
fn the_example_config_loads_without_warnings() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/maillogsentinel.conf"
    ));
    let loaded = Config::load(path).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // Its active keys are the defaults.
    let config = loaded.config;
    assert_eq!(
        config.paths.working_dir,
        Path::new("/var/log/maillogsentinel")
    );
    assert_eq!(
        config.paths.state_dir,
        Path::new("/var/lib/maillogsentinel")
    );
    assert_eq!(
        config.paths.mail_log,
        MailLog::File("/var/log/mail.log".into())
    );
    assert_eq!(config.report.email, None);
    assert_eq!(config.general.log_level, LogLevel::Info);
    assert_eq!(
        config.dns_cache,
        DnsCache {
            enabled: true,
            size: 128,
            ttl_seconds: 3600
        }
    );
    assert_eq!(config.journal, old_tool_config(path).journal);
}

/// The example with every `# key = value` line made active.
fn uncomment_keys(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let key_line = line.strip_prefix("# ").filter(|rest| {
            rest.split_once(" = ")
                .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        });
        out.push_str(key_line.unwrap_or(line));
        out.push('\n');
    }
    out
}

#[test]
fn every_documented_example_value_is_valid() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/maillogsentinel.conf"
    ));
    let text = uncomment_keys(&fs::read_to_string(path).unwrap());
    let config = Config::from_str(&text, path).unwrap().config;
    assert_eq!(
        config.paths.backup_dir,
        Path::new("/var/log/maillogsentinel/backups")
    );
    assert_eq!(
        config.paths.jsonl_path.as_deref(),
        Some(Path::new("/var/log/maillogsentinel/events.jsonl"))
    );
    assert_eq!(
        config.report.email.as_deref(),
        Some("security-team@example.org")
    );
    assert_eq!(
        config.general.timezone.as_ref().and_then(|z| z.iana_name()),
        Some("Europe/Paris")
    );
    assert_eq!(config.general.csv_date_format, CsvDateFormat::Legacy);
    assert!(config.country_db.path.is_some() && config.asn_db.path.is_some());
    assert_eq!(
        config.paths.mail_log,
        MailLog::File("/var/log/mail.log".into())
    );
    assert_eq!(
        config.journal.directory.as_deref(),
        Some(Path::new("/var/log/journal/remote"))
    );
    assert_eq!(config.journal.journalctl, Path::new("/usr/bin/journalctl"));
    assert_eq!(config.journal, {
        let mut j = old_tool_config(path).journal;
        j.directory = Some("/var/log/journal/remote".into());
        j.journalctl = "/usr/bin/journalctl".into();
        j
    });
}

#[test]
fn a_wrong_value_names_the_file_line_section_and_key() {
    let (_dir, path, loaded) = load_bytes(
        OLD_TOOL_CONFIG
            .replace("size = 128", "size = abc")
            .as_bytes(),
    );
    let e = loaded.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:14: [dns_cache] size: expected a positive integer, got `abc`",
            path.display()
        )
    );
    match e {
        ConfigError::Value {
            path: p,
            line,
            section,
            key,
            ..
        } => {
            assert_eq!((p, line, &*section, &*key), (path, 14, "dns_cache", "size"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let (_dir, path, loaded) = load_bytes(
        OLD_TOOL_CONFIG
            .replace("[report]\n", "[report\n")
            .as_bytes(),
    );
    let e = loaded.unwrap_err();
    assert!(matches!(e, ConfigError::Syntax { line: 6, .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}:6: section header without `]`: `[report`",
            path.display()
        )
    );
}

#[test]
fn invalid_utf8_in_a_value_names_the_line_and_key() {
    // A Latin-1 file: `é` is the single byte 0xE9.
    let latin1: Vec<u8> = OLD_TOOL_CONFIG
        .replace("security-team", "s#curit#")
        .bytes()
        .map(|b| if b == b'#' { 0xe9 } else { b })
        .collect();
    let (_dir, path, loaded) = load_bytes(&latin1);
    let e = loaded.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:7: [report] email: not valid UTF-8 (byte 0xE9 at column 10): the file must be saved as UTF-8",
            path.display()
        )
    );
}

#[test]
fn unknown_keys_warn_and_do_not_fail() {
    let text = OLD_TOOL_CONFIG.replace(
        "[report]\n",
        "foo = 1\n[report]\nrecipient = soc@example.org\n",
    ) + "[api]\ntoken = x\n";
    let (_dir, path, loaded) = load_bytes(text.as_bytes());
    let loaded = loaded.unwrap();
    let p = path.display();
    assert_eq!(
        loaded.warnings,
        [
            format!("{p}:6: unknown key `foo` in [paths], ignored"),
            format!("{p}:8: unknown key `recipient` in [report], ignored"),
            format!("{p}:24: unknown section [api], ignored"),
        ]
    );
    assert_eq!(loaded.config, old_tool_config(&path));
}

#[test]
fn journal_instead_of_a_file() {
    let (_dir, _path, loaded) = load_bytes(
        OLD_TOOL_CONFIG
            .replace("mail_log = /var/log/mail.log", "mail_log = journal")
            .as_bytes(),
    );
    assert_eq!(loaded.unwrap().config.paths.mail_log, MailLog::Journal);
    let text = format!(
        "{OLD_TOOL_CONFIG}\n[journal]\nenabled = yes\nidentifiers = postfix/smtpd, dovecot\ndirectory = /srv/journal\n"
    );
    let (_dir, _path, loaded) = load_bytes(text.as_bytes());
    let config = loaded.unwrap().config;
    assert_eq!(config.paths.mail_log, MailLog::Journal);
    assert_eq!(config.journal.identifiers, ["postfix/smtpd", "dovecot"]);
    assert_eq!(
        config.journal.directory.as_deref(),
        Some(Path::new("/srv/journal"))
    );
}

#[test]
fn relative_paths_are_anchored_at_the_config_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        b"[paths]\nworking_dir = out\nstate_dir = ../state\nmail_log = logs/mail.log\n",
    );
    let config = Config::load(&path).unwrap().config;
    assert_eq!(config.paths.working_dir, dir.path().join("out"));
    assert_eq!(config.paths.state_dir, dir.path().join("../state"));
    assert_eq!(config.paths.backup_dir, dir.path().join("out/backups"));
    assert_eq!(
        config.paths.mail_log,
        MailLog::File(dir.path().join("logs/mail.log"))
    );
}

#[test]
fn an_unreadable_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.conf");
    let e = Config::load(&missing).unwrap_err();
    assert!(
        matches!(&e, ConfigError::Read { path, source } if path == &missing && source.kind() == std::io::ErrorKind::NotFound),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())),
        "{e}"
    );
    // A directory.
    let e = Config::load(dir.path()).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
}

#[test]
fn the_bundled_sample_config_loads_with_absolute_paths() {
    // README's quick start runs `--config samples/maillogsentinel.conf`, whose paths are
    // relative to its directory.
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let loaded = Config::load(&samples.join("maillogsentinel.conf")).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let config = loaded.config;
    assert!(config.paths.working_dir.is_absolute() && config.paths.state_dir.is_absolute());
    assert!(config.paths.working_dir.starts_with(&samples));
    assert_eq!(
        config.paths.mail_log,
        MailLog::File(samples.join("mail.log"))
    );
}

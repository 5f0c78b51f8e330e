//! The report job of a working directory: the report of a window built from the store,
//! rendered as text and HTML, saved under `reports/`, written where asked, and mailed with
//! the chart and the window's CSV rows. A scheduled window (`--scheduled`) runs from the end
//! of the last delivered one, which is advanced only once this one is delivered or saved.
//!
//! Not here: the scan before the report (`ingest::job`), choosing a window from the command
//! line, printing.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use log::info;

use super::mail::{self, Delivery, MailError, Parts};
use super::window::{Window, WindowError};
use super::{HostInfo, Report, chart, html, text};
use crate::config::{Config, ReportTransport};
use crate::sink::{CsvEnrichment, legacy_csv_text};
use crate::store::{ReportStore, Store, StoreError};
use crate::workdir::WorkDir;

/// The installed extraction timer, whose schedule the report's header shows.
pub const TIMER: &str = "maillogsentinel-extract.timer";

#[derive(Debug, thiserror::Error)]
pub enum ReportJobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Window(#[from] WindowError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading smtp_password_file {}: {source}", path.display())]
    Password {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// Which window to report.
#[derive(Debug, Clone)]
pub enum WindowChoice {
    Fixed(Window),
    /// From the end of the last scheduled report to `until` (when the scan before started).
    Scheduled {
        until: jiff::Timestamp,
    },
}

/// What to do with the report besides saving it under `reports/`.
#[derive(Debug)]
pub struct Request {
    pub window: WindowChoice,
    /// Also write the standalone HTML here.
    pub html: Option<PathBuf>,
    /// Mail it to `[report] email` (when one is set).
    pub send: bool,
    /// Build it from the fleet's central store instead of the local one.
    pub fleet: Option<Fleet>,
}

/// A report of the fleet's central store: all servers, or one.
pub struct Fleet {
    pub store: Box<dyn ReportStore>,
    /// `report --server NAME`; `None`: every server.
    pub server: Option<String>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fleet({:?})", self.server)
    }
}

/// How the job ended, for the caller to print.
#[derive(Debug)]
pub enum Done {
    /// A scheduled window that would be empty: the last one ends at or after now.
    NothingToReport,
    /// Saved (and mailed, when asked and an address is set).
    Reported { text: String },
    /// Saved, but the delivery failed: the message is kept in `eml`.
    NotDelivered {
        text: String,
        error: MailError,
        eml: PathBuf,
    },
}

/// Builds, saves and (when asked) mails the report of `request.window`.
pub fn run(config: &Config, request: &Request) -> Result<Done, ReportJobError> {
    let dir = WorkDir::of(config);
    let tz = config.time_zone();
    // Read-only: building a report never writes or migrates (the scan before it did). A
    // working directory without a store yet gets an empty one, as a first run would.
    let path = dir.store();
    let store = if path.exists() {
        Store::open_read_only(&path)?
    } else {
        Store::open(&path)?
    };
    let window = match &request.window {
        WindowChoice::Fixed(w) => w.clone(),
        WindowChoice::Scheduled { until } => {
            let until = until.to_zoned(tz.clone());
            let since = match store.scheduled_report_until()? {
                Some(t) => jiff::Timestamp::from_second(t)
                    .map_err(WindowError::from)?
                    .to_zoned(tz.clone()),
                None => until
                    .date()
                    .to_zoned(tz.clone())
                    .map_err(WindowError::from)?,
            };
            if since >= until {
                info!("nothing to report: the last scheduled report ends at {since}");
                return Ok(Done::NothingToReport);
            }
            Window::between(&since, &until)?
        }
    };
    let scheduled_until =
        matches!(request.window, WindowChoice::Scheduled { .. }).then_some(window.until);
    let generated = jiff::Zoned::now().with_time_zone(tz);
    let report = match &request.fleet {
        None => Report::build(&store, window, host_info(), generated, csv_info(&dir.csv()))?,
        Some(fleet) => {
            let host = HostInfo {
                fqdn: fleet
                    .server
                    .clone()
                    .unwrap_or_else(|| "all servers of the fleet".to_owned()),
                ip: None,
                extraction_interval: "per server".to_owned(),
            };
            Report::build(&*fleet.store, window, host, generated, None)?
        }
    };

    let text = text::render(&report);
    let png = chart::render(&report);
    let data_uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    let standalone = html::render(&report, &data_uri);
    let reports = dir.reports();
    std::fs::create_dir_all(&reports).map_err(|source| ReportJobError::Write {
        path: reports.clone(),
        source,
    })?;
    let stem = match &request.fleet {
        None => format!("report-{}", report.window.file_stem()),
        Some(f) => format!(
            "fleet-report-{}{}",
            f.server
                .as_deref()
                .map_or(String::new(), |s| format!("{s}-")),
            report.window.file_stem()
        ),
    };
    write(&reports.join(format!("{stem}.txt")), text.as_bytes())?;
    write(&reports.join(format!("{stem}.html")), standalone.as_bytes())?;
    if let Some(path) = &request.html {
        write(path, standalone.as_bytes())?;
    }
    let Some(to) = config.report.email.clone().filter(|_| request.send) else {
        if request.send {
            info!(
                "report saved in {} (no [report] email in {}: not mailed)",
                reports.display(),
                config.path.display()
            );
        }
        if let Some(until) = scheduled_until {
            Store::open(&path)?.set_scheduled_report_until(until)?;
        }
        return Ok(Done::Reported { text });
    };
    let message = message(config, &report, &to, &text, &png, &dir)?;
    let eml = reports.join(format!("{stem}.eml"));
    write(&eml, &message.formatted())?;
    match mail::deliver(&message, &delivery(config)?) {
        Ok(()) => {
            info!("report for {} mailed to {to}", report.window.label);
            if let Some(until) = scheduled_until {
                Store::open(&path)?.set_scheduled_report_until(until)?;
            }
            Ok(Done::Reported { text })
        }
        Err(error) => Ok(Done::NotDelivered { text, error, eml }),
    }
}

/// The mail: text and HTML with the chart, and the window's rows (or the whole CSV, with
/// `attach = all`) attached.
fn message(
    config: &Config,
    report: &Report,
    to: &str,
    text: &str,
    png: &[u8],
    dir: &WorkDir,
) -> Result<lettre::Message, MailError> {
    let csv = if config.report.attach_all {
        std::fs::read_to_string(dir.csv()).unwrap_or_default()
    } else {
        legacy_csv_text(
            report
                .events
                .iter()
                .map(|e| (&e.event, CsvEnrichment::from(&e.enrichment))),
            config.general.csv_date_format,
        )
    };
    let from = config.report.from.clone().unwrap_or_else(|| {
        let user = std::env::var("USER").unwrap_or_else(|_| "maillogsentinel".into());
        format!("{user}@{}", report.host.fqdn)
    });
    let subject = mail::subject(report, &config.report.subject_prefix);
    mail::build(&Parts {
        from: &from,
        to: &[to.to_owned()],
        subject: &subject,
        text,
        html: &html::render(report, "cid:chart"),
        png,
        csv_name: &format!("maillogsentinel-{}.csv", report.window.file_stem()),
        csv: &csv,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ReportJobError> {
    std::fs::write(path, bytes).map_err(|source| ReportJobError::Write {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn delivery(config: &Config) -> Result<Delivery, ReportJobError> {
    Ok(match &config.report.transport {
        ReportTransport::Sendmail(path) => Delivery::Sendmail(path.clone()),
        ReportTransport::Smtp {
            host,
            port,
            starttls,
            username,
            password_file,
        } => {
            let credentials = match (username, password_file) {
                (Some(u), Some(f)) => {
                    let password =
                        std::fs::read_to_string(f).map_err(|source| ReportJobError::Password {
                            path: f.clone(),
                            source,
                        })?;
                    Some((
                        u.clone(),
                        password.trim_end_matches(['\r', '\n']).to_owned(),
                    ))
                }
                (Some(u), None) => Some((u.clone(), String::new())),
                _ => None,
            };
            Delivery::Smtp {
                host: host.clone(),
                port: *port,
                starttls: *starttls,
                credentials,
            }
        }
    })
}

/// How often the installed extraction timer runs (`OnCalendar=` or `OnUnitActiveSec=`).
fn extraction_interval() -> String {
    for dir in [
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ] {
        if let Ok(text) = std::fs::read_to_string(Path::new(dir).join(TIMER)) {
            let found: Vec<&str> = text
                .lines()
                .filter_map(|l| {
                    let l = l.trim();
                    l.strip_prefix("OnCalendar=")
                        .or_else(|| l.strip_prefix("OnUnitActiveSec="))
                })
                .collect();
            if !found.is_empty() {
                return format!("{} ({TIMER})", found.join(", "));
            }
        }
    }
    format!("unknown ({TIMER} not installed)")
}

/// This host's name: `hostname -f`, else the kernel's, else `localhost`.
pub(crate) fn fqdn() -> String {
    std::process::Command::new("hostname")
        .arg("-f")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// This host's name and main address (the source address the kernel would use to reach a
/// documentation address: nothing is sent).
fn host_info() -> HostInfo {
    let fqdn = fqdn();
    let ip = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .ok()
        .map(|a| a.ip().to_string());
    HostInfo {
        fqdn,
        ip,
        extraction_interval: extraction_interval(),
    }
}

/// Size and lines of the CSV (lines counted by scanning it: the old report showed them).
fn csv_info(path: &Path) -> Option<(String, u64, u64)> {
    let mut f = std::fs::File::open(path).ok()?;
    let size = f.metadata().ok()?.len();
    let mut lines = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => lines += bytecount::count(&buf[..n], b'\n') as u64,
            Err(_) => return None,
        }
    }
    Some((path.display().to_string(), size, lines))
}

//! `maillogsentinel --report` / `report`: an incremental scan first (so the last hour is never
//! missed), then the report of a window (today by default) read from the store; saved under
//! `working_dir/reports/`, printed (`--stdout`), written as HTML (`--html FILE`), or mailed
//! (the default when `[report] email` is set).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use clap::Args;
use log::{info, warn};

use super::run::{CSV_FILE, Common, DB_FILE, Exit, RunArgs, prepare, scan};
use crate::config::{Config, ReportTransport};
use crate::report::mail::{self, Delivery, Parts};
use crate::report::window::{Window, parse_time};
use crate::report::{HostInfo, Report, chart, html, text};
use crate::sink::{CsvEnrichment, legacy_csv_text};
use crate::store::Store;

#[derive(Args, Debug, Default, Clone)]
pub struct ReportArgs {
    /// Print the text report instead of mailing it
    #[arg(long)]
    pub stdout: bool,
    /// Also write the HTML report (chart included) to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Report this local day (YYYY-MM-DD) [default: today]
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["yesterday", "since"])]
    pub date: Option<String>,
    /// Report yesterday (local time)
    #[arg(long, conflicts_with = "since")]
    pub yesterday: bool,
    /// Start of the window: YYYY-MM-DD[ HH:MM], or RFC 3339
    #[arg(long, value_name = "TIME", requires = "until")]
    pub since: Option<String>,
    /// End of the window (excluded)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Report from the end of the last scheduled report to now (what the report timer runs):
    /// consecutive windows with no gap and no overlap, a missed run caught up by the next; the
    /// first one starts at midnight
    #[arg(long, conflicts_with_all = ["date", "yesterday", "since"])]
    pub scheduled: bool,
    /// Report from the store as it is, without scanning the logs first
    #[arg(long)]
    pub no_scan: bool,
    /// Mail the report even with --stdout or --html
    #[arg(long)]
    pub send: bool,
}

impl ReportArgs {
    /// The first report-only option given, by its flag: a run without `--report` refuses it
    /// (it would otherwise do a plain run and report nothing).
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.stdout, "--stdout"),
            (self.html.is_some(), "--html"),
            (self.date.is_some(), "--date"),
            (self.yesterday, "--yesterday"),
            (self.since.is_some(), "--since"),
            (self.until.is_some(), "--until"),
            (self.no_scan, "--no-scan"),
            (self.scheduled, "--scheduled"),
            (self.send, "--send"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }
}

/// The report subcommand's options: the scan's, and the report's.
#[derive(Args, Debug, Clone)]
pub struct ReportCommand {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub const TIMER: &str = "maillogsentinel-extract.timer";

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

/// This host's name (`hostname -f`, else the kernel's) and main address (the source address
/// the kernel would use to reach a documentation address: nothing is sent).
fn host_info() -> HostInfo {
    let fqdn = std::process::Command::new("hostname")
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
        .unwrap_or_else(|| "localhost".to_owned());
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

fn window(args: &ReportArgs, tz: &jiff::tz::TimeZone) -> anyhow::Result<Window> {
    let today = jiff::Zoned::now().with_time_zone(tz.clone()).date();
    Ok(
        match (&args.date, args.yesterday, &args.since, &args.until) {
            (Some(d), ..) => Window::day(
                d.parse()
                    .with_context(|| format!("--date {d}: expected YYYY-MM-DD"))?,
                tz,
            )?,
            (None, true, ..) => Window::day(today.yesterday()?, tz)?,
            (None, false, Some(s), Some(u)) => {
                Window::between(&parse_time(s, tz)?, &parse_time(u, tz)?)?
            }
            _ => Window::day(today, tz)?,
        },
    )
}

fn delivery(config: &Config) -> anyhow::Result<Delivery> {
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
                    let password = std::fs::read_to_string(f)
                        .with_context(|| format!("reading smtp_password_file {}", f.display()))?;
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

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

pub fn run(common: &Common, args: &ReportCommand) -> anyhow::Result<ExitCode> {
    let (config, _lock) = match prepare(common) {
        Ok(p) => p,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let a = &args.report;
    // A scheduled window ends where this scan starts: every line written before is read by it.
    let scan_started = jiff::Timestamp::now();
    if !a.no_scan {
        scan(&config, &args.run)?;
    }
    let tz = config.time_zone();
    let mut store = Store::open(&config.paths.working_dir.join(DB_FILE))?;
    let window = if a.scheduled {
        let until = scan_started.to_zoned(tz.clone());
        let since = match store.scheduled_report_until()? {
            Some(t) => jiff::Timestamp::from_second(t)?.to_zoned(tz.clone()),
            None => until.date().to_zoned(tz.clone())?,
        };
        if since >= until {
            info!("nothing to report: the last scheduled report ends at {since}");
            return Ok(ExitCode::SUCCESS);
        }
        Window::between(&since, &until)?
    } else {
        window(a, &tz)?
    };
    let scheduled_until = a.scheduled.then_some(window.until);
    let csv_path = config.paths.working_dir.join(CSV_FILE);
    let host = host_info();
    let generated = jiff::Zoned::now().with_time_zone(tz.clone());
    let report = Report::build(&store, window, host, generated, csv_info(&csv_path))?;

    let text = text::render(&report);
    let png = chart::render(&report);
    let data_uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    let standalone = html::render(&report, &data_uri);
    let dir = config.paths.working_dir.join("reports");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stem = format!("report-{}", report.window.file_stem());
    write_private(&dir.join(format!("{stem}.txt")), text.as_bytes())?;
    write_private(&dir.join(format!("{stem}.html")), standalone.as_bytes())?;
    if let Some(path) = &a.html {
        write_private(path, standalone.as_bytes())?;
    }
    if a.stdout {
        print!("{text}");
    }

    let send = a.send || (!a.stdout && a.html.is_none());
    let Some(to) = config.report.email.clone().filter(|_| send) else {
        if send {
            info!(
                "report saved in {} (no [report] email in {}: not mailed)",
                dir.display(),
                config.path.display()
            );
        }
        if let Some(until) = scheduled_until {
            store.set_scheduled_report_until(until)?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let csv = if config.report.attach_all {
        std::fs::read_to_string(&csv_path).unwrap_or_default()
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
    let subject = mail::subject(&report, &config.report.subject_prefix);
    let message = mail::build(&Parts {
        from: &from,
        to: std::slice::from_ref(&to),
        subject: &subject,
        text: &text,
        html: &html::render(&report, "cid:chart"),
        png: &png,
        csv_name: &format!("maillogsentinel-{}.csv", report.window.file_stem()),
        csv: &csv,
    })?;
    let eml = dir.join(format!("{stem}.eml"));
    write_private(&eml, &message.formatted())?;
    match mail::deliver(&message, &delivery(&config)?) {
        Ok(()) => {
            info!("report for {} mailed to {to}", report.window.label);
            if let Some(until) = scheduled_until {
                store.set_scheduled_report_until(until)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            warn!("{e}");
            eprintln!(
                "maillogsentinel: {e}; the report is kept in {} ({})",
                dir.display(),
                eml.display()
            );
            Ok(ExitCode::from(1))
        }
    }
}

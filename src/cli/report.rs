//! `maillogsentinel --report` / `report`: an incremental scan first (so the last hour is never
//! missed), then the report of a window (today by default) read from the store; saved under
//! `working_dir/reports/`, printed (`--stdout`), written as HTML (`--html FILE`), or mailed
//! (the default when `[report] email` is set).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use log::warn;

use super::run::{Common, Exit, Holder, RunArgs, prepare};
use crate::central;
use crate::ingest;
use crate::report::job::{self, Done, Request, WindowChoice};
use crate::report::window::{Window, parse_time};

/// The window of a report or an export: a local day, or `--since`/`--until`.
#[derive(Args, Debug, Default, Clone)]
pub struct WindowArgs {
    /// This local day (YYYY-MM-DD) [default: today]
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["yesterday", "since"])]
    pub date: Option<String>,
    /// Yesterday (local time)
    #[arg(long, conflicts_with = "since")]
    pub yesterday: bool,
    /// Start of the window: YYYY-MM-DD[ HH:MM], RFC 3339, or an age (7d, 12h)
    #[arg(long, value_name = "TIME", requires = "until")]
    pub since: Option<String>,
    /// End of the window (excluded)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

impl WindowArgs {
    /// The window asked for (today when none is given).
    pub fn window(&self, tz: &jiff::tz::TimeZone) -> anyhow::Result<Window> {
        let today = jiff::Zoned::now().with_time_zone(tz.clone()).date();
        Ok(
            match (&self.date, self.yesterday, &self.since, &self.until) {
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
}

#[derive(Args, Debug, Default, Clone)]
pub struct ReportArgs {
    /// Print the text report instead of mailing it
    #[arg(long)]
    pub stdout: bool,
    /// Also write the HTML report (chart included) to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub window: WindowArgs,
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
    /// Report the whole fleet from the central store ([central] report_url); no local scan
    #[arg(long, conflicts_with_all = ["scheduled", "server"])]
    pub fleet: bool,
    /// Report one server of the fleet from the central store (failures on any server count
    /// as evidence)
    #[arg(long, value_name = "NAME", conflicts_with = "scheduled")]
    pub server: Option<String>,
}

impl ReportArgs {
    /// The first report-only option given, by its flag: a run without `--report` refuses it
    /// (it would otherwise do a plain run and report nothing).
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.stdout, "--stdout"),
            (self.html.is_some(), "--html"),
            (self.window.date.is_some(), "--date"),
            (self.window.yesterday, "--yesterday"),
            (self.window.since.is_some(), "--since"),
            (self.window.until.is_some(), "--until"),
            (self.no_scan, "--no-scan"),
            (self.scheduled, "--scheduled"),
            (self.send, "--send"),
            (self.fleet, "--fleet"),
            (self.server.is_some(), "--server"),
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

pub fn run(common: &Common, args: &ReportCommand) -> anyhow::Result<ExitCode> {
    let (config, holder) = match prepare(common) {
        Ok(p) => p,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    // With follow mode holding the store, the store is current: no scan.
    let follow = matches!(holder, Holder::Follow(_));
    let a = &args.report;
    // A scheduled window ends where this scan starts: every line written before is read by it.
    let scan_started = jiff::Timestamp::now();
    let fleet = if a.fleet || a.server.is_some() {
        let connect = match fleet_reader(&config, "a fleet report") {
            Ok(c) => c,
            Err(Exit(code)) => return Ok(ExitCode::from(code)),
        };
        Some(job::Fleet {
            store: Box::new(central::CentralReader::new(connect, a.server.clone())?),
            server: a.server.clone(),
        })
    } else {
        None
    };
    if !a.no_scan && !follow && fleet.is_none() {
        ingest::job::run(&config, &args.run.job())?;
    }
    let request = Request {
        window: if a.scheduled {
            WindowChoice::Scheduled {
                until: scan_started,
            }
        } else {
            WindowChoice::Fixed(a.window.window(&config.time_zone())?)
        },
        html: a.html.clone(),
        send: a.send || (!a.stdout && a.html.is_none()),
        fleet,
    };
    let print = |text: &str| {
        if a.stdout {
            print!("{text}");
        }
    };
    match job::run(&config, &request)? {
        Done::NothingToReport => Ok(ExitCode::SUCCESS),
        Done::Reported { text } => {
            print(&text);
            Ok(ExitCode::SUCCESS)
        }
        Done::NotDelivered { text, error, eml } => {
            print(&text);
            warn!("{error}");
            eprintln!(
                "maillogsentinel: {error}; the report is kept in {}",
                eml.display()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// The connection of `what` (a fleet report, a fleet query) to the central store as its
/// reader role, `[central] report_url`; said and refused (78) when that is not set.
pub fn fleet_reader(config: &crate::config::Config, what: &str) -> Result<central::Connect, Exit> {
    let c = &config.central;
    let Some(url) = &c.report_url else {
        eprintln!(
            "maillogsentinel: {what} reads the central store: set [central] report_url (a role of `central add-reader`) in {}",
            config.path.display()
        );
        return Err(Exit(super::exit::CONFIG));
    };
    let (url, password_file, tls, ca_file) = (
        url.clone(),
        c.report_password_file.clone(),
        c.tls,
        c.ca_file.clone(),
    );
    Ok(std::sync::Arc::new(move || {
        central::connect(&url, password_file.as_deref(), tls, ca_file.as_deref())
    }))
}

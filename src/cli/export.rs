//! `maillogsentinel export --abuse-report`: a window's attacking addresses as AbuseIPDB's
//! bulk-report CSV, read from the store as it is (read-only: no lock, no scan).
//!
//! Not here: the rows (`sink::abuse_report`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::report::WindowArgs;
use super::run::{Common, Exit, load_config};
use crate::store::{ReportStore, Store};
use crate::workdir::WorkDir;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The window's attacking addresses as AbuseIPDB's bulk-report CSV (IP, categories,
    /// time, a comment with counts and protocols; no user or host name)
    #[arg(long, required = true)]
    pub abuse_report: bool,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(common: &Common, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let config = match load_config(common) {
        Ok(c) => c,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let w = args.window.window(&config.time_zone())?;
    let db = WorkDir::of(&config).store();
    let mut events = Vec::new();
    if db.exists() {
        Store::open_read_only(&db)?
            .for_each_event_between(w.since, w.until, &mut |e| events.push(e))?;
    }
    let csv = crate::sink::abuse_report(events, &config.policy.allow);
    match &args.output {
        Some(path) => std::fs::write(path, csv)?,
        None => std::io::stdout().write_all(csv.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

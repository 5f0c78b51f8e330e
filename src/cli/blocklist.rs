//! `maillogsentinel blocklist [--format F]`: prints the blocklist as it stands now, from the
//! store's detections (what follow mode and each run write to `[blocklist] path`).
//! Read-only: takes no lock, creates no store.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::run::{Common, Exit, load_config};
use crate::blocklist;
use crate::config::BlocklistFormat;
use crate::store::Store;
use crate::workdir::WorkDir;

#[derive(Args, Debug)]
pub struct BlocklistArgs {
    /// nftables, postfix or plain (default: [blocklist] format, else plain)
    #[arg(long, value_parser = BlocklistFormat::parse)]
    pub format: Option<BlocklistFormat>,
}

pub fn run(common: &Common, args: &BlocklistArgs) -> anyhow::Result<ExitCode> {
    let config = match load_config(common) {
        Ok(c) => c,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let format = args.format.unwrap_or(config.blocklist.format);
    let now = jiff::Timestamp::now().as_second();
    let db = WorkDir::of(&config).store();
    let entries = if db.exists() {
        blocklist::entries(&Store::open_read_only(&db)?, &config, now)?
    } else {
        Vec::new()
    };
    std::io::stdout().write_all(blocklist::render(&entries, format, now).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

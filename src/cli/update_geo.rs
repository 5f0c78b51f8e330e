//! `maillogsentinel update-geo`: downloads the configured geo databases (see
//! `enrich::update`); each file is replaced only by a complete download that loads.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::run::{Common, Exit, load_config, refuse_root};
use crate::enrich::update;

/// Seconds allowed to each download.
const DEFAULT_TIMEOUT: u64 = 300;

#[derive(Args, Debug)]
pub struct UpdateGeoArgs {
    /// Time allowed to each download, in seconds
    #[arg(long, default_value_t = DEFAULT_TIMEOUT, value_name = "SECONDS")]
    pub timeout: u64,
}

impl Default for UpdateGeoArgs {
    fn default() -> UpdateGeoArgs {
        UpdateGeoArgs {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

pub fn run(common: &Common, args: &UpdateGeoArgs) -> anyhow::Result<ExitCode> {
    let config = match load_config(common).and_then(|c| refuse_root(common).map(|()| c)) {
        Ok(c) => c,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let downloads = update::planned(&[&config.country_db, &config.asn_db]);
    if downloads.is_empty() {
        eprintln!(
            "maillogsentinel: nothing to update: set country_db_url ([geolocation]) or asn_db_url ([ASN_ASO]) in {}",
            config.path.display()
        );
        return Ok(ExitCode::from(1));
    }
    let mut failed = 0;
    for d in &downloads {
        match update::fetch(d, Duration::from_secs(args.timeout)) {
            Ok(size) => println!("updated {} ({size} bytes) from {}", d.path.display(), d.url),
            Err(e) => {
                eprintln!("maillogsentinel: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

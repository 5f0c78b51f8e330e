//! `maillogsentinel follow`: the long-running mode. Holds the run lock (marked as follow's, so
//! a timer's default run exits 0 instead of competing), reads the logs as they are written
//! through the default run's passes and checkpoints, and stops cleanly on SIGTERM or SIGINT
//! after its last commit. Under systemd (`Type=notify`) it says when it is ready and feeds
//! the watchdog after every pass.
//!
//! Not here: the passes (`ingest::job::follow`).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;
use log::info;

use super::run::{Common, Exit, RunArgs, prepare_alone, ship_committed};
use crate::config::MailLog;
use crate::ingest::job;

#[derive(Args, Debug, Default)]
pub struct FollowArgs {
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(common: &Common, args: &FollowArgs) -> anyhow::Result<ExitCode> {
    let (config, mut lock) = match prepare_alone(common) {
        Ok(p) => p,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    lock.mark_follow()?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    match &config.paths.mail_log {
        MailLog::File(path) => info!("follow mode: reading {} as it is written", path.display()),
        MailLog::Journal => info!("follow mode: reading the journal as it is written"),
    }
    let mut ready = false;
    // Shipping runs beside the passes: a central store that is slow or down never holds
    // the reading up (one ship at a time; the next record starts the next).
    let mut shipping: Option<std::thread::JoinHandle<()>> = None;
    let alive = || {
        if !ready {
            ready = true;
            notify("READY=1");
        }
        notify("WATCHDOG=1");
    };
    let recorded = || {
        if config.central.url.is_some() && shipping.as_ref().is_none_or(|s| s.is_finished()) {
            let config = config.clone();
            shipping = Some(std::thread::spawn(move || ship_committed(&config)));
        }
    };
    job::follow(&config, &args.run.job(), &stop, alive, recorded)?;
    if let Some(s) = shipping {
        let _ = s.join();
    }
    info!("follow mode: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Tells systemd (`$NOTIFY_SOCKET`, for `Type=notify` and `WatchdogSec=`) how the service
/// is; nothing without it.
fn notify(state: &str) {
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)
        }
        None => SocketAddr::from_pathname(&path),
    };
    let sent = addr.and_then(|addr| UnixDatagram::unbound()?.send_to_addr(state.as_bytes(), &addr));
    if let Err(e) = sent {
        log::warn!("cannot notify systemd ({state}): {e}");
    }
}

//! `maillogsentinel follow`: the long-running mode. Holds the run lock (marked as follow's, so
//! a timer's default run exits 0 instead of competing), reads the logs as they are written
//! through the default run's passes and checkpoints, and stops cleanly on SIGTERM or SIGINT
//! after its last commit. Under systemd (`Type=notify`) it says when it is ready and feeds
//! the watchdog after every pass.
//!
//! Not here: the passes (`ingest::job::follow`).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use log::{error, info};

use super::run::{Common, Exit, RunArgs, prepare_alone, ship_committed};
use crate::alert::deliver;
use crate::config::{Config, MailLog};
use crate::ingest::{RunReport, job};
use crate::metrics::{self, Live};
use crate::realtime::{self, Realtime, RealtimeError};
use crate::store::Store;

/// How often queued alerts are looked at when no detection wakes the delivery thread.
const DELIVERY_TICK: Duration = Duration::from_secs(1);

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
    let dir = crate::workdir::WorkDir::of(&config);
    let live = Arc::new(Mutex::new(Live::default()));
    if let Some(addr) = config.metrics.listen {
        metrics::serve(addr, dir.store(), Arc::clone(&live))
            .with_context(|| format!("cannot serve metrics on {addr} ([metrics] listen)"))?;
        info!("follow mode: metrics at http://{addr}/metrics");
    }
    let mut ready = false;
    // Shipping runs beside the passes: a central store that is slow or down never holds
    // the reading up (one ship at a time; the next record starts the next).
    let mut shipping: Option<std::thread::JoinHandle<()>> = None;
    // So do alert deliveries: a webhook that hangs never holds the reading up.
    let (wake, delivery) = spawn_delivery(&config, &dir.store(), &stop)?;
    let mut realtime: Option<Realtime> = None;
    let mut complaint = Complaint::default();
    let alive = || {
        if !ready {
            ready = true;
            notify("READY=1");
        }
        notify("WATCHDOG=1");
    };
    let after_pass = |store: &mut Store, pending: &RunReport| {
        let now = jiff::Timestamp::now().as_second();
        let done = (|| -> Result<Option<u64>, RealtimeError> {
            let rt = match &mut realtime {
                Some(rt) => rt,
                None => realtime.insert(Realtime::open(store, &config, now)?),
            };
            if rt.detect(store, &config, now)? > 0 {
                let _ = wake.send(());
            }
            rt.refresh_blocklist(store, &config, now)
        })();
        let mut l = live.lock().unwrap_or_else(|p| p.into_inner());
        l.lines = pending.stats.lines;
        l.unmatched = pending.stats.unmatched;
        l.tempfails = pending.stats.ambiguous;
        l.last_commit_unix = Some(now);
        match done {
            Ok(entries) => {
                l.blocklist_entries = entries;
                complaint.clear();
            }
            Err(e) => complaint.say(&e),
        }
    };
    let recorded = |store: &Store| {
        // The pending counts are in the store now.
        let l = {
            let mut l = live.lock().unwrap_or_else(|p| p.into_inner());
            (l.lines, l.unmatched, l.tempfails) = (0, 0, 0);
            *l
        };
        if let Err(e) = realtime::write_metrics_file(store, &config, &l) {
            log::error!("{e}");
        }
        if config.central.url.is_some() && shipping.as_ref().is_none_or(|s| s.is_finished()) {
            let config = config.clone();
            shipping = Some(std::thread::spawn(move || ship_committed(&config)));
        }
    };
    let followed = job::follow(&config, &args.run.job(), &stop, alive, after_pass, recorded);
    stop.store(true, Ordering::SeqCst);
    let _ = delivery.join();
    followed?;
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

/// The delivery thread: sends the alerts due when a detection wakes it, and every
/// [`DELIVERY_TICK`] (retries), on a store connection of its own, until `stop`.
fn spawn_delivery(
    config: &Config,
    store_path: &std::path::Path,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<(Sender<()>, std::thread::JoinHandle<()>)> {
    let (tx, rx): (Sender<()>, Receiver<()>) = std::sync::mpsc::channel();
    let config = config.clone();
    let path = store_path.to_path_buf();
    let stop = Arc::clone(stop);
    let handle = std::thread::Builder::new()
        .name("mls-alerts".into())
        .spawn(move || {
            let mut store: Option<Store> = None;
            let mut complaint = Complaint::default();
            while !stop.load(Ordering::SeqCst) {
                match rx.recv_timeout(DELIVERY_TICK) {
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                let now = jiff::Timestamp::now().as_second();
                let s = match &mut store {
                    Some(s) => s,
                    None => match Store::open(&path) {
                        Ok(s) => store.insert(s),
                        Err(e) => {
                            complaint.say(&e);
                            continue;
                        }
                    },
                };
                match deliver::deliver_due(s, &config, now, 100) {
                    Ok(_) => complaint.clear(),
                    Err(e) => {
                        complaint.say(&e);
                        store = None;
                    }
                }
            }
        })?;
    Ok((tx, handle))
}

/// An error that repeats at every pass is logged when it first appears and when it changes,
/// not at every pass.
#[derive(Default)]
struct Complaint(Option<String>);

impl Complaint {
    fn say(&mut self, e: &dyn std::fmt::Display) {
        let text = e.to_string();
        if self.0.as_deref() != Some(&text) {
            error!("{text}");
            self.0 = Some(text);
        }
    }

    fn clear(&mut self) {
        if self.0.take().is_some() {
            info!("follow mode: the last error is gone");
        }
    }
}

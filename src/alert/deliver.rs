//! Delivery of queued alerts: each (alert, channel) is tried when due, and on failure retried
//! with a backoff (5 s doubling to 10 min) until `[alerts] give_up_after`; every outcome is
//! written back to the queue, so an alert survives a restart and is sent once per channel.
//! Channels: mail (`[report]`'s transport), webhook (`json`, `ntfy`, `slack`), command.
//!
//! Not here: when delivery runs (follow's delivery thread, the end of a default run).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use log::{info, warn};

use super::Alert;
use crate::config::{Config, WebhookFormat};
use crate::store::{QueuedAlert, Store, StoreError};

/// Time allowed to one webhook request or one command.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_RETRY: i64 = 5;
const MAX_RETRY: i64 = 600;

/// The channels `config` sends alerts through, as the queue names them.
pub fn channels(config: &Config) -> Vec<&'static str> {
    let a = &config.alerts;
    [
        (a.email.is_some(), "email"),
        (a.webhook_url.is_some(), "webhook"),
        (a.command.is_some(), "command"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// What one round of deliveries did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u64,
    pub failed: u64,
}

/// Sends what is due at `now` (by the wall clock), at most `limit`.
pub fn deliver_due(
    store: &mut Store,
    config: &Config,
    now: i64,
    limit: usize,
) -> Result<Delivered, StoreError> {
    let mut done = Delivered::default();
    // A channel that failed waits for the next round: a webhook that times out is not tried
    // again for each of a backlog's alerts.
    let mut down: Vec<String> = Vec::new();
    for q in store.due_alerts(now, limit)? {
        if down.contains(&q.channel) {
            continue;
        }
        let outcome = send(config, &q);
        match outcome {
            Ok(()) => {
                done.sent += 1;
                info!("alert {} sent by {}", q.detection, q.channel);
                store.alert_tried(&q, Ok(()))?;
            }
            Err(error) => {
                done.failed += 1;
                down.push(q.channel.clone());
                let age = now - q.time_unix;
                let give_up = age >= crate::policy::secs(config.alerts.give_up_after);
                let next = (!give_up).then(|| now + backoff(q.attempts));
                match next {
                    Some(next) => warn!(
                        "alert {} not sent by {} ({error}): retried in {} s",
                        q.detection,
                        q.channel,
                        next - now
                    ),
                    None => log::error!(
                        "alert {} not sent by {} ({error}): given up after {} attempts (the detection stays in the store and the blocklist)",
                        q.detection,
                        q.channel,
                        q.attempts + 1
                    ),
                }
                store.alert_tried(&q, Err((next, &error)))?;
            }
        }
    }
    Ok(done)
}

/// Seconds before the next try after `attempts` failed ones.
fn backoff(attempts: u32) -> i64 {
    FIRST_RETRY
        .saturating_mul(1 << attempts.min(20))
        .min(MAX_RETRY)
}

fn send(config: &Config, q: &QueuedAlert) -> Result<(), String> {
    let alert: Alert =
        serde_json::from_str(&q.alert).map_err(|e| format!("a damaged alert: {e}"))?;
    let a = &config.alerts;
    match q.channel.as_str() {
        "webhook" => match &a.webhook_url {
            Some(url) => webhook(url, a.webhook_format, &alert, &q.alert),
            None => Err("no [alerts] webhook_url any more".into()),
        },
        "command" => match &a.command {
            Some(cmd) => command(cmd, &q.alert),
            None => Err("no [alerts] command any more".into()),
        },
        "email" => match &a.email {
            Some(to) => mail(config, to, &alert, &q.alert),
            None => Err("no [alerts] email any more".into()),
        },
        other => Err(format!("unknown channel {other}")),
    }
}

fn webhook(url: &str, format: WebhookFormat, alert: &Alert, json: &str) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(SEND_TIMEOUT))
        .http_status_as_error(true)
        .build()
        .into();
    let sent = match format {
        WebhookFormat::Json => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(json),
        WebhookFormat::Slack => {
            let body =
                serde_json::json!({ "text": format!("*{}*: {}", alert.title(), alert.text()) });
            agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(body.to_string())
        }
        WebhookFormat::Ntfy => {
            let (priority, tags) = match alert.kind {
                super::Kind::Compromise => ("urgent", "rotating_light"),
                _ => ("high", "warning"),
            };
            agent
                .post(url)
                .header("Title", &alert.title())
                .header("Priority", priority)
                .header("Tags", tags)
                .send(alert.text())
        }
    };
    sent.map(|_| ()).map_err(|e| format!("{url}: {e}"))
}

/// Runs `cmd` with `sh -c`, the alert's JSON on its standard input.
fn command(cmd: &str, json: &str) -> Result<(), String> {
    let mut child = Command::new("/bin/sh")
        .args(["-c", cmd])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{cmd}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is its business: not an error.
        let _ = stdin
            .write_all(json.as_bytes())
            .and_then(|_| stdin.write_all(b"\n"));
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                let err = crate::sink::printable(err.trim().as_bytes()).into_owned();
                return Err(format!("`{cmd}` exited with {status}: {err}"));
            }
            Ok(None) if started.elapsed() > SEND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{cmd}` did not finish in {} s",
                    SEND_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("`{cmd}`: {e}")),
        }
    }
}

fn mail(config: &Config, to: &str, alert: &Alert, json: &str) -> Result<(), String> {
    use lettre::message::header::ContentType;
    let from = config
        .report
        .from
        .clone()
        .unwrap_or_else(|| format!("maillogsentinel@{}", crate::report::job::fqdn()));
    let mailbox = |s: &str| crate::report::mail::mailbox(s).map_err(|e| e.to_string());
    let subject = format!("{} {}", config.report.subject_prefix, alert.title());
    let m = lettre::Message::builder()
        .from(mailbox(&from)?)
        .to(mailbox(to)?)
        .subject(subject.trim())
        .header(ContentType::TEXT_PLAIN)
        .body(format!("{}\n\n{json}\n", alert.text()))
        .map_err(|e| format!("cannot build the mail: {e}"))?;
    let how = crate::report::job::delivery(config).map_err(|e| e.to_string())?;
    crate::report::mail::deliver(&m, &how).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_ten_minutes() {
        assert_eq!(
            (0..9).map(backoff).collect::<Vec<_>>(),
            [5, 10, 20, 40, 80, 160, 320, 600, 600]
        );
        assert_eq!(backoff(u32::MAX), 600);
    }

    #[test]
    fn a_channel_that_failed_is_not_tried_again_in_the_same_round() {
        use crate::store::NewDetection;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let alert = serde_json::to_string(&super::super::tests::sample()).unwrap();
        let found: Vec<NewDetection> = ["192.0.2.1", "192.0.2.2"]
            .iter()
            .map(|ip| NewDetection {
                kind: "compromise",
                source: (*ip).into(),
                block: None,
                time_unix: 1000,
                alert: alert.clone(),
            })
            .collect();
        store
            .save_detections(&found, &["webhook"], 0, 1000, 0)
            .unwrap();
        // Nothing listens on port 1: refused at once.
        let config = Config::from_str(
            "[alerts]\nwebhook_url = http://127.0.0.1:1/hook\n",
            std::path::Path::new("/etc/maillogsentinel.conf"),
        )
        .unwrap()
        .config;
        let done = deliver_due(&mut store, &config, 1000, 100).unwrap();
        assert_eq!(done, Delivered { sent: 0, failed: 1 });
        let attempts: Vec<u32> = store
            .due_alerts(i64::MAX, 10)
            .unwrap()
            .iter()
            .map(|q| q.attempts)
            .collect();
        assert_eq!(attempts, [1, 0]);
    }

    #[test]
    fn a_command_gets_the_json_and_its_failure_is_reported() {
        let dir = std::env::temp_dir().join(format!("mls-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("got.json");
        command(
            &format!("cat > '{}'", out.display()),
            "{\"kind\":\"spraying\"}",
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"kind\":\"spraying\"}\n"
        );
        let err = command("echo 'no route' >&2; exit 3", "{}").unwrap_err();
        assert!(err.contains("no route") && err.contains('3'), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

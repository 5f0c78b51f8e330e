//! The systemd units setup writes: extraction (`maillogsentinel.service` +
//! `maillogsentinel-extract.timer`, or `maillogsentinel-follow.service` for follow mode), the
//! report (`maillogsentinel-report.service` + `.timer`), the geo update (`maillogsentinel-geo-update.service` + `.timer`) and the fleet report
//! (`maillogsentinel-fleet-report.service` + `.timer`, enabled on the one host that mails
//! it). Services run as the operational user, hardened, allowed to write only the working and
//! state directories;
//! timers are `Persistent=true` (a run missed while the machine was off happens at boot).

use std::path::Path;

use super::answers::Answers;

/// One unit: file name and text.
pub struct Unit {
    pub name: &'static str,
    pub text: String,
}

fn service(
    description: &str,
    exec: &str,
    a: &Answers,
    config: &Path,
    extra_rw: &[&Path],
) -> String {
    let mut rw: Vec<String> = vec![
        a.working_dir.display().to_string(),
        a.state_dir.display().to_string(),
    ];
    rw.extend(extra_rw.iter().map(|p| p.display().to_string()));
    rw.sort();
    rw.dedup();
    format!(
        "[Unit]
Description={description}
Documentation=man:maillogsentinel(8)
After=network-online.target

[Service]
Type=oneshot
User={user}
ExecStart={exec} --config {config}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
ReadWritePaths={rw}
",
        user = a.user,
        config = config.display(),
        rw = rw.join(" "),
    )
}

/// A service that mails: delivery by sendmail writes to Postfix's queue.
fn mailing(service: String) -> String {
    service.replace(
        "ReadWritePaths=",
        "ReadWritePaths=-/var/spool/postfix/maildrop ",
    )
}

/// Follow mode's service, instead of the extraction timer: long-running, `Type=notify` with a
/// watchdog fed after every pass (a pass that hangs is restarted; five minutes cover a first
/// pass over hundreds of GB of backlog), restarted on failure.
fn follow_service(service: String) -> String {
    service.replace(
        "Type=oneshot\n",
        "Type=notify\nWatchdogSec=300\nRestart=on-failure\nRestartSec=5\n",
    ) + "\n[Install]\nWantedBy=multi-user.target\n"
}

/// When the fleet report is made: after midnight, once the servers' runs of the hour (hourly
/// extraction) have shipped the end of the day.
const FLEET_REPORT_SCHEDULE: &str = "*-*-* 00:30:00";

fn timer(description: &str, on_calendar: &str, unit: &str) -> String {
    format!(
        "[Unit]
Description={description}

[Timer]
OnCalendar={on_calendar}
Persistent=true
Unit={unit}

[Install]
WantedBy=timers.target
"
    )
}

/// The nine units, for the binary at `exe` and the config at `config`.
pub fn render(a: &Answers, exe: &Path, config: &Path) -> Vec<Unit> {
    let exe = exe.display().to_string();
    let geo_dirs: Vec<&Path> = [&a.country_db_path, &a.asn_db_path]
        .into_iter()
        .flatten()
        .filter_map(|p| p.parent())
        .collect();
    vec![
        Unit {
            name: "maillogsentinel.service",
            text: service(
                "MailLogSentinel: extract authentication attacks from the mail log",
                &exe,
                a,
                config,
                &[],
            ),
        },
        Unit {
            name: "maillogsentinel-extract.timer",
            text: timer(
                "MailLogSentinel extraction",
                &a.extract_schedule,
                "maillogsentinel.service",
            ),
        },
        Unit {
            name: "maillogsentinel-follow.service",
            text: follow_service(service(
                "MailLogSentinel: follow the mail log, store attacks as they happen",
                &format!("{exe} follow"),
                a,
                config,
                &[],
            )),
        },
        Unit {
            name: "maillogsentinel-report.service",
            text: mailing(service(
                "MailLogSentinel: scan, then mail the report since the last one",
                // Each report covers from the end of the previous one: no gap, no overlap,
                // whatever the schedule, and a missed run is caught up by the next.
                &format!("{exe} --report --scheduled"),
                a,
                config,
                &[],
            )),
        },
        Unit {
            name: "maillogsentinel-report.timer",
            text: timer(
                "MailLogSentinel daily report",
                &a.report_schedule,
                "maillogsentinel-report.service",
            ),
        },
        Unit {
            name: "maillogsentinel-geo-update.service",
            text: service(
                "MailLogSentinel: download the country and ASN databases",
                &format!("{exe} update-geo"),
                a,
                config,
                &geo_dirs,
            ),
        },
        Unit {
            name: "maillogsentinel-geo-update.timer",
            text: timer(
                "MailLogSentinel geo database update",
                &a.geo_schedule,
                "maillogsentinel-geo-update.service",
            ),
        },
        Unit {
            name: "maillogsentinel-fleet-report.service",
            text: mailing(service(
                "MailLogSentinel: mail yesterday's report of the whole fleet (central store)",
                &format!("{exe} report --fleet --yesterday"),
                a,
                config,
                &[],
            )),
        },
        Unit {
            name: "maillogsentinel-fleet-report.timer",
            text: timer(
                "MailLogSentinel daily fleet report",
                FLEET_REPORT_SCHEDULE,
                "maillogsentinel-fleet-report.service",
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_run_as_the_user_with_hardening_and_persistent_timers() {
        let a = Answers {
            user: "mls".into(),
            ..Answers::default()
        };
        let units = render(
            &a,
            Path::new("/usr/bin/maillogsentinel"),
            Path::new("/etc/maillogsentinel.conf"),
        );
        assert_eq!(units.len(), 9);
        let extract = &units[0].text;
        assert!(extract.contains("User=mls\n"));
        assert!(
            extract.contains(
                "ExecStart=/usr/bin/maillogsentinel --config /etc/maillogsentinel.conf\n"
            )
        );
        assert!(
            extract.contains("ProtectSystem=strict\n") && extract.contains("NoNewPrivileges=yes\n")
        );
        assert!(
            extract.contains("ReadWritePaths=/var/lib/maillogsentinel /var/log/maillogsentinel\n")
        );
        assert!(
            units[1]
                .text
                .contains("OnCalendar=hourly\nPersistent=true\n")
        );
        assert!(units[3].text.contains("--report --scheduled --config"));
        assert!(units[4].text.contains("OnCalendar=*-*-* 23:50:00\n"));
        assert!(units[5].text.contains("update-geo --config"));
        assert!(
            units[7]
                .text
                .contains("ExecStart=/usr/bin/maillogsentinel report --fleet --yesterday --config")
                && units[7].text.contains("/var/spool/postfix/maildrop")
        );
        assert!(units[8].text.contains("OnCalendar=*-*-* 00:30:00\n"));
        let follow = &units[2].text;
        assert!(
            follow.contains("Type=notify\nWatchdogSec=300\nRestart=on-failure\n")
                && follow.contains(
                    "ExecStart=/usr/bin/maillogsentinel follow --config /etc/maillogsentinel.conf\n"
                )
                && follow.contains("ProtectSystem=strict\n")
                && follow.ends_with("[Install]\nWantedBy=multi-user.target\n"),
            "{follow}"
        );
    }
}

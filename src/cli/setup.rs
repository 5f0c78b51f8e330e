//! `maillogsentinel --setup` / `setup`: the wizard on a terminal, or every answer from flags
//! or an answers file (`--non-interactive`), then `setup::apply`. Also what runs when there is
//! no config and a terminal (the old tool's behaviour).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::Config;
use crate::setup::answers::{self, Answers};
use crate::setup::{self, Targets, Transcript, wizard};

pub const SETUP_LOG: &str = "maillogsentinel_setup.log";

#[derive(Args, Debug, Default, Clone)]
pub struct SetupArgs {
    /// Ask nothing: answers from the flags below and --answers, defaults for the rest
    #[arg(long)]
    pub non_interactive: bool,
    /// A file of `key = value` answers (keys as the flags: user, working_dir, mail_log...)
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Operational user (must exist, not root)
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long, value_name = "DIR")]
    pub working_dir: Option<String>,
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<String>,
    /// A log file, or `journal`
    #[arg(long, value_name = "PATH")]
    pub mail_log: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub log_level: Option<String>,
    /// `timer` (a run every --extract-schedule) or `follow` (reads continuously: alerts,
    /// blocklists within seconds) [default: timer]
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    #[arg(long, value_name = "ONCALENDAR")]
    pub extract_schedule: Option<String>,
    #[arg(long, value_name = "ONCALENDAR")]
    pub report_schedule: Option<String>,
    #[arg(long, value_name = "ONCALENDAR")]
    pub geo_schedule: Option<String>,
    #[arg(long, value_name = "PATH")]
    pub country_db: Option<String>,
    #[arg(long, value_name = "PATH")]
    pub asn_db: Option<String>,
    /// Install the units to /etc/systemd/system (else they are written to --units-dir)
    #[arg(long)]
    pub install_units: bool,
    /// Where to write the units when not installing [default: the current directory]
    #[arg(long, value_name = "DIR")]
    pub units_dir: Option<PathBuf>,
    /// The binary the units run [default: this one]
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,
}

/// `key = value` lines; `#` comments.
fn read_answers(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .with_context(|| format!("{}:{}: expected key = value", path.display(), n + 1))?;
        out.push((k.trim().replace('-', "_"), v.trim().to_owned()));
    }
    Ok(out)
}

/// Flags over the answers file over the defaults; every value checked.
fn gather(args: &SetupArgs) -> anyhow::Result<Answers> {
    let mut given: Vec<(String, String)> = match &args.answers {
        Some(p) => read_answers(p)?,
        None => Vec::new(),
    };
    let flags = [
        ("user", &args.user),
        ("working_dir", &args.working_dir),
        ("state_dir", &args.state_dir),
        ("mail_log", &args.mail_log),
        ("email", &args.email),
        ("log_level", &args.log_level),
        ("mode", &args.mode),
        ("extract_schedule", &args.extract_schedule),
        ("report_schedule", &args.report_schedule),
        ("geo_schedule", &args.geo_schedule),
        ("country_db", &args.country_db),
        ("asn_db", &args.asn_db),
    ];
    for (k, v) in flags {
        if let Some(v) = v {
            given.push((k.to_owned(), v.clone()));
        }
    }
    let mut a = Answers::default();
    for (k, v) in given {
        let bad = |e: String| anyhow::anyhow!("{k}: {e}");
        match k.as_str() {
            "user" => a.user = answers::check_user(&v).map_err(bad)?,
            "working_dir" => a.working_dir = answers::check_absolute(&v).map_err(bad)?,
            "state_dir" => a.state_dir = answers::check_absolute(&v).map_err(bad)?,
            "mail_log" => a.mail_log = answers::check_mail_log(&v).map_err(bad)?,
            "email" => a.email = answers::check_email(&v).map_err(bad)?,
            "log_level" => a.log_level = answers::check_log_level(&v).map_err(bad)?,
            "mode" => a.follow = answers::check_mode(&v).map_err(bad)?,
            "extract_schedule" => {
                a.extract_schedule = answers::check_on_calendar(&v).map_err(bad)?
            }
            "report_schedule" => a.report_schedule = answers::check_on_calendar(&v).map_err(bad)?,
            "geo_schedule" => a.geo_schedule = answers::check_on_calendar(&v).map_err(bad)?,
            "country_db" => a.country_db_path = answers::check_optional_path(&v).map_err(bad)?,
            "asn_db" => a.asn_db_path = answers::check_optional_path(&v).map_err(bad)?,
            "dns_cache" => a.dns_cache.enabled = answers::check_bool(&v).map_err(bad)?,
            other => anyhow::bail!("unknown answer `{other}`"),
        }
    }
    // The default user must exist too.
    answers::check_user(&a.user).map_err(|e| anyhow::anyhow!("user: {e}"))?;
    Ok(a)
}

pub fn run(config: Option<&Path>, args: &SetupArgs) -> anyhow::Result<ExitCode> {
    let config_path = config.unwrap_or(Config::default_path()).to_path_buf();
    let mut log = Transcript::open(Path::new(SETUP_LOG));
    let interactive = !args.non_interactive;
    if interactive && !std::io::stdin().is_terminal() {
        eprintln!(
            "maillogsentinel: setup needs a terminal; without one, pass every answer: maillogsentinel setup --non-interactive --user USER [--answers FILE] (see --help)"
        );
        return Ok(ExitCode::from(2));
    }
    let (answers, choices) = if interactive {
        let start = gather(&SetupArgs {
            user: None,
            ..args.clone()
        })
        .unwrap_or_default();
        wizard::run(&start, &mut log)?
    } else {
        let answers = gather(args)?;
        for line in answers.summary() {
            log.say(&line);
        }
        let choices = wizard::Choices {
            install_units: args.install_units,
            fetch_geo: false,
        };
        (answers, choices)
    };
    let install = choices.install_units;
    let units_dir = if install || args.install_units {
        PathBuf::from("/etc/systemd/system")
    } else {
        match &args.units_dir {
            Some(d) => d.clone(),
            None => std::env::current_dir()?,
        }
    };
    let exe = match &args.exe {
        Some(e) => e.clone(),
        None => std::env::current_exe()?,
    };
    log.say(&format!("config: {}", config_path.display()));
    setup::apply(
        &answers,
        &Targets {
            config: config_path.clone(),
            units_dir,
            exe,
        },
        &mut log,
    )?;
    if choices.fetch_geo {
        log.say("Fetching the geo databases (maillogsentinel update-geo):");
        let fetched = super::update_geo::run(
            &super::run::Common {
                config: Some(config_path.clone()),
                // Setup runs as root; the files land in the user's state directory.
                allow_root: true,
            },
            &super::update_geo::UpdateGeoArgs::default(),
        )?;
        if fetched != ExitCode::SUCCESS {
            log.say(&format!(
                "WARNING: update-geo failed: run `sudo -u {} maillogsentinel --config {} update-geo` once the network is reachable",
                answers.user,
                config_path.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! The command line: argument definitions and dispatch. The edge of the program, where errors
//! become messages and exit codes (see `run::exit`).

mod anonymize;
mod blocklist;
mod central;
mod check;
mod export;
mod follow;
pub(crate) mod generate;
mod ipinfo;
mod parse;
mod query;
mod report;
mod run;
mod setup;
mod update_geo;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use run::exit;

#[derive(Parser, Debug)]
#[command(
    name = "maillogsentinel",
    version,
    about = "Finds authentication attacks in Postfix/Dovecot logs",
    long_about = "Finds authentication attacks in Postfix/Dovecot logs.\n\nWithout a command, runs the incremental extraction: reads the new lines of the mail log and its rotated siblings (or the journal) and stores their events in the database and the CSV of the working directory, exactly once.",
    after_help = "Examples:\n  maillogsentinel                                  # incremental run with /etc/maillogsentinel.conf\n  maillogsentinel --config ./test.conf --from-end  # first run without backfilling old logs\n  maillogsentinel --reset                          # archive outputs, start over\n  maillogsentinel --report                         # scan, then mail today's report\n  maillogsentinel --report --stdout --yesterday    # print yesterday's report\n  maillogsentinel report --date 2026-11-23 --html r.html\n  maillogsentinel parse /var/log/mail.log --format table\n  zcat mail.log.2.gz | maillogsentinel parse - --format csv\n  maillogsentinel ipinfo 192.0.2.7 2001:db8::1 --json\n  maillogsentinel query --user alice --since 7d --group-by ip   # where alice logged in from\n  maillogsentinel anonymize mail.log --key-file ~/.mls-anon.key -o shared.log\n  maillogsentinel update-geo                       # fetch the geo databases of the config\n  sudo maillogsentinel --setup                     # interactive setup: config, directories, units\n  sudo maillogsentinel setup --non-interactive --user mls --mail-log journal\n  maillogsentinel check-config                     # validate the config, say what a run would do\n\nExit status: 0 ok, 1 error, 2 unknown argument, 64 options that do not go together, 66 the mail log cannot be read (missing, a directory, a device), 69 ship: the central store cannot be reached, 73 an output cannot be written (disk full, damaged store), 75 another run holds the lock, 77 root refused or the mail log not readable (group adm), 78 configuration missing or wrong."
)]
pub struct Cli {
    /// Configuration file [default: /etc/maillogsentinel.conf]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Run even as root (the operational user is meant to run it).
    #[arg(long, global = true)]
    pub allow_root: bool,
    /// Archive the CSV, database, checkpoints and own log into a timestamped backup
    /// directory; the next run starts from the beginning.
    #[arg(long, conflicts_with = "purge")]
    pub reset: bool,
    /// Like --reset, and also archive caches: only the configuration stays.
    #[arg(long)]
    pub purge: bool,
    /// Interactive setup: config, directories, systemd units (see `setup --help`).
    #[arg(long, conflicts_with_all = ["reset", "purge", "report"])]
    pub setup: bool,
    /// Scan, then report a window (today by default) by mail, or with --stdout / --html.
    #[arg(long, conflicts_with_all = ["reset", "purge"])]
    pub report: bool,
    #[command(flatten)]
    pub run: run::RunArgs,
    #[command(flatten)]
    pub report_args: report::ReportArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The incremental extraction (the default when no command is given)
    #[command(
        after_help = "Examples:\n  maillogsentinel run\n  maillogsentinel run --from-end --no-dns --jsonl /var/log/maillogsentinel/events.jsonl"
    )]
    Run(run::RunArgs),
    /// Follow mode: read the mail log as it is written and store its events within a second,
    /// until stopped (SIGTERM); a default run meanwhile exits 0
    #[command(
        after_help = "Examples:\n  maillogsentinel follow\n  maillogsentinel follow --from-end --no-dns\n  systemctl enable --now maillogsentinel-follow.service   # instead of maillogsentinel-extract.timer"
    )]
    Follow(follow::FollowArgs),
    /// Print the authentication events of log files (stateless: no config, no store, no network)
    #[command(
        after_help = "Examples:\n  maillogsentinel parse /var/log/mail.log --format table\n  zcat /var/log/mail.log.2.gz | maillogsentinel parse - --format jsonl\n  grep 192.0.2.5 /var/log/mail.log | maillogsentinel parse --explain -   # why is this (not) counted"
    )]
    Parse(parse::ParseArgs),
    /// Same as --report: scan, then report a window
    #[command(
        after_help = "Examples:\n  maillogsentinel report                      # scan, then mail today's report\n  maillogsentinel report --stdout --yesterday\n  maillogsentinel report --since '2026-11-20 08:00' --until '2026-11-23 08:00' --html r.html"
    )]
    Report(report::ReportCommand),
    /// Same as --setup; `--non-interactive` takes every answer from flags or --answers
    #[command(
        after_help = "Examples:\n  sudo maillogsentinel setup\n  sudo maillogsentinel setup --non-interactive --user maillogsentinel --mail-log journal --install-units\n  sudo maillogsentinel setup --non-interactive --answers answers.txt --units-dir ./units"
    )]
    Setup(Box<setup::SetupArgs>),
    /// Check the configuration, paths, permissions and the mail log; say what a run would do
    #[command(
        after_help = "Example:\n  maillogsentinel --config /etc/maillogsentinel.conf check-config"
    )]
    CheckConfig,
    /// Write the man page and shell completions (for packaging)
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
    /// Rewrite logs for sharing: addresses (prefix-preserving), users, host names, sessions,
    /// queue ids and the passwords Dovecot logs replaced by keyed pseudonyms; parse counts the
    /// result as the original
    #[command(
        after_help = "Examples:\n  head -c 32 /dev/urandom > ~/.mls-anon.key                 # once; keep it, never share it\n  maillogsentinel anonymize /var/log/mail.log --key-file ~/.mls-anon.key -o mail.anon.log\n  maillogsentinel anonymize /var/log/mail.log.2.gz /var/log/mail.log.1 --key-file K > both.log\n  grep 192.0.2.5 /var/log/mail.log | maillogsentinel anonymize - --key-file K\n\nExit status: 0, 64 a key file shorter than 16 bytes or an --output that is also an input, 66 an input or the key file cannot be read (the other inputs are still written), 73 the output cannot be written."
    )]
    Anonymize(anonymize::AnonymizeArgs),
    /// Same as --reset
    Reset,
    /// Same as --purge
    Purge,
    /// What is known of addresses: country, ASN, organisation, PTR, and what the store saw
    #[command(
        after_help = "Examples:\n  maillogsentinel ipinfo 192.0.2.7\n  maillogsentinel ipinfo --json --no-dns 192.0.2.7 2001:db8::1"
    )]
    Ipinfo(ipinfo::IpinfoArgs),
    /// The stored events matching filters, newest first or grouped (read-only)
    #[command(
        after_help = "Examples:\n  maillogsentinel query --ip 192.0.2.7                      # what else did this address do\n  maillogsentinel query --user alice --outcome success --since 7d --group-by ip\n  maillogsentinel query --ip 192.0.2.0/24 --group-by user --format json\n  maillogsentinel query --user-like '*@example.org' --since '2026-12-01 08:00' --until 12h\n  maillogsentinel query --country CN --outcome failure --group-by day --format csv\n  maillogsentinel query --fleet --ip 2001:db8::/48 --group-by server\n\nTimes are in [general] timezone (else the system's). Exit status: 0 (also when nothing matches), 64 a filter that cannot be read, 66 no store yet, 69 --fleet: the central store cannot be reached, 78 --fleet without [central] report_url."
    )]
    Query(query::QueryArgs),
    /// Print the blocklist as it stands: addresses and networks of brute force and possible
    /// compromises, for nftables, Postfix or plain
    #[command(
        after_help = "Examples:\n  maillogsentinel blocklist --format nftables > /run/mls.nft && nft -f /run/mls.nft\n  maillogsentinel blocklist --format postfix > /etc/postfix/mls_blocklist.cidr"
    )]
    Blocklist(blocklist::BlocklistArgs),
    /// Export for others: the window's attacking addresses as AbuseIPDB's bulk-report CSV
    #[command(
        after_help = "Examples:\n  maillogsentinel export --abuse-report --yesterday > abuse.csv\n  maillogsentinel export --abuse-report --since '2026-12-01 00:00' --until '2026-12-03 00:00' -o abuse.csv"
    )]
    Export(export::ExportArgs),
    /// Ship the events not shipped yet to the central PostgreSQL store ([central]); also done
    /// at the end of every run
    #[command(after_help = "Example:\n  maillogsentinel ship")]
    Ship,
    /// The central store of a fleet: create its schema, add a server's role
    #[command(
        after_help = "Examples:\n  maillogsentinel central init --url postgresql://postgres@db.example.org/maillogsentinel\n  maillogsentinel central add-server mx1.example.org --url postgresql://postgres@db.example.org/maillogsentinel --password-file mx1.pass"
    )]
    Central(central::CentralArgs),
    /// Download the geo databases of the config (country_db_url, asn_db_url), atomically
    #[command(after_help = "Example:\n  maillogsentinel update-geo --timeout 120")]
    UpdateGeo(update_geo::UpdateGeoArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let common = run::Common {
        config: cli.config.clone(),
        allow_root: cli.allow_root,
    };
    let result = match cli.command {
        Some(Command::Parse(args)) => parse::run(args),
        Some(Command::Run(args)) => run::run(&common, &args),
        Some(Command::Follow(args)) => follow::run(&common, &args),
        Some(Command::CheckConfig) => check::run(&common),
        Some(Command::Generate(args)) => generate::run(&args),
        Some(Command::Reset) => run::reset(&common, false),
        Some(Command::Purge) => run::reset(&common, true),
        Some(Command::Ipinfo(args)) => ipinfo::run(&common, &args),
        Some(Command::UpdateGeo(args)) => update_geo::run(&common, &args),
        Some(Command::Ship) => central::run_ship(&common),
        Some(Command::Blocklist(args)) => blocklist::run(&common, &args),
        Some(Command::Export(args)) => export::run(&common, &args),
        Some(Command::Query(args)) => query::run(&common, &args),
        Some(Command::Anonymize(args)) => anonymize::run(&args),
        Some(Command::Central(args)) => central::run_central(&args),
        Some(Command::Report(args)) => report::run(&common, &args),
        Some(Command::Setup(args)) => setup::run(cli.config.as_deref(), &args),
        None if cli.setup => setup::run(cli.config.as_deref(), &setup::SetupArgs::default()),
        None if cli.reset || cli.purge => run::reset(&common, cli.purge),
        None if cli.report => report::run(
            &common,
            &report::ReportCommand {
                run: cli.run,
                report: cli.report_args,
            },
        ),
        None => match cli.report_args.first_given() {
            Some(flag) => {
                eprintln!(
                    "maillogsentinel: {flag} is an option of the report: use it with --report (or the report command), e.g. `maillogsentinel --report {flag} ...`"
                );
                return ExitCode::from(exit::USAGE);
            }
            None => run::run(&common, &cli.run),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let (code, way_out) = classify(&e);
            match way_out {
                Some(w) => crate::logging::fatal(&format!("{e:#}; what to do: {w}")),
                None => crate::logging::fatal(&format!("{e:#}")),
            }
            ExitCode::from(code)
        }
    }
}

/// The exit status of a failed command (sysexits.h, see `exit`) and the way out to print with
/// it: the one place where errors become statuses.
fn classify(e: &anyhow::Error) -> (u8, Option<&'static str>) {
    use crate::ingest::IngestError;
    use crate::report::job::ReportJobError;
    use crate::source::files::InputProblem;
    use crate::store::StoreError;
    let store = |s: &StoreError| {
        let code = match s {
            StoreError::Full { .. }
            | StoreError::Open { .. }
            | StoreError::Io { .. }
            | StoreError::Corrupt { .. } => exit::CANT_CREATE,
            StoreError::Busy { .. } => exit::LOCKED,
            StoreError::NewerSchema { .. }
            | StoreError::OlderSchema { .. }
            | StoreError::Sqlite { .. } => 1,
            StoreError::Central(_) => exit::UNAVAILABLE,
        };
        (code, Some(s.way_out()))
    };
    match e.downcast_ref::<IngestError>() {
        Some(IngestError::Store(s)) => store(s),
        Some(IngestError::Input {
            problem: InputProblem::PermissionDenied,
            ..
        }) => (exit::NO_PERM, None),
        Some(IngestError::Input { .. }) => (exit::NO_INPUT, None),
        Some(IngestError::Export { .. }) => (
            exit::CANT_CREATE,
            Some(
                "free space on the working directory's file system (or make it writable) and run again: the rows not committed are written again",
            ),
        ),
        Some(_) => (1, None),
        None => match e.downcast_ref::<ReportJobError>() {
            Some(ReportJobError::Store(s)) => store(s),
            Some(ReportJobError::Write { .. }) => (exit::CANT_CREATE, None),
            Some(_) => (1, None),
            None => match e.downcast_ref::<crate::central::CentralError>() {
                Some(c) => central(c, store),
                None => match e.downcast_ref::<crate::realtime::RealtimeError>() {
                    Some(crate::realtime::RealtimeError::Store(s)) => store(s),
                    Some(crate::realtime::RealtimeError::Write { .. }) => (exit::CANT_CREATE, None),
                    Some(crate::realtime::RealtimeError::Reload { .. }) => (1, None),
                    None => e.downcast_ref::<StoreError>().map_or((1, None), store),
                },
            },
        },
    }
}

/// [`classify`] of the central store's errors.
fn central(
    e: &crate::central::CentralError,
    store: impl Fn(&crate::store::StoreError) -> (u8, Option<&'static str>),
) -> (u8, Option<&'static str>) {
    use crate::central::CentralError as C;
    let code = match e {
        C::Store(s) => return store(s),
        C::Connect { .. } | C::Sql(_) => exit::UNAVAILABLE,
        C::NotConfigured | C::Url { .. } | C::Password { .. } | C::Tls(_) | C::ServerName(_) => {
            exit::CONFIG
        }
        C::Write { .. } => return (exit::CANT_CREATE, None),
        C::Random(_) | C::NewerSchema { .. } | C::OlderSchema { .. } | C::NoSchema => 1,
    };
    (code, Some(e.way_out()))
}

//! `maillogsentinel ship` and `maillogsentinel central init|add-server`: the fleet's central
//! PostgreSQL store (see `central`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::run::{Common, Exit, exit, prepare_alone};
use crate::central::{self, CentralError};
use crate::config::{CentralTls, Config};
use crate::store::Store;
use crate::workdir::WorkDir;

#[derive(Args, Debug)]
pub struct CentralArgs {
    #[command(subcommand)]
    pub command: CentralCommand,
}

#[derive(Subcommand, Debug)]
pub enum CentralCommand {
    /// Create or migrate the central schema (idempotent), with an admin role's URL
    Init(AdminArgs),
    /// Create the role of server NAME (insert-only, its own rows) and write its password file
    AddServer {
        /// The server's name in the fleet (its [central] server_name)
        name: String,
        #[command(flatten)]
        admin: AdminArgs,
        /// Where to write the new role's password [default: ./NAME.pass]
        #[arg(long, value_name = "PATH")]
        password_file: Option<PathBuf>,
    },
    /// Create the reader role `mls_read_NAME` (SELECT only) for `report --fleet`
    AddReader {
        name: String,
        #[command(flatten)]
        admin: AdminArgs,
        /// Where to write the new role's password [default: ./NAME.pass]
        #[arg(long, value_name = "PATH")]
        password_file: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct AdminArgs {
    /// postgresql://ADMIN@HOST:PORT/DB of a role that may create tables and roles
    #[arg(long, value_name = "ADMIN_URL")]
    pub url: String,
    /// A file holding the admin's password (else PGPASSWORD-free trust or peer auth)
    #[arg(long, value_name = "PATH")]
    pub admin_password_file: Option<PathBuf>,
    /// disable, require or verify-full
    #[arg(long, default_value = "verify-full", value_parser = ["disable", "require", "verify-full"])]
    pub tls: String,
    /// CA certificate(s), PEM, for --tls verify-full
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

impl AdminArgs {
    fn connect(&self) -> Result<postgres::Client, CentralError> {
        let tls = match self.tls.as_str() {
            "disable" => CentralTls::Disable,
            "require" => CentralTls::Require,
            _ => CentralTls::VerifyFull,
        };
        central::connect(
            &self.url,
            self.admin_password_file.as_deref(),
            tls,
            self.ca_file.as_deref(),
        )
    }
}

pub fn run_central(args: &CentralArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        CentralCommand::Init(admin) => {
            let (from, to) = central::init(&mut admin.connect()?)?;
            if from == to {
                println!("central schema is current (version {to})");
            } else {
                println!("central schema: version {from} -> {to}");
            }
        }
        CentralCommand::AddServer {
            name,
            admin,
            password_file,
        } => {
            let path = password_path(name, password_file);
            let role = central::add_server(&mut admin.connect()?, name, &path)?;
            println!(
                "server {name}: role {role}, password in {} (0600): copy it to the server, and set [central] url = postgresql://{role}@HOST:PORT/DB, password_file, server_name = {name}",
                path.display()
            );
        }
        CentralCommand::AddReader {
            name,
            admin,
            password_file,
        } => {
            let path = password_path(name, password_file);
            let role = central::add_reader(&mut admin.connect()?, name, &path)?;
            println!(
                "reader {role}, password in {} (0600): set [central] report_url = postgresql://{role}@HOST:PORT/DB and report_password_file",
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--password-file`, else `./NAME.pass`.
fn password_path(name: &str, given: &Option<PathBuf>) -> PathBuf {
    given
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.pass")))
}

/// The fleet name of this server: `[central] server_name`, else the FQDN.
pub(super) fn server_name(config: &Config) -> String {
    config
        .central
        .server_name
        .clone()
        .unwrap_or_else(crate::report::job::fqdn)
}

/// Ships this server's backlog (the working directory's store must not be locked by a run).
pub(super) fn ship_configured(config: &Config) -> Result<central::Shipped, CentralError> {
    let mut client = central::connect_configured(&config.central)?;
    let mut store = Store::open(&WorkDir::of(config).store())?;
    central::ship(&mut client, &mut store, &server_name(config))
}

/// `maillogsentinel ship`: exit 0 once everything is shipped, 69 when the central store
/// cannot be reached (the events stay local for the next ship).
pub fn run_ship(common: &Common) -> anyhow::Result<ExitCode> {
    let (config, _lock) = match prepare_alone(common) {
        Ok(p) => p,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    if config.central.url.is_none() {
        eprintln!(
            "maillogsentinel: nothing to ship to: no [central] url in {}",
            config.path.display()
        );
        return Ok(ExitCode::from(exit::CONFIG));
    }
    match ship_configured(&config) {
        Ok(s) => {
            log::info!(
                "shipped {} events and {} runs to the central store (up to event {})",
                s.events,
                s.runs,
                s.last_event
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (CentralError::Connect { .. } | CentralError::Sql(_))) => {
            crate::logging::fatal(&format!("{e}; what to do: {}", e.way_out()));
            Ok(ExitCode::from(exit::UNAVAILABLE))
        }
        Err(e) => Err(e.into()),
    }
}

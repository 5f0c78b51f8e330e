//! The command line: argument definitions and dispatch. The edge of the program, where errors
//! become messages and exit codes.

mod parse;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "maillogsentinel",
    version,
    about = "Finds authentication attacks in Postfix/Dovecot logs",
    arg_required_else_help = true,
    after_help = "Examples:\n  maillogsentinel parse /var/log/mail.log\n  zcat mail.log.2.gz | maillogsentinel parse - --format csv\n  maillogsentinel parse mail.log --show-unmatched --format table"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the authentication events of log files (stateless: no config, no store, no network)
    Parse(parse::ParseArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parse(args) => parse::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("maillogsentinel: {e:#}");
            ExitCode::from(1)
        }
    }
}

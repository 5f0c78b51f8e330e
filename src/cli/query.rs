//! `maillogsentinel query`: the events of the store that match filters (an address or
//! network, a user or a glob of users, an ASN, a country, a server, an outcome, a time span),
//! newest first or grouped, as a table, JSON or CSV. Read-only: no lock, no scan, nothing
//! written; `--fleet` asks the central store instead.
//!
//! Not here: the filters' meaning and grouping (`query`), how the stores find the events
//! (`store::query`, `central::CentralReader::query`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::report::fleet_reader;
use super::run::{Common, Exit, load_config};
use crate::central::CentralReader;
use crate::event::Outcome;
use crate::policy::Cidr;
use crate::query::render::{Answer, Format, render};
use crate::query::{Filters, GroupBy, Groups, UserFilter};
use crate::report::window::parse_time;
use crate::store::Store;
use crate::workdir::WorkDir;

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// An address, or a network in CIDR notation (192.0.2.0/24, 2001:db8::/48)
    #[arg(long, value_name = "ADDR|CIDR")]
    pub ip: Option<Cidr>,
    /// A user name, exactly
    #[arg(long, value_name = "USER", conflicts_with = "user_like")]
    pub user: Option<String>,
    /// User names matching a glob: `*` any run of characters, `?` one (case-sensitive)
    #[arg(long, value_name = "GLOB")]
    pub user_like: Option<String>,
    /// An AS number (64500 or AS64500)
    #[arg(long, value_name = "N")]
    pub asn: Option<String>,
    /// A country (ISO 3166 code: FR, us)
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// A server (the log host name)
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// Failures or successes only
    #[arg(long, value_parser = ["failure", "success"])]
    pub outcome: Option<String>,
    /// From: YYYY-MM-DD[ HH:MM[:SS]] (config time zone), RFC 3339, or an age (7d, 12h, 30m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Until (excluded), in the same forms
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Count the matching events per value, with first and last seen, most attempts first
    /// (days and hours in time order)
    #[arg(long, value_enum, value_name = "WHAT")]
    pub group_by: Option<GroupBy>,
    /// An aligned table, JSON (an array of objects) or CSV (`;`)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// At most N events or groups
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Ask the fleet's central store ([central] report_url) instead of the local one
    #[arg(long)]
    pub fleet: bool,
}

impl QueryArgs {
    fn filters(&self, tz: &jiff::tz::TimeZone) -> anyhow::Result<Filters> {
        let time = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
            v.as_deref()
                .map(|s| {
                    parse_time(s, tz)
                        .map(|t| t.timestamp().as_second())
                        .with_context(|| format!("{flag} {s}"))
                })
                .transpose()
        };
        let user = match (&self.user, &self.user_like) {
            (Some(u), _) => Some(UserFilter::Exact(u.as_bytes().to_vec())),
            (None, Some(g)) => Some(UserFilter::Like(g.as_bytes().to_vec())),
            (None, None) => None,
        };
        let asn = self
            .asn
            .as_deref()
            .map(|a| {
                let digits = a.strip_prefix("AS").or(a.strip_prefix("as")).unwrap_or(a);
                match digits.parse::<u32>() {
                    Ok(n) => Ok(n.to_string()),
                    Err(_) => Err(anyhow::anyhow!(
                        "--asn {a}: expected an AS number such as 64500"
                    )),
                }
            })
            .transpose()?;
        let f = Filters {
            ip: self.ip,
            user,
            asn,
            country: self.country.as_ref().map(|c| c.to_ascii_uppercase()),
            server: self.server.clone(),
            outcome: self
                .outcome
                .as_deref()
                .map(|o| o.parse::<Outcome>())
                .transpose()?,
            since: time("--since", &self.since)?,
            until: time("--until", &self.until)?,
        };
        if let (Some(s), Some(u)) = (f.since, f.until)
            && s >= u
        {
            anyhow::bail!("--since must be before --until");
        }
        Ok(f)
    }
}

pub fn run(common: &Common, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let config = match load_config(common) {
        Ok(c) => c,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let tz = config.time_zone();
    let filters = match args.filters(&tz) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("maillogsentinel: {e:#}");
            return Ok(ExitCode::from(super::exit::USAGE));
        }
    };
    let limit = args.limit as usize;
    // A list stops at --limit; groups need every matching event.
    let list_limit = args.group_by.is_none().then_some(limit);
    let mut events = Vec::new();
    let mut groups = args.group_by.map(|by| Groups::new(by, tz.clone()));
    let mut take = |e| match &mut groups {
        Some(g) => g.add(&e),
        None => events.push(e),
    };
    if args.fleet {
        let connect = match fleet_reader(&config, "a fleet query") {
            Ok(c) => c,
            Err(Exit(code)) => return Ok(ExitCode::from(code)),
        };
        CentralReader::new(connect, None)?.query_events(&filters, list_limit, &mut take)?;
    } else {
        let db = WorkDir::of(&config).store();
        if !db.exists() {
            eprintln!(
                "maillogsentinel: no store at {} yet: a run creates it (maillogsentinel run)",
                db.display()
            );
            return Ok(ExitCode::from(super::exit::NO_INPUT));
        }
        let mut taken = 0;
        Store::open_read_only(&db)?.query(&filters, |e| {
            take(e);
            taken += 1;
            list_limit.is_none_or(|n| taken < n)
        })?;
    }
    let answer = match groups {
        Some(g) => Answer::Groups(args.group_by.expect("groups"), g.into_sorted(limit)),
        None => Answer::Events(events),
    };
    std::io::stdout().write_all(render(&answer, args.format, &tz).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

//! `maillogsentinel ipinfo IP…`: what is known of addresses: country, ASN, organisation (geo
//! databases), PTR (the cache when fresh, else a live lookup unless `--no-dns`), and what the
//! store saw (first/last seen, failures, successes, users tried, detections, whether it is on
//! the blocklist now). Text, or JSON with `--json`.
//! Read-only: takes no lock, creates no store.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};

use super::run::{Common, Exit, load_config};
use crate::enrich::cache::{self, PtrCache};
use crate::enrich::dns::{DnsSettings, ReverseDns};
use crate::enrich::geo::Geo;
use crate::envelope::timestamp::rfc3339;
use crate::sink::printable;
use crate::store::{IngestStore, PtrRecord, Store};
use crate::workdir::WorkDir;

#[derive(Args, Debug)]
pub struct IpinfoArgs {
    /// Addresses (IPv4 or IPv6)
    #[arg(required = true, value_name = "IP")]
    pub ips: Vec<IpAddr>,
    /// One JSON object per address, one per line
    #[arg(long)]
    pub json: bool,
    /// Use only the cached reverse DNS, never ask the network
    #[arg(long)]
    pub no_dns: bool,
}

fn time_text(unix: Option<i64>) -> Option<String> {
    unix.map(rfc3339)
}

pub fn run(common: &Common, args: &IpinfoArgs) -> anyhow::Result<ExitCode> {
    let config = match load_config(common) {
        Ok(c) => c,
        Err(Exit(code)) => return Ok(ExitCode::from(code)),
    };
    let (geo, warnings) = Geo::load(&config.country_db, &config.asn_db);
    for w in warnings {
        eprintln!("maillogsentinel: warning: {w}");
    }
    let db = WorkDir::of(&config).store();
    let store = if db.exists() {
        match Store::open_read_only(&db) {
            Ok(s) => Some(s),
            Err(e @ crate::store::StoreError::OlderSchema { .. }) => {
                eprintln!("maillogsentinel: warning: {e}: shown without the store's facts");
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let now = jiff::Timestamp::now().as_second();
    let mut cache = PtrCache::new(args.ips.len().max(1), config.dns_cache.ttl_seconds);
    let dns_on = config.dns.enabled && !args.no_dns;
    let mut ptrs: Vec<(Option<PtrRecord>, &str)> = Vec::new();
    let mut missing = Vec::new();
    for &ip in &args.ips {
        match cache.get(ip, now, store.as_ref().map(|s| s as &dyn IngestStore))? {
            Some(r) => ptrs.push((Some(r), "cache")),
            None => {
                missing.push(ip);
                ptrs.push((None, "none"));
            }
        }
    }
    if dns_on && !missing.is_empty() {
        let resolver = ReverseDns::new(DnsSettings::from_config(&config.dns))?;
        let mut answers = missing.iter().zip(resolver.lookup_many(&missing));
        for (slot, ip) in ptrs.iter_mut().zip(&args.ips) {
            if slot.0.is_none()
                && let Some((&a_ip, answer)) = answers.next()
            {
                debug_assert_eq!(a_ip, *ip);
                *slot = (Some(cache::record(a_ip, answer, now)), "live");
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for (&ip, (ptr, ptr_source)) in args.ips.iter().zip(&ptrs) {
        let g = geo.lookup(ip);
        let seen = store.as_ref().map(|s| s.ip_summary(ip)).transpose()?;
        let users: Vec<Value> = seen.as_ref().map_or_else(Vec::new, |s| {
            s.users
                .iter()
                .map(|(u, n)| json!({"user": String::from_utf8_lossy(u), "attempts": n}))
                .collect()
        });
        // What the real-time side made of it: its detections (as an address and as part of
        // its network), and whether the blocklist holds it now.
        let (detections, blocked) = match &store {
            Some(s) => {
                let net = crate::policy::Cidr::network_of(ip).to_string();
                let found: Vec<Value> = s
                    .detections_of(&[&ip.to_string(), &net], 20)?
                    .into_iter()
                    .map(|(kind, source, t)| json!({"kind": kind, "source": source, "time": time_text(Some(t))}))
                    .collect();
                let until = crate::blocklist::entries(s, &config, now)?
                    .into_iter()
                    .find(|e| e.net.contains(ip))
                    .and_then(|e| time_text(Some(e.expires_unix)));
                (found, until)
            }
            None => (Vec::new(), None),
        };
        let info = json!({
            "ip": ip.to_string(),
            "country_code": g.country_code,
            "asn": g.asn,
            "aso": g.aso,
            "hostname": ptr.as_ref().and_then(|p| p.hostname.clone()),
            "reverse_dns_status": ptr.as_ref().map(|p| p.status.clone()),
            "ptr_confirmed": ptr.as_ref().and_then(|p| p.confirmed),
            "ptr_source": ptr.as_ref().map(|_| *ptr_source),
            "first_seen": seen.as_ref().and_then(|s| time_text(s.first_seen_unix)),
            "last_seen": seen.as_ref().and_then(|s| time_text(s.last_seen_unix)),
            "failures": seen.as_ref().map(|s| s.failures),
            "successes": seen.as_ref().map(|s| s.successes),
            "users": users,
            "detections": detections,
            "blocklisted_until": blocked,
        });
        if args.json {
            writeln!(out, "{info}")?;
        } else {
            write_text(&mut out, &info)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The text form: one `field: value` line each, attacker-chosen values through `printable`.
fn write_text(out: &mut impl Write, info: &Value) -> std::io::Result<()> {
    let field = |k: &str| match &info[k] {
        Value::Null => "-".to_owned(),
        Value::String(s) => printable(s.as_bytes()).into_owned(),
        v => v.to_string(),
    };
    writeln!(out, "{}", field("ip"))?;
    let ptr = match (&info["hostname"], &info["reverse_dns_status"]) {
        (_, Value::Null) => "- (not looked up)".to_owned(),
        (Value::Null, _) => format!(
            "- ({}, {})",
            field("reverse_dns_status"),
            field("ptr_source")
        ),
        _ => format!(
            "{} ({}, {}{})",
            field("hostname"),
            field("reverse_dns_status"),
            field("ptr_source"),
            match info["ptr_confirmed"] {
                Value::Bool(true) => ", forward-confirmed",
                Value::Bool(false) => ", NOT forward-confirmed",
                _ => "",
            }
        ),
    };
    writeln!(out, "  country:      {}", field("country_code"))?;
    writeln!(out, "  ASN:          {}", field("asn"))?;
    writeln!(out, "  organisation: {}", field("aso"))?;
    writeln!(out, "  PTR:          {ptr}")?;
    writeln!(out, "  first seen:   {}", field("first_seen"))?;
    writeln!(out, "  last seen:    {}", field("last_seen"))?;
    writeln!(out, "  failures:     {}", field("failures"))?;
    writeln!(out, "  successes:    {}", field("successes"))?;
    if let Value::Array(users) = &info["users"]
        && !users.is_empty()
    {
        let list: Vec<String> = users
            .iter()
            .map(|u| {
                let name = u["user"].as_str().unwrap_or("");
                format!("{} ({})", printable(name.as_bytes()), u["attempts"])
            })
            .collect();
        writeln!(out, "  users tried:  {}", list.join(", "))?;
    }
    if let Value::Array(found) = &info["detections"]
        && !found.is_empty()
    {
        let list: Vec<String> = found
            .iter()
            .map(|d| {
                format!(
                    "{} {} ({})",
                    d["kind"].as_str().unwrap_or(""),
                    d["time"].as_str().unwrap_or(""),
                    d["source"].as_str().unwrap_or("")
                )
            })
            .collect();
        writeln!(out, "  detections:   {}", list.join(", "))?;
    }
    writeln!(
        out,
        "  blocklisted:  {}",
        info["blocklisted_until"]
            .as_str()
            .map_or("no".to_owned(), |t| format!("until {t}"))
    )?;
    Ok(())
}

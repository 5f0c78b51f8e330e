//! The report: what happened in a window of time, read from the store with indexed queries
//! (never by rescanning the CSV), then rendered as text (`text`), HTML with a chart (`html`,
//! `chart`) and delivered as a mail (`mail`).
//!
//! `Report::build` gathers the figures; renderers only format them. Attacker-chosen values
//! (user names, PTR names, organisations) stay raw here and are neutralised by each renderer
//! for its medium.
//!
//! Not here: scanning logs first (the caller runs the incremental scan), the command line.

pub mod chart;
pub(crate) mod document;
pub mod html;
pub(crate) mod job;
pub(crate) mod mail;
pub mod text;
pub(crate) mod window;

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::event::{Outcome, network};
use crate::store::{
    EarlierFailures, FailureKey, ReportStore, RunCounts, ServerHealth, StoreError, StoredEvent,
};
pub use window::Window;

/// Rows in each top list.
pub const TOP: usize = 10;
/// Possible compromises listed (all are counted).
pub const MAX_COMPROMISES: usize = 50;
/// A user tried from at least this many addresses in the window is listed as sprayed.
pub const SPRAY_MIN_IPS: usize = 3;

/// Where and when the report is made (the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    pub fqdn: String,
    pub ip: Option<String>,
    /// From the installed extraction timer (`OnCalendar=`), or `unknown`.
    pub extraction_interval: String,
}

/// What tied a successful login to earlier failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    Ip,
    Network(String),
    Asn(String),
}

/// A successful login from a source that failed before: a possible compromise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compromise {
    pub time_unix: i64,
    pub ip: String,
    pub user: String,
    pub protocol: String,
    pub evidence: Evidence,
    /// Failed attempts of that source before the login, and the first one's time.
    pub earlier_failures: u64,
    pub first_failure_unix: i64,
    /// In a fleet report: the server of the login and those of the earlier failures.
    pub servers: Option<(String, Vec<String>)>,
}

/// Headers of the compromise table (text and HTML).
pub const COMPROMISE_COLUMNS: [&str; 6] = [
    "time",
    "user",
    "ip",
    "protocol",
    "evidence",
    "earlier failures",
];

impl Compromise {
    /// A fleet's takeover: failures on another server than the login's (listed first).
    pub fn crosses_servers(&self) -> bool {
        self.servers
            .as_ref()
            .is_some_and(|(on, failed)| failed.iter().any(|s| s != on))
    }

    /// The row of the compromise table, raw: each renderer escapes it for its medium.
    pub fn cells(&self, w: &Window) -> [String; 6] {
        [
            w.local(self.time_unix),
            self.user.clone(),
            self.ip.clone(),
            self.protocol.clone(),
            match &self.evidence {
                Evidence::Ip => "same IP".to_owned(),
                Evidence::Network(n) => format!("same network {n}"),
                Evidence::Asn(a) => format!("same ASN {a}"),
            },
            format!(
                "{} failed since {}",
                thousands(self.earlier_failures),
                w.local(self.first_failure_unix)
            ),
        ]
    }
}

/// A user tried from many addresses (password spraying).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sprayed {
    pub user: String,
    pub addresses: usize,
    pub attempts: u64,
    /// Whether the user ever logged in: a real account under attack.
    pub exists: bool,
    /// The servers it was tried on, by name.
    pub servers: Vec<String>,
}

/// An address whose failures reached several servers of a fleet in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedAttacker {
    pub ip: String,
    /// The servers it failed on, by name.
    pub servers: Vec<String>,
    pub attempts: u64,
}

/// One hour of the chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hour {
    pub start_unix: i64,
    pub failures: u64,
    pub successes: u64,
}

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub version: String,
    pub host: HostInfo,
    pub generated: jiff::Zoned,
    pub window: Window,
    pub failures: u64,
    pub successes: u64,
    pub compromises: Vec<Compromise>,
    /// (user, ip, hostname) with attempts.
    pub top_triples: Vec<((String, String, String), u64)>,
    pub top_users: Vec<(String, u64)>,
    pub top_countries: Vec<(String, u64)>,
    pub top_aso: Vec<(String, u64)>,
    pub top_asn: Vec<(String, u64)>,
    pub top_networks: Vec<(String, u64)>,
    pub sprayed: Vec<Sprayed>,
    /// Of the sprayed users, those tried on two servers or more (a fleet report's table).
    pub sprayed_across: Vec<Sprayed>,
    /// Addresses that failed on two servers or more, the most servers first.
    pub shared_attackers: Vec<SharedAttacker>,
    pub attackers: usize,
    pub new_attackers: usize,
    /// Failed attempts in the window just before, and the daily average of the 7 windows
    /// before.
    pub previous: u64,
    pub week_average: f64,
    /// Failed attempts whose reverse DNS did not give a name, by status.
    pub rdns_failures: u64,
    pub rdns_breakdown: Vec<(String, u64)>,
    /// The CSV's path, size and lines (header included), when it exists.
    pub csv: Option<(String, u64, u64)>,
    /// Runs finished in the window and what they counted.
    pub runs: u64,
    pub health: RunCounts,
    pub hours: Vec<Hour>,
    /// A fleet report's servers (empty for one server's own report).
    pub fleet: Vec<ServerHealth>,
    /// The window's events (for the CSV attachment).
    pub events: Vec<StoredEvent>,
}

fn user_text(e: &StoredEvent) -> String {
    e.event
        .user
        .as_deref()
        .map(|u| String::from_utf8_lossy(u).into_owned())
        .unwrap_or_default()
}

/// The `n` largest counts, ties by key (stable output for identical stores).
fn top<K: Ord + Clone>(counts: HashMap<K, u64>, n: usize) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Who tried a user, or where an address failed.
#[derive(Default)]
struct Tried {
    ips: HashSet<String>,
    servers: BTreeSet<String>,
    attempts: u64,
}

impl Tried {
    fn add(&mut self, ip: Option<&str>, server: Option<&str>, n: u64) {
        // Looked up first: most events repeat an address and a server already there.
        if let Some(ip) = ip
            && !self.ips.contains(ip)
        {
            self.ips.insert(ip.to_owned());
        }
        if let Some(s) = server
            && !self.servers.contains(s)
        {
            self.servers.insert(s.to_owned());
        }
        self.attempts += n;
    }
}

/// Adds `n` to the count of `key`, allocating the key only the first time it is seen.
fn bump(map: &mut HashMap<String, u64>, key: &str, n: u64) {
    match map.get_mut(key) {
        Some(count) => *count += n,
        None => {
            map.insert(key.to_owned(), n);
        }
    }
}

/// Counts of the window's events, gathered in one pass.
#[derive(Default)]
struct Tally {
    failures: u64,
    successes: u64,
    triples: HashMap<(String, String, String), u64>,
    users: HashMap<String, u64>,
    countries: HashMap<String, u64>,
    asos: HashMap<String, u64>,
    asns: HashMap<String, u64>,
    networks: HashMap<String, u64>,
    rdns: HashMap<String, u64>,
    /// Per user: the addresses that tried it, its attempts, the servers it was tried on.
    user_ips: HashMap<String, Tried>,
    /// Per attacking address: the servers it failed on, its attempts.
    attackers: HashMap<String, Tried>,
    hours: Vec<Hour>,
}

impl Tally {
    fn new(window: &Window) -> Tally {
        Tally {
            hours: window
                .hours()
                .into_iter()
                .map(|start_unix| Hour {
                    start_unix,
                    ..Hour::default()
                })
                .collect(),
            ..Tally::default()
        }
    }

    fn add(&mut self, e: &StoredEvent, window_start: i64) {
        let n = u64::from(e.event.attempts);
        let t = e.event.time.map_or(window_start, |t| t.unix);
        let slot = self
            .hours
            .partition_point(|h| h.start_unix <= t)
            .saturating_sub(1);
        let hour = self.hours.get_mut(slot);
        if e.event.outcome == Outcome::Success {
            self.successes += n;
            if let Some(h) = hour {
                h.successes += n;
            }
            return;
        }
        self.failures += n;
        if let Some(h) = hour {
            h.failures += n;
        }
        let ip = e.event.ip.to_string();
        let user = user_text(e);
        let en = &e.enrichment;
        *self
            .triples
            .entry((
                user.clone(),
                ip.clone(),
                en.hostname.clone().unwrap_or_default(),
            ))
            .or_default() += n;
        let server = e.event.server.as_deref();
        if e.event.user.is_some() {
            bump(&mut self.users, &user, n);
            match self.user_ips.get_mut(&user) {
                Some(tried) => tried,
                None => self.user_ips.entry(user).or_default(),
            }
            .add(Some(&ip), server, n);
        }
        for (map, value) in [
            (&mut self.countries, &en.country_code),
            (&mut self.asos, &en.aso),
            (&mut self.asns, &en.asn),
        ] {
            if let Some(v) = value {
                bump(map, v, n);
            }
        }
        bump(&mut self.networks, &network(e.event.ip), n);
        if let Some(status) = &en.reverse_dns_status
            && status != "OK"
        {
            bump(&mut self.rdns, status, n);
        }
        self.attackers.entry(ip).or_default().add(None, server, n);
    }
}

impl Report {
    /// Gathers the report of `window` from `store`.
    pub fn build(
        store: &dyn ReportStore,
        window: Window,
        host: HostInfo,
        generated: jiff::Zoned,
        csv: Option<(String, u64, u64)>,
    ) -> Result<Report, StoreError> {
        let len = window.until - window.since;
        let (since, until) = (window.since, window.until);
        // The figures that do not depend on the window's events are asked on a second handle
        // while this one reads and tallies them; then the new attackers, while this one looks
        // for compromises (a fleet store answers each in a query of its own, in parallel).
        let side = store.parallel_reader()?;
        let (attackers_tx, attackers_rx) = std::sync::mpsc::channel::<Vec<String>>();
        std::thread::scope(|scope| {
            let side = scope.spawn(move || -> Result<_, StoreError> {
                let previous = side.attempts_between(Outcome::Failure, since - len, since)?;
                let week = side.attempts_between(Outcome::Failure, since - 7 * len, since)?;
                let (runs, health) = side.runs_between(since, until)?;
                let fleet = side.fleet_health(since, until)?;
                let new_attackers = match attackers_rx.recv() {
                    Ok(attackers) => {
                        let attackers: Vec<&str> = attackers.iter().map(String::as_str).collect();
                        side.count_new(FailureKey::Ip, &attackers, since)? as usize
                    }
                    Err(_) => 0, // the events could not be read: that error is reported
                };
                Ok(SideFigures {
                    previous,
                    week,
                    runs,
                    health,
                    fleet,
                    new_attackers,
                })
            });
            let main = || -> Result<_, StoreError> {
                let mut events = Vec::new();
                store.for_each_event_between(since, until, &mut |e| events.push(e))?;
                let mut tally = Tally::new(&window);
                for e in &events {
                    tally.add(e, since);
                }
                let _ = attackers_tx.send(tally.attackers.keys().cloned().collect());
                let compromises = compromises(store, &events)?;
                let sprayed = sprayed(store, std::mem::take(&mut tally.user_ips))?;
                Ok(WindowFigures {
                    events,
                    tally,
                    compromises,
                    sprayed,
                })
            };
            let main = main();
            drop(attackers_tx);
            let side = side.join().expect("the report's second reader panicked");
            Ok(Self::assemble(window, host, generated, csv, main?, side?))
        })
    }

    /// The report of what [`Report::build`] gathered.
    fn assemble(
        window: Window,
        host: HostInfo,
        generated: jiff::Zoned,
        csv: Option<(String, u64, u64)>,
        w: WindowFigures,
        side: SideFigures,
    ) -> Report {
        let (tally, sprayed) = (w.tally, w.sprayed);
        let sprayed_across = sprayed
            .iter()
            .filter(|s| s.servers.len() > 1)
            .take(TOP)
            .cloned()
            .collect();
        let shared_attackers = shared_attackers(&tally.attackers);
        Report {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            host,
            generated,
            window,
            failures: tally.failures,
            successes: tally.successes,
            compromises: w.compromises,
            top_triples: top(tally.triples, TOP),
            top_users: top(tally.users, TOP),
            top_countries: top(tally.countries, TOP),
            top_aso: top(tally.asos, TOP),
            top_asn: top(tally.asns, TOP),
            top_networks: top(tally.networks, TOP),
            sprayed: sprayed.into_iter().take(TOP).collect(),
            sprayed_across,
            shared_attackers,
            attackers: tally.attackers.len(),
            new_attackers: side.new_attackers,
            previous: side.previous,
            week_average: side.week as f64 / 7.0,
            rdns_failures: tally.rdns.values().sum(),
            rdns_breakdown: top(tally.rdns, usize::MAX),
            csv,
            runs: side.runs,
            health: side.health,
            hours: tally.hours,
            fleet: side.fleet,
            events: w.events,
        }
    }
}

/// What a report gathers from the window's events.
struct WindowFigures {
    events: Vec<StoredEvent>,
    tally: Tally,
    compromises: Vec<Compromise>,
    sprayed: Vec<Sprayed>,
}

/// What a report asks beside the window's events (on a second reader).
struct SideFigures {
    previous: u64,
    week: u64,
    runs: u64,
    health: RunCounts,
    fleet: Vec<ServerHealth>,
    new_attackers: usize,
}

/// Users tried from [`SPRAY_MIN_IPS`] addresses or more, the most addresses first (all of
/// them: the caller cuts each list it makes).
fn sprayed(
    store: &dyn ReportStore,
    user_ips: HashMap<String, Tried>,
) -> Result<Vec<Sprayed>, StoreError> {
    let candidates: Vec<(String, Tried)> = user_ips
        .into_iter()
        .filter(|(_, tried)| tried.ips.len() >= SPRAY_MIN_IPS)
        .collect();
    let users: Vec<&[u8]> = candidates.iter().map(|(u, _)| u.as_bytes()).collect();
    let exists = store.users_ever_succeeded(&users)?;
    let mut sprayed: Vec<Sprayed> = candidates
        .into_iter()
        .zip(exists)
        .map(|((user, tried), exists)| Sprayed {
            exists,
            user,
            addresses: tried.ips.len(),
            attempts: tried.attempts,
            servers: tried.servers.into_iter().collect(),
        })
        .collect();
    sprayed.sort_by(|a, b| {
        (b.addresses, b.attempts, &a.user).cmp(&(a.addresses, a.attempts, &b.user))
    });
    Ok(sprayed)
}

/// The [`TOP`] addresses that failed on the most servers (two at least), then the most
/// attempts.
fn shared_attackers(attackers: &HashMap<String, Tried>) -> Vec<SharedAttacker> {
    let mut shared: Vec<SharedAttacker> = attackers
        .iter()
        .filter(|(_, t)| t.servers.len() > 1)
        .map(|(ip, t)| SharedAttacker {
            ip: ip.clone(),
            servers: t.servers.iter().cloned().collect(),
            attempts: t.attempts,
        })
        .collect();
    shared.sort_by(|a, b| {
        (b.servers.len(), b.attempts, &a.ip).cmp(&(a.servers.len(), a.attempts, &b.ip))
    });
    shared.truncate(TOP);
    shared
}

/// Successful logins of the window from an address, network or ASN with earlier failures;
/// one per (address, user), the strongest evidence first (address, then network, then ASN);
/// those across servers of a fleet come first.
fn compromises(
    store: &dyn ReportStore,
    events: &[StoredEvent],
) -> Result<Vec<Compromise>, StoreError> {
    // One (address, user) each, with what each key would look up.
    let mut seen = HashSet::new();
    let logins: Vec<(&StoredEvent, String, String, String, i64)> = events
        .iter()
        .filter(|e| e.event.outcome == Outcome::Success)
        .filter_map(|e| {
            let ip = e.event.ip.to_string();
            let user = user_text(e);
            seen.insert((ip.clone(), user.clone())).then(|| {
                let t = e.event.time.map_or(i64::MAX, |t| t.unix);
                (e, ip, user, network(e.event.ip), t)
            })
        })
        .collect();
    // The strongest evidence first: each key asks only about the logins the ones before it
    // found nothing for, all of them in one call.
    let mut found: Vec<Option<(Evidence, EarlierFailures)>> = logins.iter().map(|_| None).collect();
    for key in [FailureKey::Ip, FailureKey::Network, FailureKey::Asn] {
        let mut asked = Vec::new();
        let mut asks = Vec::new();
        for (i, (e, ip, _, net, t)) in logins.iter().enumerate() {
            let value = match key {
                FailureKey::Ip => Some(ip.as_str()),
                FailureKey::Network => Some(net.as_str()),
                FailureKey::Asn => e.enrichment.asn.as_deref(),
            };
            if let Some(value) = value
                && found[i].is_none()
            {
                asked.push(i);
                asks.push((value, *t));
            }
        }
        if asks.is_empty() {
            continue;
        }
        let answers = store.earlier_failures(key, &asks)?;
        for ((i, (value, _)), answer) in asked.into_iter().zip(&asks).zip(answers) {
            found[i] = answer.map(|f| {
                let evidence = match key {
                    FailureKey::Ip => Evidence::Ip,
                    FailureKey::Network => Evidence::Network(value.to_string()),
                    FailureKey::Asn => Evidence::Asn(value.to_string()),
                };
                (evidence, f)
            });
        }
    }
    let mut out = Vec::new();
    for ((e, ip, user, _, t), found) in logins.into_iter().zip(found) {
        if let Some((evidence, f)) = found {
            let servers = (!f.servers.is_empty())
                .then(|| (e.event.server.clone().unwrap_or_default(), f.servers));
            out.push(Compromise {
                servers,
                time_unix: t,
                ip,
                user,
                protocol: e.event.protocol.as_str().to_owned(),
                evidence,
                earlier_failures: f.attempts,
                first_failure_unix: f.first_unix,
            });
        }
    }
    // Stable: in time order within each group.
    out.sort_by_key(|c| !c.crosses_servers());
    Ok(out)
}

/// `n` with thousands separators (`12,345`).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Change of `now` against `before`, as `+12%`, `-3%`, or `new` when `before` is 0.
pub fn change(now: f64, before: f64) -> String {
    if before == 0.0 {
        return if now == 0.0 { "=".into() } else { "new".into() };
    }
    let pct = (now - before) / before * 100.0;
    if pct.abs() < 0.5 {
        "=".into()
    } else {
        format!("{pct:+.0}%")
    }
}

/// Bytes as the old report showed them: `512 B`, `1.4 KiB`, `3.2 MiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
        b if b < 1 << 30 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b => format!("{:.1} GiB", b as f64 / (1 << 30) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_formatted() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(change(110.0, 100.0), "+10%");
        assert_eq!(change(50.0, 100.0), "-50%");
        assert_eq!(change(5.0, 0.0), "new");
        assert_eq!(size(1536), "1.5 KiB");
    }
}

//! The sections of the real-time side: `[policy]` (what is an attack, who is never listed),
//! `[alerts]`, `[blocklist]` and `[metrics]`, with their defaults beside the fields.
//!
//! Not here: acting on them (`policy`, `alert`, `blocklist`, `metrics`).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::values::{
    parse_choice, parse_duration, parse_email, parse_list, parse_one_line, parse_positive,
    parse_url,
};
use super::{ConfigError, Reader, Section, ini};
use crate::policy::Cidr;

/// `[policy]`: the detections' thresholds and windows (seconds) and the never-listed networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// A success from an address, /24 or /64 or ASN with failures this recent is a possible
    /// compromise. Default 24 h.
    pub compromise_lookback: u64,
    /// Failures of one address or /24-/64 network within `bruteforce_window`: brute force.
    /// Default 10 in 10 minutes.
    pub bruteforce_threshold: u64,
    pub bruteforce_window: u64,
    /// The slow rule, for attackers who pace themselves. Default 30 in 24 h.
    pub slow_bruteforce_threshold: u64,
    pub slow_bruteforce_window: u64,
    /// One user failing from this many addresses within `spraying_window`: spraying.
    /// Default 5 in 1 h.
    pub spraying_addresses: usize,
    pub spraying_window: u64,
    /// Own networks, monitoring: never on a blocklist. Default none.
    pub allow: Vec<Cidr>,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            compromise_lookback: 24 * 3600,
            bruteforce_threshold: 10,
            bruteforce_window: 600,
            slow_bruteforce_threshold: 30,
            slow_bruteforce_window: 24 * 3600,
            spraying_addresses: 5,
            spraying_window: 3600,
            allow: Vec::new(),
        }
    }
}

impl PolicyConfig {
    /// The longest time a detection looks back: how much the windows keep and restore.
    pub fn longest_window(&self) -> u64 {
        [
            self.compromise_lookback,
            self.bruteforce_window,
            self.slow_bruteforce_window,
            self.spraying_window,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    pub fn allows(&self, net: &Cidr) -> bool {
        self.allow.iter().any(|a| a.overlaps(net))
    }
}

impl Section for PolicyConfig {
    const NAME: &'static str = "policy";
    const KEYS: &'static [&'static str] = &[
        "compromise_lookback",
        "bruteforce_threshold",
        "bruteforce_window",
        "slow_bruteforce_threshold",
        "slow_bruteforce_window",
        "spraying_addresses",
        "spraying_window",
        "allow",
    ];
    fn read(r: &Reader) -> Result<PolicyConfig, ConfigError> {
        let d = PolicyConfig::default();
        let count = |v: &str| parse_positive(v).map(|n| n as u64);
        Ok(PolicyConfig {
            compromise_lookback: r
                .read("compromise_lookback", parse_duration)?
                .unwrap_or(d.compromise_lookback),
            bruteforce_threshold: r
                .read("bruteforce_threshold", count)?
                .unwrap_or(d.bruteforce_threshold),
            bruteforce_window: r
                .read("bruteforce_window", parse_duration)?
                .unwrap_or(d.bruteforce_window),
            slow_bruteforce_threshold: r
                .read("slow_bruteforce_threshold", count)?
                .unwrap_or(d.slow_bruteforce_threshold),
            slow_bruteforce_window: r
                .read("slow_bruteforce_window", parse_duration)?
                .unwrap_or(d.slow_bruteforce_window),
            spraying_addresses: r
                .read("spraying_addresses", parse_positive)?
                .unwrap_or(d.spraying_addresses),
            spraying_window: r
                .read("spraying_window", parse_duration)?
                .unwrap_or(d.spraying_window),
            allow: r
                .read("allow", |v| {
                    parse_list(v)
                        .iter()
                        .map(|c| c.parse::<Cidr>())
                        .collect::<Result<Vec<_>, _>>()
                })?
                .unwrap_or(d.allow),
        })
    }
}

/// `[alerts] webhook_format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The alert's JSON as it is (the README's contract).
    #[default]
    Json,
    /// ntfy: the message as the body, title, priority and tags as headers.
    Ntfy,
    /// Slack's incoming webhooks `{"text": …}`, also Mattermost and Rocket.Chat.
    Slack,
}

/// `[alerts]`: where detections are sent as they happen. No channel (the default): they are
/// still detected, stored, listed and blocklisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// Mailed through `[report]`'s transport and sender.
    pub email: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_format: WebhookFormat,
    /// Run with `sh -c`, the alert's JSON on its standard input.
    pub command: Option<String>,
    /// One alert per source and kind per this period. Default 1 h.
    pub hold_off: u64,
    /// Detections in lines older than this (a catch-up) are stored, not sent. Default 1 h.
    pub max_age: u64,
    /// Delivery gives up after this long (retries back off from 5 s to 10 min). Default 24 h.
    pub give_up_after: u64,
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            email: None,
            webhook_url: None,
            webhook_format: WebhookFormat::Json,
            command: None,
            hold_off: 3600,
            max_age: 3600,
            give_up_after: 24 * 3600,
        }
    }
}

impl Section for AlertsConfig {
    const NAME: &'static str = "alerts";
    const KEYS: &'static [&'static str] = &[
        "email",
        "webhook_url",
        "webhook_format",
        "command",
        "hold_off",
        "max_age",
        "give_up_after",
    ];
    fn read(r: &Reader) -> Result<AlertsConfig, ConfigError> {
        let d = AlertsConfig::default();
        Ok(AlertsConfig {
            email: r.read("email", parse_email)?.flatten(),
            webhook_url: r.read("webhook_url", parse_url)?.flatten(),
            webhook_format: match r.read("webhook_format", |v| {
                parse_choice(v, &["json", "ntfy", "slack"])
            })? {
                Some(1) => WebhookFormat::Ntfy,
                Some(2) => WebhookFormat::Slack,
                Some(_) => WebhookFormat::Json,
                None => d.webhook_format,
            },
            command: r
                .read("command", parse_one_line)?
                .filter(|c| !c.trim().is_empty()),
            hold_off: r.read("hold_off", parse_duration)?.unwrap_or(d.hold_off),
            max_age: r.read("max_age", parse_duration)?.unwrap_or(d.max_age),
            give_up_after: r
                .read("give_up_after", parse_duration)?
                .unwrap_or(d.give_up_after),
        })
    }
}

/// `[blocklist] format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BlocklistFormat {
    /// An nftables file (`nft -f`): table `inet maillogsentinel`, sets with timeouts.
    Nftables,
    /// A Postfix `check_client_access cidr:` table.
    Postfix,
    /// One address or network a line.
    #[default]
    Plain,
}

impl BlocklistFormat {
    pub const NAMES: [&'static str; 3] = ["nftables", "postfix", "plain"];

    pub fn parse(v: &str) -> Result<BlocklistFormat, String> {
        Ok(match parse_choice(v, &Self::NAMES)? {
            0 => BlocklistFormat::Nftables,
            1 => BlocklistFormat::Postfix,
            _ => BlocklistFormat::Plain,
        })
    }
}

/// `[blocklist]`: the addresses of attacks, for the firewall or Postfix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistConfig {
    /// Kept current (temp file + rename) by follow and each run. Default none.
    pub path: Option<PathBuf>,
    pub format: BlocklistFormat,
    /// Run with `sh -c` after the file changed (e.g. `nft -f /var/lib/…/blocklist.nft`).
    pub reload_command: Option<String>,
    /// An entry stays this long after its last detection. Default 4 h.
    pub ban_time: u64,
    /// This many listed addresses of one /24 or /64 list the network instead. Default 3.
    pub network_threshold: usize,
}

impl Default for BlocklistConfig {
    fn default() -> BlocklistConfig {
        BlocklistConfig {
            path: None,
            format: BlocklistFormat::Plain,
            reload_command: None,
            ban_time: 4 * 3600,
            network_threshold: 3,
        }
    }
}

impl Section for BlocklistConfig {
    const NAME: &'static str = "blocklist";
    const KEYS: &'static [&'static str] = &[
        "path",
        "format",
        "reload_command",
        "ban_time",
        "network_threshold",
    ];
    fn read(r: &Reader) -> Result<BlocklistConfig, ConfigError> {
        let d = BlocklistConfig::default();
        Ok(BlocklistConfig {
            path: r.optional_path("path")?,
            format: r
                .read("format", BlocklistFormat::parse)?
                .unwrap_or(d.format),
            reload_command: r
                .read("reload_command", parse_one_line)?
                .filter(|c| !c.trim().is_empty()),
            ban_time: r.read("ban_time", parse_duration)?.unwrap_or(d.ban_time),
            network_threshold: r
                .read("network_threshold", parse_positive)?
                .unwrap_or(d.network_threshold),
        })
    }
}

/// `[metrics]`: Prometheus metrics. Default: none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Served at `http://LISTEN/metrics` by follow mode.
    pub listen: Option<SocketAddr>,
    /// Written after each run and every minute of follow, for node_exporter's textfile
    /// collector (`*.prom`).
    pub textfile: Option<PathBuf>,
}

impl Section for MetricsConfig {
    const NAME: &'static str = "metrics";
    const KEYS: &'static [&'static str] = &["listen", "textfile"];
    fn read(r: &Reader) -> Result<MetricsConfig, ConfigError> {
        Ok(MetricsConfig {
            listen: r
                .read("listen", |v| {
                    if v.is_empty() {
                        return Ok(None);
                    }
                    v.parse::<SocketAddr>().map(Some).map_err(|_| {
                        format!(
                            "expected an address and port, e.g. 127.0.0.1:9817, got `{}`",
                            ini::shown(v)
                        )
                    })
                })?
                .flatten(),
            textfile: r.optional_path("textfile")?,
        })
    }
}

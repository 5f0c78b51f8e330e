//! Enrichment, the transform between detection and the stores: for each batch of events, the
//! reverse DNS (`dns`, through the `cache`) and the country/ASN/organisation (`geo`) of its
//! distinct client addresses. It runs on a thread of its own between the parsing and the
//! store writer (see `ingest`), so parsing never waits on the network; each batch waits at
//! most for its slowest lookup's timeout.
//!
//! Not here: writing the results (`store`, `sink`), downloading geo files (`update`).

pub(crate) mod cache;
pub(crate) mod dns;
pub mod geo;
pub(crate) mod update;

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::Config;
use crate::event::AuthEvent;
use crate::store::{Enrichment, IngestStore, PtrRecord, StoreError};
use cache::PtrCache;
use dns::{DnsSettings, ReverseDns};
use geo::Geo;

/// An enriched batch: one [`Enrichment`] per event, and the new DNS answers to cache.
#[derive(Debug, Default)]
pub struct EnrichedBatch {
    pub enrichments: Vec<Enrichment>,
    pub ptrs: Vec<PtrRecord>,
}

/// Counters for the run's summary and the benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EnrichStats {
    /// Distinct addresses met (per batch).
    pub addresses: u64,
    /// Answers taken from the cache (memory or store).
    pub cached: u64,
    /// Lookups sent to the network.
    pub looked_up: u64,
    /// Of those, the ones without an answer in time.
    pub timeouts: u64,
}

/// Reverse DNS (optional, with its cache) and geo databases, for a run.
pub struct Enricher {
    dns: Option<(ReverseDns, Option<PtrCache>)>,
    geo: Geo,
    pub stats: EnrichStats,
}

impl Enricher {
    /// Geo only (DNS off).
    pub fn without_dns(geo: Geo) -> Enricher {
        Enricher {
            dns: None,
            geo,
            stats: EnrichStats::default(),
        }
    }

    /// From the config: `[dns]` (`dns_off` is `--no-dns`), `[dns_cache]`, the geo databases.
    /// Problems (no usable DNS configuration, a missing database) are returned as warnings:
    /// the run goes on without that part.
    pub fn from_config(config: &Config, dns_off: bool) -> (Enricher, Vec<String>) {
        let (geo, mut warnings) = Geo::load(&config.country_db, &config.asn_db);
        let mut enricher = Enricher::without_dns(geo);
        if config.dns.enabled && !dns_off {
            match ReverseDns::new(DnsSettings::from_config(&config.dns)) {
                Ok(r) => {
                    let cache = config.dns_cache.enabled.then(|| {
                        PtrCache::new(config.dns_cache.size, config.dns_cache.ttl_seconds)
                    });
                    enricher.dns = Some((r, cache));
                }
                Err(e) => warnings.push(format!("{e}: reverse DNS is off for this run")),
            }
        }
        (enricher, warnings)
    }

    pub fn with_dns(mut self, dns: ReverseDns, cache: Option<PtrCache>) -> Enricher {
        self.dns = Some((dns, cache));
        self
    }

    /// Whether reverse DNS is on for this run.
    pub fn has_dns(&self) -> bool {
        self.dns.is_some()
    }

    /// Whether there is anything to do (else the columns stay `NULL`).
    pub fn is_active(&self) -> bool {
        self.dns.is_some() || !self.geo.is_empty()
    }

    /// Enriches `events`. `store` backs the DNS cache (read only here: the answers to keep
    /// are returned, for the writer to store with the events). `now` is the wall clock.
    pub fn enrich<'e>(
        &mut self,
        events: impl Iterator<Item = &'e AuthEvent> + Clone,
        store: Option<&dyn IngestStore>,
        now: i64,
    ) -> Result<EnrichedBatch, StoreError> {
        let mut by_ip: HashMap<IpAddr, Enrichment> = HashMap::new();
        for e in events.clone() {
            by_ip.entry(e.ip).or_default();
        }
        self.stats.addresses += by_ip.len() as u64;
        let mut ptrs = Vec::new();
        if let Some((resolver, cache)) = &mut self.dns {
            let mut missing = Vec::new();
            for (&ip, en) in by_ip.iter_mut() {
                match cache.as_mut().map(|c| c.get(ip, now, store)).transpose()? {
                    Some(Some(r)) => {
                        self.stats.cached += 1;
                        fill_ptr(en, &r);
                    }
                    _ => missing.push(ip),
                }
            }
            missing.sort_unstable();
            self.stats.looked_up += missing.len() as u64;
            for (&ip, answer) in missing.iter().zip(resolver.lookup_many(&missing)) {
                self.stats.timeouts += u64::from(answer.status == dns::DnsStatus::Timeout);
                let record = cache::record(ip, answer, now);
                if let Some(en) = by_ip.get_mut(&ip) {
                    fill_ptr(en, &record);
                }
                if let Some(c) = cache {
                    c.insert(&record);
                    ptrs.push(record);
                }
            }
        }
        for (&ip, en) in by_ip.iter_mut() {
            let g = self.geo.lookup(ip);
            en.country_code = g.country_code.map(str::to_owned);
            en.asn = g.asn.map(|n| n.to_string());
            en.aso = g.aso.map(str::to_owned);
        }
        let enrichments = events
            .map(|e| by_ip.get(&e.ip).cloned().unwrap_or_default())
            .collect();
        Ok(EnrichedBatch { enrichments, ptrs })
    }
}

fn fill_ptr(en: &mut Enrichment, r: &PtrRecord) {
    en.hostname = r.hostname.clone();
    en.reverse_dns_status = Some(r.status.clone());
    en.ptr_confirmed = r.confirmed;
}

//! The reverse DNS cache, with the old `[dns_cache]` meaning: `size` entries in memory (LRU),
//! backed by the store's `dns_cache` table, which lasts across runs. An entry is fresh for
//! `ttl_seconds` when its answer is definite (a name, or NXDOMAIN: negative answers are cached
//! too), for at most [`RETRY_SECONDS`] when it is a failure (timeout, SERVFAIL...); a stale
//! entry is looked up again and replaced, never reused forever.
//!
//! Not here: the lookups (`dns`), the store's SQL (`store`).

use std::net::IpAddr;
use std::num::NonZeroUsize;

use lru::LruCache;

use super::dns::{DnsStatus, PtrAnswer};
use crate::store::{IngestStore, PtrRecord, StoreError};

/// How long a failed lookup is trusted before it is tried again.
pub const RETRY_SECONDS: i64 = 900;

pub struct PtrCache {
    memory: LruCache<IpAddr, PtrRecord>,
    ttl: i64,
}

impl PtrCache {
    pub fn new(size: usize, ttl_seconds: u64) -> PtrCache {
        PtrCache {
            memory: LruCache::new(NonZeroUsize::new(size).unwrap_or(NonZeroUsize::MIN)),
            ttl: i64::try_from(ttl_seconds).unwrap_or(i64::MAX),
        }
    }

    /// Whether `r` may still be used at `now`.
    pub fn is_fresh(&self, r: &PtrRecord, now: i64) -> bool {
        is_fresh(self.ttl, r, now)
    }

    /// The fresh answer for `ip`, from memory or else the store (then kept in memory).
    pub fn get(
        &mut self,
        ip: IpAddr,
        now: i64,
        store: Option<&dyn IngestStore>,
    ) -> Result<Option<PtrRecord>, StoreError> {
        let ttl = self.ttl;
        if let Some(r) = self.memory.get(&ip) {
            if is_fresh(ttl, r, now) {
                return Ok(Some(r.clone()));
            }
            self.memory.pop(&ip);
        }
        let Some(stored) = store.map(|s| s.cached_ptr(ip)).transpose()?.flatten() else {
            return Ok(None);
        };
        if !self.is_fresh(&stored, now) {
            return Ok(None);
        }
        self.memory.put(ip, stored.clone());
        Ok(Some(stored))
    }

    /// Keeps a new answer in memory.
    pub fn insert(&mut self, record: &PtrRecord) {
        self.memory.put(record.ip, record.clone());
    }
}

fn is_fresh(ttl: i64, r: &PtrRecord, now: i64) -> bool {
    let ttl = if DnsStatus::from_text(&r.status).is_definite() {
        ttl
    } else {
        ttl.min(RETRY_SECONDS)
    };
    now.saturating_sub(r.resolved_unix) < ttl
}

/// The answer for `ip`, resolved at `now`, as the store keeps it.
pub fn record(ip: IpAddr, answer: PtrAnswer, now: i64) -> PtrRecord {
    PtrRecord {
        ip,
        hostname: answer.hostname,
        status: answer.status.to_text(),
        confirmed: answer.confirmed,
        resolved_unix: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn answer(status: DnsStatus) -> PtrAnswer {
        PtrAnswer {
            hostname: (status == DnsStatus::Ok).then(|| "h.example".to_owned()),
            status,
            confirmed: None,
        }
    }

    fn put(c: &mut PtrCache, ip: IpAddr, status: DnsStatus, now: i64) -> PtrRecord {
        let r = record(ip, answer(status), now);
        c.insert(&r);
        r
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn definite_answers_last_the_ttl_failures_are_retried_sooner() {
        let mut c = PtrCache::new(4, 3600);
        put(&mut c, IP, DnsStatus::Ok, 1000);
        assert!(c.get(IP, 1000 + 3599, None).unwrap().is_some());
        assert!(c.get(IP, 1000 + 3600, None).unwrap().is_none(), "stale");
        put(&mut c, IP, DnsStatus::NxDomain, 1000);
        assert!(c.get(IP, 1000 + 3599, None).unwrap().is_some(), "negative");
        put(&mut c, IP, DnsStatus::Timeout, 1000);
        assert!(c.get(IP, 1000 + RETRY_SECONDS - 1, None).unwrap().is_some());
        assert!(c.get(IP, 1000 + RETRY_SECONDS, None).unwrap().is_none());
        let mut short = PtrCache::new(4, 10);
        put(&mut short, IP, DnsStatus::ServFail, 0);
        assert!(
            short.get(IP, 10, None).unwrap().is_none(),
            "ttl below retry"
        );
    }

    #[test]
    fn memory_holds_size_entries_and_the_store_backs_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut c = PtrCache::new(1, 3600);
        let other: IpAddr = "2001:db8::1".parse().unwrap();
        let r1 = put(&mut c, IP, DnsStatus::Ok, 100);
        let r2 = put(&mut c, other, DnsStatus::NxDomain, 100);
        // Size 1: IP fell out of memory, and is not in the store yet.
        assert!(c.get(IP, 101, Some(&store)).unwrap().is_none());
        store
            .commit(&crate::store::Commit {
                ptrs: &[r1.clone(), r2],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(c.get(IP, 101, Some(&store)).unwrap(), Some(r1));
        // Stale in the store: not used.
        assert!(
            PtrCache::new(1, 3600)
                .get(IP, 100 + 3600, Some(&store))
                .unwrap()
                .is_none()
        );
    }
}

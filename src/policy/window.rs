//! Sliding windows in bounded memory: the recent failures of each source (address, /24 or
//! /64, ASN) and the recent addresses of each user, the least recently active dropped first
//! past a fixed number of sources.
//!
//! Not here: the rules that read them (`policy`).

use std::collections::VecDeque;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroUsize;

use lru::LruCache;

/// Sources (and users) followed at once; past this, the least recently active is forgotten.
const MAX_SOURCES: usize = 200_000;
/// Distinct seconds kept per source; past this the two oldest merge (their attempts counted
/// at the later second): counts stay exact, the oldest times become a little late.
const MAX_SECONDS: usize = 4096;

/// One source's failures, oldest first: (second, attempts of that second).
#[derive(Debug, Default)]
pub struct Failures(VecDeque<(i64, u64)>);

impl Failures {
    /// Adds `attempts` at `t`, forgets what is older than `keep_from`.
    pub fn add(&mut self, t: i64, attempts: u64, keep_from: i64) {
        // Lines of two files may interleave a little out of order: insert in place.
        let at = self.0.iter().rposition(|&(s, _)| s <= t);
        match at {
            Some(i) if self.0[i].0 == t => self.0[i].1 += attempts,
            Some(i) => self.0.insert(i + 1, (t, attempts)),
            None => self.0.push_front((t, attempts)),
        }
        while self.0.front().is_some_and(|&(s, _)| s < keep_from) {
            self.0.pop_front();
        }
        if self.0.len() > MAX_SECONDS
            && let Some((_, n)) = self.0.pop_front()
            && let Some(next) = self.0.front_mut()
        {
            next.1 += n;
        }
    }

    /// Attempts in `from..=to`, and the first one's second.
    pub fn between(&self, from: i64, to: i64) -> (u64, Option<i64>) {
        let mut count = 0;
        let mut first = None;
        for &(s, n) in self.0.iter().rev() {
            if s < from {
                break;
            }
            if s <= to {
                count += n;
                first = Some(s);
            }
        }
        (count, first)
    }
}

/// The recent failures of many sources.
pub struct Sources<K: Hash + Eq>(LruCache<K, Failures>);

impl<K: Hash + Eq> Sources<K> {
    pub fn new() -> Sources<K> {
        Sources(LruCache::new(
            NonZeroUsize::new(MAX_SOURCES).expect("non-zero"),
        ))
    }

    pub fn add(&mut self, key: K, t: i64, attempts: u64, keep_from: i64) {
        self.0
            .get_or_insert_mut(key, Failures::default)
            .add(t, attempts, keep_from);
    }

    pub fn between(&self, key: &K, from: i64, to: i64) -> (u64, Option<i64>) {
        self.0.peek(key).map_or((0, None), |f| f.between(from, to))
    }
}

/// Per user, the latest second of each of its most recent failing addresses (at most
/// `keep` addresses: enough to tell whether `keep` were seen in a window).
pub struct Spread {
    users: LruCache<Vec<u8>, Vec<(IpAddr, i64)>>,
    keep: usize,
}

impl Spread {
    pub fn new(keep: usize) -> Spread {
        Spread {
            users: LruCache::new(NonZeroUsize::new(MAX_SOURCES).expect("non-zero")),
            keep: keep.max(1),
        }
    }

    /// Notes `ip` failing for `user` at `t`; returns the addresses seen in `from..=t`,
    /// latest first.
    pub fn add(&mut self, user: &[u8], ip: IpAddr, t: i64, from: i64) -> Vec<(IpAddr, i64)> {
        let seen = match self.users.get_mut(user) {
            Some(seen) => seen,
            None => self.users.get_or_insert_mut(user.to_vec(), Vec::new),
        };
        match seen.iter_mut().find(|(a, _)| *a == ip) {
            Some(entry) => entry.1 = entry.1.max(t),
            None => seen.push((ip, t)),
        }
        seen.sort_by_key(|&(_, t)| std::cmp::Reverse(t));
        seen.truncate(self.keep);
        seen.iter().copied().filter(|&(_, s)| s >= from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_inside_the_window_only() {
        let mut f = Failures::default();
        for t in [100, 105, 105, 103, 200] {
            f.add(t, 1, 0);
        }
        assert_eq!(f.between(100, 200), (5, Some(100)));
        assert_eq!(f.between(101, 199), (3, Some(103)));
        assert_eq!(f.between(201, 300), (0, None));
        f.add(300, 2, 150);
        assert_eq!(f.between(0, 400), (3, Some(200)));
    }

    #[test]
    fn failures_stay_bounded_and_keep_their_count() {
        let mut f = Failures::default();
        for t in 0..(MAX_SECONDS as i64 * 3) {
            f.add(t, 1, 0);
        }
        assert!(f.0.len() <= MAX_SECONDS);
        assert_eq!(f.between(0, i64::MAX).0, MAX_SECONDS as u64 * 3);
    }

    #[test]
    fn spread_keeps_the_latest_addresses() {
        let mut s = Spread::new(3);
        let ip = |n: u8| IpAddr::from([192, 0, 2, n]);
        assert_eq!(s.add(b"bob", ip(1), 10, 0).len(), 1);
        assert_eq!(s.add(b"bob", ip(1), 11, 0).len(), 1);
        s.add(b"bob", ip(2), 12, 0);
        assert_eq!(s.add(b"bob", ip(3), 13, 0).len(), 3);
        // A fourth address pushes the oldest out; a window from 13 on sees two.
        let seen = s.add(b"bob", ip(4), 14, 13);
        assert_eq!(seen, vec![(ip(4), 14), (ip(3), 13)]);
        assert!(s.add(b"alice", ip(1), 14, 0).len() == 1);
    }
}

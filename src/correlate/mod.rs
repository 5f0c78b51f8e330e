//! Attempt correlation: makes one authentication attempt count once, however many daemons log
//! it, in one streaming pass with bounded memory.
//!
//! The rule (also in docs/ARCHITECTURE.md):
//! * A Dovecot auth-process line with a session id waits for its login process's line with the
//!   same `session=<id>`. A summary `(auth failed, N attempts)` then stands for N attempts: the
//!   waiting lines become events of their own (they name each user tried, where the summary
//!   names only the last), and the summary adds the attempts they do not cover. A `Login:`
//!   turns the waiting lines into failures and adds the success.
//! * A session-less auth-process line (Postfix SASL goes through Dovecot without a session id)
//!   waits for Postfix's `(reason unavailable)` warning from the same IP, which counts the
//!   attempt; the warning consumes the oldest waiting line of that IP.
//! * `pam_unix(dovecot:auth)` is PAM's copy of the `pam(...)` line Dovecot writes next for the
//!   same check: that line consumes it.
//! * A line still waiting after its window (log time), or at the end of input, counts alone.
//!
//! Not done here: parsing lines (`detect`) or deciding what to store.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::detect::{Attempt, CheckKind, Observation};
use crate::envelope::timestamp::EventTime;
use crate::event::{AuthEvent, Outcome};

/// How long lines wait for their partner, in seconds of log time.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// A login connection's auth lines wait this long for its summary / `Login:` line
    /// (Dovecot drops idle pre-login connections after 3 minutes; penalties add seconds).
    pub session: i64,
    /// A session-less auth line waits this long for Postfix's warning (Dovecot's
    /// auth_failure_delay is 2 s; Postfix gives up after 10 s).
    pub sessionless: i64,
    /// Waiting lines held at most; past it the oldest are counted alone (memory bound against
    /// a log crafted to open sessions that never end).
    pub max_pending: usize,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            session: 900,
            sessionless: 60,
            max_pending: 50_000,
        }
    }
}

/// Where a line came from: the envelope fields an event copies.
#[derive(Debug, Clone, Copy)]
pub struct LineContext<'a> {
    pub time: Option<EventTime>,
    pub server: Option<&'a [u8]>,
}

#[derive(Serialize, Deserialize)]
struct Waiting {
    event: AuthEvent,
    seen: i64,
    /// Arrival order, so lines counted alone come out in log order, run after run.
    seq: u64,
}

#[derive(Default)]
pub struct Correlator {
    windows: Windows,
    by_session: HashMap<Box<[u8]>, Vec<Waiting>>,
    by_ip: HashMap<IpAddr, VecDeque<Waiting>>,
    pam_by_ip: HashMap<IpAddr, VecDeque<Waiting>>,
    pending: usize,
    arrivals: u64,
    now: i64,
    last_sweep: i64,
    /// How far the log's clock is behind the wall clock (seconds; negative: ahead), as last
    /// measured: lines expire by the log's own clock (see [`Correlator::expire_at`]).
    clock_lag: i64,
}

fn text(b: Option<&[u8]>) -> Option<String> {
    b.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn to_event(a: &Attempt<'_>, ctx: &LineContext<'_>, outcome: Outcome) -> AuthEvent {
    AuthEvent {
        time: ctx.time,
        server: text(ctx.server),
        service: a.service,
        protocol: a.protocol,
        outcome,
        ip: a.ip,
        user: a.user.map(<[u8]>::to_vec),
        mechanism: text(a.mechanism),
        reason: text(a.reason),
        attempts: a.attempts,
        session: text(a.session),
    }
}

impl Correlator {
    pub fn new(windows: Windows) -> Correlator {
        Correlator {
            windows,
            ..Correlator::default()
        }
    }

    pub fn windows(&self) -> Windows {
        self.windows
    }

    /// Number of lines waiting for a partner.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Feeds one observation; completed events go to `emit`, in the order they complete.
    pub fn observe(
        &mut self,
        obs: &Observation<'_>,
        ctx: &LineContext<'_>,
        emit: &mut impl FnMut(AuthEvent),
    ) {
        if let Some(t) = ctx.time {
            self.now = self.now.max(t.unix);
        }
        if self.now - self.last_sweep >= self.windows.sessionless / 2
            || self.pending > self.windows.max_pending
        {
            self.sweep(emit);
        }
        match obs {
            Observation::Failure(a) => match a.session.and_then(|s| self.take_session(s)) {
                Some(waiting) => {
                    let covered = waiting.len().min(a.attempts as usize);
                    for mut w in waiting.into_iter().take(covered) {
                        w.event.protocol = a.protocol;
                        w.event.session = text(a.session);
                        emit(w.event);
                    }
                    let rest = a.attempts - covered as u32;
                    if rest > 0 {
                        let mut e = to_event(a, ctx, Outcome::Failure);
                        e.attempts = rest;
                        emit(e);
                    }
                }
                None => emit(to_event(a, ctx, Outcome::Failure)),
            },
            Observation::SaslFailure(a) => {
                let partner = self.pop_ip(a.ip, emit);
                let mut e = to_event(a, ctx, Outcome::Failure);
                if e.user.is_none() {
                    e.user = partner.and_then(|p| p.event.user);
                }
                emit(e);
            }
            Observation::Success(a) => {
                if let Some(waiting) = a.session.and_then(|s| self.take_session(s)) {
                    for mut w in waiting {
                        w.event.protocol = a.protocol;
                        emit(w.event);
                    }
                }
                emit(to_event(a, ctx, Outcome::Success));
            }
            Observation::Check(a, kind) => {
                let waiting = Waiting {
                    event: to_event(a, ctx, Outcome::Failure),
                    seen: self.now,
                    seq: self.arrivals,
                };
                self.arrivals += 1;
                self.pending += 1;
                match kind {
                    CheckKind::PamUnix => {
                        self.pam_by_ip.entry(a.ip).or_default().push_back(waiting);
                    }
                    CheckKind::Passdb => {
                        if a.mechanism == Some(b"pam") {
                            self.pop_pam(a.ip, emit);
                        }
                        match a.session {
                            Some(s) => self.by_session.entry(s.into()).or_default().push(waiting),
                            None => self.by_ip.entry(a.ip).or_default().push_back(waiting),
                        }
                    }
                }
            }
            Observation::Ambiguous(_) | Observation::Aborted | Observation::Known => {}
        }
    }

    fn take_session(&mut self, session: &[u8]) -> Option<Vec<Waiting>> {
        let w = self.by_session.remove(session)?;
        self.pending -= w.len();
        Some(w)
    }

    /// The oldest session-less line waiting for `ip` inside its window. Older ones count
    /// alone first: a sweep runs only every half window, so they may still be queued.
    fn pop_ip(&mut self, ip: IpAddr, emit: &mut impl FnMut(AuthEvent)) -> Option<Waiting> {
        let cut = self.now - self.windows.sessionless;
        pop_front(&mut self.by_ip, ip, cut, &mut self.pending, emit)
    }

    fn pop_pam(&mut self, ip: IpAddr, emit: &mut impl FnMut(AuthEvent)) {
        let cut = self.now - self.windows.sessionless;
        pop_front(&mut self.pam_by_ip, ip, cut, &mut self.pending, emit);
    }

    /// Counts alone the lines whose window is over (all of them when over the memory bound).
    fn sweep(&mut self, emit: &mut impl FnMut(AuthEvent)) {
        self.last_sweep = self.now;
        let over = self.pending > self.windows.max_pending;
        let session_cut = if over {
            i64::MAX
        } else {
            self.now - self.windows.session
        };
        let ip_cut = if over {
            i64::MAX
        } else {
            self.now - self.windows.sessionless
        };
        let mut expired = Vec::new();
        self.by_session.retain(|_, waiting| {
            if waiting.last().is_some_and(|w| w.seen < session_cut) {
                expired.append(waiting);
                false
            } else {
                true
            }
        });
        for map in [&mut self.by_ip, &mut self.pam_by_ip] {
            map.retain(|_, queue| {
                while queue.front().is_some_and(|w| w.seen < ip_cut) {
                    expired.extend(queue.pop_front());
                }
                !queue.is_empty()
            });
        }
        self.pending -= expired.len();
        emit_in_order(expired, emit);
    }

    /// End of input: every waiting line counts alone.
    pub fn finish(&mut self, emit: &mut impl FnMut(AuthEvent)) {
        let mut all: Vec<Waiting> = Vec::with_capacity(self.pending);
        all.extend(self.by_session.drain().flat_map(|(_, v)| v));
        for map in [&mut self.by_ip, &mut self.pam_by_ip] {
            all.extend(map.drain().flat_map(|(_, v)| v));
        }
        self.pending = 0;
        emit_in_order(all, emit);
    }
}

/// What an incremental run keeps between runs: the lines still waiting for a partner, so a
/// pair split by the end of a run is still counted once.
#[derive(Serialize, Deserialize)]
struct SavedState {
    version: u32,
    now: i64,
    /// Absent in states of earlier versions: no lag.
    #[serde(default)]
    clock_lag: i64,
    arrivals: u64,
    sessions: Vec<(Vec<u8>, Vec<Waiting>)>,
    by_ip: Vec<(IpAddr, Vec<Waiting>)>,
    pam_by_ip: Vec<(IpAddr, Vec<Waiting>)>,
}

const STATE_VERSION: u32 = 1;

/// A saved state that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("unreadable correlator state: {0}")]
pub struct StateError(String);

impl Correlator {
    /// The waiting lines, as bytes for the store (written with the checkpoints they belong to).
    pub fn save_state(&self) -> Vec<u8> {
        let mut sessions: Vec<(&[u8], &Vec<Waiting>)> =
            self.by_session.iter().map(|(k, v)| (&k[..], v)).collect();
        sessions.sort_by_key(|(k, _)| *k);
        serde_json::to_vec(&serde_json::json!({
            "version": STATE_VERSION,
            "now": self.now,
            "clock_lag": self.clock_lag,
            "arrivals": self.arrivals,
            "sessions": sessions,
            "by_ip": ip_list(&self.by_ip),
            "pam_by_ip": ip_list(&self.pam_by_ip),
        }))
        .expect("plain data serialises")
    }

    /// A correlator holding the waiting lines of [`Correlator::save_state`].
    pub fn restore(windows: Windows, bytes: &[u8]) -> Result<Correlator, StateError> {
        let s: SavedState = serde_json::from_slice(bytes).map_err(|e| StateError(e.to_string()))?;
        if s.version != STATE_VERSION {
            return Err(StateError(format!(
                "version {} is not {STATE_VERSION}",
                s.version
            )));
        }
        let mut c = Correlator::new(windows);
        c.now = s.now;
        c.last_sweep = s.now;
        c.clock_lag = s.clock_lag;
        c.arrivals = s.arrivals;
        for (k, v) in s.sessions {
            c.pending += v.len();
            c.by_session.insert(k.into(), v);
        }
        for (ip, v) in s.by_ip {
            c.pending += v.len();
            c.by_ip.insert(ip, v.into());
        }
        for (ip, v) in s.pam_by_ip {
            c.pending += v.len();
            c.pam_by_ip.insert(ip, v.into());
        }
        Ok(c)
    }

    /// Counts alone the lines whose partner would have been logged before `wall_now` (seconds
    /// since the epoch) by the log's own clock (`wall_now` minus the lag set by
    /// [`Correlator::set_clock_lag`]):
    /// at the end of a run on a log that went quiet, their windows are over even though no
    /// later line says so. By the wall clock, a log whose stamps lag it (a syslog daemon in
    /// another time zone, a buffering relay) would see pairs split by the end of a run
    /// expire early, and count twice.
    pub fn expire_at(&mut self, wall_now: i64, emit: &mut impl FnMut(AuthEvent)) {
        self.now = self.now.max(wall_now - self.clock_lag);
        self.sweep(emit);
    }

    /// The latest log time seen (seconds since the epoch), restored runs included.
    pub fn log_now(&self) -> i64 {
        self.now
    }

    /// Records how far the log's clock is behind the wall clock (wall minus log seconds).
    pub fn set_clock_lag(&mut self, lag: i64) {
        self.clock_lag = lag;
    }
}

/// A map of queues in a stable order, for saving.
fn ip_list(m: &HashMap<IpAddr, VecDeque<Waiting>>) -> Vec<(IpAddr, Vec<&Waiting>)> {
    let mut v: Vec<(IpAddr, Vec<&Waiting>)> =
        m.iter().map(|(ip, q)| (*ip, q.iter().collect())).collect();
    v.sort_by_key(|(ip, _)| *ip);
    v
}

/// Pops the first line of `ip`'s queue seen at or after `cut`; the ones before it count alone.
fn pop_front(
    map: &mut HashMap<IpAddr, VecDeque<Waiting>>,
    ip: IpAddr,
    cut: i64,
    pending: &mut usize,
    emit: &mut impl FnMut(AuthEvent),
) -> Option<Waiting> {
    let queue = map.get_mut(&ip)?;
    let mut found = None;
    while let Some(w) = queue.pop_front() {
        *pending -= 1;
        if w.seen >= cut {
            found = Some(w);
            break;
        }
        emit(w.event);
    }
    if queue.is_empty() {
        map.remove(&ip);
    }
    found
}

fn emit_in_order(mut waiting: Vec<Waiting>, emit: &mut impl FnMut(AuthEvent)) {
    waiting.sort_unstable_by_key(|w| w.seq);
    for w in waiting {
        emit(w.event);
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod state_tests {
    use super::*;
    use crate::envelope::parse_line;
    use crate::envelope::timestamp::{Clock, YearRule};
    use crate::event::Outcome;

    fn feed(c: &mut Correlator, line: &str, out: &mut Vec<AuthEvent>) {
        let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2025));
        let l = parse_line(line.as_bytes(), &mut clock);
        let obs = crate::detect::detect(&l).expect("a known line");
        let ctx = LineContext {
            time: l.time,
            server: l.host,
        };
        c.observe(&obs, &ctx, &mut |e| out.push(e));
    }

    #[test]
    fn a_pair_split_across_runs_counts_once() {
        let mut out = Vec::new();
        let mut c = Correlator::new(Windows::default());
        feed(
            &mut c,
            "Dec 30 00:04:00 m dovecot: auth: passwd-file(a@x,192.0.2.1,<S1>): unknown user",
            &mut out,
        );
        feed(
            &mut c,
            "Dec 30 00:04:01 m dovecot: auth: passwd-file(b@x,192.0.2.2): Password mismatch",
            &mut out,
        );
        feed(
            &mut c,
            "Dec 30 00:04:02 m auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=c rhost=192.0.2.3",
            &mut out,
        );
        assert!(out.is_empty());
        let saved = c.save_state();
        let mut c = Correlator::restore(Windows::default(), &saved).unwrap();
        assert_eq!(c.pending(), 3);
        feed(
            &mut c,
            "Dec 30 00:04:09 m dovecot: imap-login: Disconnected (auth failed, 2 attempts in 9 secs): user=<z>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.25, session=<S1>",
            &mut out,
        );
        feed(
            &mut c,
            "Dec 30 00:04:03 m postfix/smtpd[1]: warning: unknown[192.0.2.2]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=b@x",
            &mut out,
        );
        feed(
            &mut c,
            "Dec 30 00:04:03 m dovecot: auth-worker(5): pam(c,192.0.2.3): pam_authenticate() failed: Authentication failure",
            &mut out,
        );
        let users: Vec<_> = out
            .iter()
            .map(|e| (e.user.clone().unwrap(), e.attempts))
            .collect();
        assert_eq!(
            users,
            [
                (b"a@x".to_vec(), 1),
                (b"z".to_vec(), 1),
                (b"b@x".to_vec(), 1)
            ]
        );
        assert_eq!(c.pending(), 1, "the pam() line waits for a postfix partner");
        let mut later = Vec::new();
        c.expire_at(c.now + 3600, &mut |e| later.push(e));
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].user.as_deref(), Some(&b"c"[..]));
        assert_eq!(later[0].outcome, Outcome::Failure);
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn garbage_state_is_an_error() {
        assert!(Correlator::restore(Windows::default(), b"{not json").is_err());
        assert!(
            Correlator::restore(
                Windows::default(),
                br#"{"version":99,"now":0,"arrivals":0,"sessions":[],"by_ip":[],"pam_by_ip":[]}"#
            )
            .is_err()
        );
    }
}

//! The detection pipeline for one stream of lines: prefilter -> envelope -> detectors ->
//! correlation, with the counts a summary needs.
//!
//! It owns no I/O: callers feed it chunks of whole lines (from `source`), or batches of
//! candidate lines from a [`scan`] thread, and receive events through a callback (to a `sink`
//! or a store).

pub mod explain;
pub mod scan;

use crate::correlate::{Correlator, LineContext, StateError, Windows};
use crate::detect::{self, Observation, Prefilter};
use crate::envelope::{
    self, LogLine,
    timestamp::{Clock, YearRule},
};
use crate::event::{AuthEvent, Outcome, Service};
use crate::source;

/// What a run saw, for the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub lines: u64,
    /// Lines holding an auth-related word (the only ones parsed).
    pub candidates: u64,
    /// Lines skipped for being longer than `MAX_LINE`.
    pub skipped_long: u64,
    /// Auth-related lines of Postfix/Dovecot that no rule took: a new log shape, maybe.
    pub unmatched: u64,
    /// Events and the attempts they stand for, by `[service][outcome]`.
    pub events: [[u64; 2]; 2],
    pub attempts: [[u64; 2]; 2],
    /// Postfix `Connection lost to authentication server` tempfails: not counted as failures.
    pub ambiguous: u64,
    /// Clients that abandoned SASL half-way.
    pub aborted: u64,
}

impl Stats {
    /// Adds the counts of `other` (the passes of a long-running follow).
    pub fn add(&mut self, other: &Stats) {
        self.lines += other.lines;
        self.candidates += other.candidates;
        self.skipped_long += other.skipped_long;
        self.unmatched += other.unmatched;
        for (s, o) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            self.events[s][o] += other.events[s][o];
            self.attempts[s][o] += other.attempts[s][o];
        }
        self.ambiguous += other.ambiguous;
        self.aborted += other.aborted;
    }

    pub fn count(&mut self, e: &AuthEvent) {
        let s = match e.service {
            Service::Postfix => 0,
            Service::Dovecot => 1,
        };
        let o = match e.outcome {
            Outcome::Failure => 0,
            Outcome::Success => 1,
        };
        self.events[s][o] += 1;
        self.attempts[s][o] += u64::from(e.attempts);
    }

    pub fn failure_attempts(&self) -> u64 {
        self.attempts[0][0] + self.attempts[1][0]
    }

    pub fn success_attempts(&self) -> u64 {
        self.attempts[0][1] + self.attempts[1][1]
    }
}

pub struct Pipeline {
    prefilter: Prefilter,
    lines: LineProcessor,
}

/// The per-line state, apart from the prefilter so both can be borrowed at once.
struct LineProcessor {
    clock: Clock,
    correlator: Correlator,
    stats: Stats,
}

impl Pipeline {
    pub fn new(clock: Clock, windows: Windows) -> Pipeline {
        Pipeline {
            prefilter: Prefilter::default(),
            lines: LineProcessor {
                clock,
                correlator: Correlator::new(windows),
                stats: Stats::default(),
            },
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.lines.stats
    }

    /// How the next lines' yearless stamps get their year (per file: its mtime).
    pub fn set_year_rule(&mut self, rule: YearRule) {
        self.lines.clock.set_rule(rule);
    }

    /// Feeds a chunk of whole lines. Events go to `emit`; auth-related lines no rule took go
    /// to `unmatched`.
    pub fn feed_chunk(
        &mut self,
        chunk: &[u8],
        emit: &mut impl FnMut(AuthEvent),
        unmatched: &mut impl FnMut(&[u8]),
    ) {
        let batch = scan::scan_chunk(&self.prefilter, chunk);
        self.feed_batch(&batch, emit, unmatched);
    }

    /// Feeds the candidate lines a [`scan`] thread found in a chunk.
    pub fn feed_batch(
        &mut self,
        batch: &scan::CandidateBatch,
        emit: &mut impl FnMut(AuthEvent),
        unmatched: &mut impl FnMut(&[u8]),
    ) {
        self.lines.stats.lines += batch.line_count;
        for line in batch.iter() {
            let _ = self.lines.feed_candidate(line, emit, unmatched);
        }
    }

    /// Feeds one line (without its newline), counting it.
    pub fn feed_line(
        &mut self,
        line: &[u8],
        emit: &mut impl FnMut(AuthEvent),
        unmatched: &mut impl FnMut(&[u8]),
    ) {
        let _ = self.feed_line_as(line, emit, unmatched);
    }

    /// [`Pipeline::feed_line`], saying what became of the line (`None`: not a candidate).
    pub(crate) fn feed_line_as<'a>(
        &mut self,
        line: &'a [u8],
        emit: &mut impl FnMut(AuthEvent),
        unmatched: &mut impl FnMut(&[u8]),
    ) -> Option<Fed<'a>> {
        self.lines.stats.lines += 1;
        self.prefilter
            .is_candidate(line)
            .then(|| self.lines.feed_candidate(line, emit, unmatched))
    }

    /// Lines waiting in the correlator for a partner.
    pub(crate) fn waiting(&self) -> usize {
        self.lines.correlator.pending()
    }

    /// Lines the reader dropped for being longer than its buffer: read, and skipped.
    pub fn count_oversized(&mut self, n: u64) {
        self.lines.stats.lines += n;
        self.lines.stats.skipped_long += n;
    }

    /// The correlator's waiting lines, to store with the checkpoints (see `correlate`).
    pub fn correlator_state(&self) -> Vec<u8> {
        self.lines.correlator.save_state()
    }

    /// The latest log time seen (seconds since the epoch).
    pub fn log_now(&self) -> i64 {
        self.lines.correlator.log_now()
    }

    /// Records how far the log's clock is behind the wall clock (seconds; see
    /// [`Correlator::expire_at`]).
    pub fn set_clock_lag(&mut self, lag: i64) {
        self.lines.correlator.set_clock_lag(lag);
    }

    /// Takes back the waiting lines of an earlier run.
    pub fn restore_correlator(&mut self, state: &[u8]) -> Result<(), StateError> {
        let windows = self.lines.correlator.windows();
        self.lines.correlator = Correlator::restore(windows, state)?;
        Ok(())
    }

    /// Counts alone the waiting lines whose partner would have come before `wall_now`.
    pub fn expire_at(&mut self, wall_now: i64, emit: &mut impl FnMut(AuthEvent)) {
        let stats = &mut self.lines.stats;
        self.lines.correlator.expire_at(wall_now, &mut |e| {
            stats.count(&e);
            emit(e);
        });
    }

    /// End of the stream: lines still waiting for a partner count alone.
    pub fn finish(&mut self, emit: &mut impl FnMut(AuthEvent)) {
        let stats = &mut self.lines.stats;
        self.lines.correlator.finish(&mut |e| {
            stats.count(&e);
            emit(e);
        });
    }
}

/// What became of a candidate line (what `parse --explain` tells), borrowed from it.
pub(crate) enum Fed<'a> {
    TooLong,
    /// No rule took it; `suspicious` when it still looks like authentication activity.
    NoRule {
        parsed: LogLine<'a>,
        suspicious: bool,
    },
    Observed {
        parsed: LogLine<'a>,
        obs: Observation<'a>,
    },
}

impl LineProcessor {
    fn feed_candidate<'a>(
        &mut self,
        line: &'a [u8],
        emit: &mut impl FnMut(AuthEvent),
        unmatched: &mut impl FnMut(&[u8]),
    ) -> Fed<'a> {
        if source::is_too_long(line) {
            self.stats.skipped_long += 1;
            return Fed::TooLong;
        }
        self.stats.candidates += 1;
        let parsed = envelope::parse_line(line, &mut self.clock);
        let Some(obs) = detect::detect(&parsed) else {
            let suspicious = detect::is_suspicious(&parsed);
            if suspicious {
                self.stats.unmatched += 1;
                unmatched(line);
            }
            return Fed::NoRule { parsed, suspicious };
        };
        match obs {
            Observation::Ambiguous(_) => self.stats.ambiguous += 1,
            Observation::Aborted => self.stats.aborted += 1,
            _ => {}
        }
        let ctx = LineContext {
            time: parsed.time,
            server: parsed.host,
        };
        let stats = &mut self.stats;
        self.correlator.observe(&obs, &ctx, &mut |e| {
            stats.count(&e);
            emit(e);
        });
        Fed::Observed { parsed, obs }
    }
}

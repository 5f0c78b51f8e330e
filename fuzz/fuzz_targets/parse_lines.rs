//! Arbitrary bytes through the whole pipeline: chunks, envelope, detectors, correlation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maillogsentinel::correlate::Windows;
use maillogsentinel::envelope::timestamp::{Clock, YearRule};
use maillogsentinel::pipeline::Pipeline;

fuzz_target!(|data: &[u8]| {
    let clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::NotAfter(1_764_000_000));
    let mut p = Pipeline::new(
        clock,
        Windows {
            max_pending: 64,
            ..Windows::default()
        },
    );
    let mut n = 0u64;
    p.feed_chunk(data, &mut |e| n += u64::from(e.attempts), &mut |_| {});
    let state = p.correlator_state();
    p.restore_correlator(&state).expect("a saved state reads back");
    p.finish(&mut |e| n += u64::from(e.attempts));
    assert!(p.stats().failure_attempts() + p.stats().success_attempts() == n);
});

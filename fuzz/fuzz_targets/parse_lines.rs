//! Arbitrary bytes through the whole pipeline: chunks, envelope, detectors, correlation.
//! The first byte picks where the input is cut in two chunks (at a newline, as the readers
//! cut), so state carried from one chunk to the next is exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maillogsentinel::correlate::Windows;
use maillogsentinel::envelope::timestamp::{Clock, YearRule};
use maillogsentinel::pipeline::Pipeline;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let at = data.len() * usize::from(cut) / 256;
    let split = data[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |i| at + i + 1);
    let clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::NotAfter(1_764_000_000));
    let mut p = Pipeline::new(
        clock,
        Windows {
            max_pending: 64,
            ..Windows::default()
        },
    );
    let mut n = 0u64;
    p.feed_chunk(
        &data[..split],
        &mut |e| n += u64::from(e.attempts),
        &mut |_| {},
    );
    let state = p.correlator_state();
    p.restore_correlator(&state)
        .expect("a saved state reads back");
    p.feed_chunk(
        &data[split..],
        &mut |e| n += u64::from(e.attempts),
        &mut |_| {},
    );
    p.finish(&mut |e| n += u64::from(e.attempts));
    assert_eq!(
        p.stats().failure_attempts() + p.stats().success_attempts(),
        n
    );
});

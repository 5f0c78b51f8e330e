//! One arbitrary line through the envelope parser and the detectors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maillogsentinel::detect;
use maillogsentinel::envelope::{
    self,
    timestamp::{Clock, YearRule},
};

fuzz_target!(|line: &[u8]| {
    let mut clock = Clock::new(jiff::tz::TimeZone::UTC, YearRule::StartingIn(2025));
    let parsed = envelope::parse_line(line, &mut clock);
    let _ = detect::detect(&parsed);
    let _ = detect::is_suspicious(&parsed);
});

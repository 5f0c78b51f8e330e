//! Timestamps of syslog lines: parsing the four header forms on bytes, inferring the year of
//! classic (yearless) stamps, and converting local wall-clock time to UTC.
//!
//! Not a general date library: only what log headers need, with integer arithmetic so the hot
//! path never allocates. Time-zone rules come from `jiff` (the system tz database), cached per
//! wall-clock hour because log lines arrive in time order.

use std::fmt;

use jiff::tz::TimeZone;

/// An instant in UTC plus the UTC offset the line was written with.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct EventTime {
    /// Seconds since the Unix epoch, UTC.
    pub unix: i64,
    /// Fraction of the second, in nanoseconds.
    pub nanos: u32,
    /// Offset of the original wall-clock time from UTC, in seconds.
    pub offset_secs: i32,
}

impl EventTime {
    /// RFC 3339 in UTC (`2025-12-30T00:00:04Z`, with a fraction when the log had one).
    pub fn rfc3339_utc(&self) -> Rfc3339Utc {
        Rfc3339Utc(*self)
    }

    /// The original offset as `+HH:MM`.
    pub fn offset_string(&self) -> String {
        let sign = if self.offset_secs < 0 { '-' } else { '+' };
        let a = self.offset_secs.unsigned_abs();
        format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    }

    /// The wall-clock time as the server saw it (UTC + offset), broken down.
    pub fn local_civil(&self) -> Civil {
        Civil::from_unix(self.unix + i64::from(self.offset_secs))
    }
}

/// Display adapter for [`EventTime::rfc3339_utc`].
pub struct Rfc3339Utc(EventTime);

impl fmt::Display for Rfc3339Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::from_unix(self.0.unix);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )?;
        if self.0.nanos != 0 {
            let mut frac = format!("{:09}", self.0.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        f.write_str("Z")
    }
}

/// A broken-down proleptic Gregorian date and time, no zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Civil {
    /// Seconds since the epoch if this wall-clock time were UTC; `None` for an impossible date
    /// (31 April, 29 February of a common year, hour 25...).
    pub fn to_unix(&self) -> Option<i64> {
        if !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
        {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        Some(
            days * 86_400
                + i64::from(self.hour) * 3600
                + i64::from(self.minute) * 60
                + i64::from(self.second),
        )
    }

    pub fn from_unix(unix: i64) -> Civil {
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs % 3600 / 60) as u8,
            second: (secs % 60) as u8,
        }
    }
}

pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// How to give a year to classic `Mmm dd hh:mm:ss` stamps, which have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearRule {
    /// Each line gets the latest year that does not put it after this instant (plus a day of
    /// slack for clock skew): a file's mtime, or now for stdin. December lines read in January
    /// thus get last year, and 29 February gets the last leap year.
    NotAfter(i64),
    /// The first line is in this year; later lines move to the next year when the month goes
    /// backwards (December, then January).
    StartingIn(i32),
}

/// Turns wall-clock times into instants, in the configured zone, with year inference.
pub struct Clock {
    tz: TimeZone,
    rule: YearRule,
    /// Year and month of the previous classic line (for [`YearRule::StartingIn`]).
    rolling: Option<(i32, u8)>,
    /// Last wall-clock hour converted: (local unix of the hour, offset) - rules change at most
    /// hourly in practice, and lines come in order, so this one entry hits almost always.
    hour_cache: Option<(i64, i32)>,
    /// Last yearless minute resolved: (month, day, hour, minute) and its instant at second 0.
    minute_cache: Option<([u8; 4], EventTime)>,
    /// The last classic stamp of [`CLASSIC_LEN`] bytes without a fraction ([`stamp_words`]),
    /// and its instant: consecutive lines share their second, and the same stamp again
    /// changes nothing.
    last_classic: Option<([u64; 2], Option<EventTime>)>,
}

/// `Mmm dd hh:mm:ss`.
const CLASSIC_LEN: usize = 15;

/// A classic stamp's bytes as two overlapping words (compared in two instructions, not a call
/// into `memcmp`): those of the first `CLASSIC_LEN` bytes of `line`, if it has them.
fn stamp_words(line: &[u8]) -> Option<[u64; 2]> {
    let stamp = line.get(..CLASSIC_LEN)?;
    let word = |at: usize| u64::from_le_bytes(stamp[at..at + 8].try_into().expect("8 bytes"));
    Some([word(0), word(CLASSIC_LEN - 8)])
}

const SLACK_SECS: i64 = 86_400;
const MAX_OFFSET_SECS: i64 = 26 * 3600;

impl Clock {
    pub fn new(tz: TimeZone, rule: YearRule) -> Clock {
        Clock {
            tz,
            rule,
            rolling: None,
            hour_cache: None,
            minute_cache: None,
            last_classic: None,
        }
    }

    /// The system's zone (`TZ`, else `/etc/localtime`), UTC when neither is readable.
    pub fn system_zone() -> TimeZone {
        TimeZone::try_system().unwrap_or(TimeZone::UTC)
    }

    pub fn set_rule(&mut self, rule: YearRule) {
        self.rule = rule;
        self.rolling = None;
        self.minute_cache = None;
        self.last_classic = None;
    }

    /// Instant of a wall-clock time with a known year, in this clock's zone.
    pub fn local(&mut self, civil: Civil, nanos: u32) -> Option<EventTime> {
        let wall = civil.to_unix()?;
        let hour = wall - wall.rem_euclid(3600);
        let offset = match self.hour_cache {
            Some((h, off)) if h == hour => off,
            _ => {
                let off = self.offset_for_wall(wall)?;
                self.hour_cache = Some((hour, off));
                off
            }
        };
        Some(EventTime {
            unix: wall - i64::from(offset),
            nanos,
            offset_secs: offset,
        })
    }

    fn offset_for_wall(&self, wall: i64) -> Option<i32> {
        let c = Civil::from_unix(wall);
        let dt = jiff::civil::DateTime::new(
            i16::try_from(c.year).ok()?,
            c.month as i8,
            c.day as i8,
            c.hour as i8,
            c.minute as i8,
            c.second.min(59) as i8,
            0,
        )
        .ok()?;
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        Some(self.tz.to_offset(ts).seconds())
    }

    /// Instant of a classic stamp (month, day, time, no year).
    pub fn yearless(
        &mut self,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Option<EventTime> {
        match self.rule {
            YearRule::NotAfter(limit) if second < 60 => {
                // Consecutive lines share their minute, and under this rule the answer depends
                // only on it: the year search runs once a minute of log.
                let key = [month, day, hour, minute];
                let base = match self.minute_cache {
                    Some((k, t)) if k == key => t,
                    _ => {
                        let t = self.latest_year(limit, month, day, hour, minute, 0)?;
                        self.minute_cache = Some((key, t));
                        t
                    }
                };
                Some(EventTime {
                    unix: base.unix + i64::from(second),
                    ..base
                })
            }
            YearRule::NotAfter(limit) => self.latest_year(limit, month, day, hour, minute, second),
            YearRule::StartingIn(first) => {
                let mut year = match self.rolling {
                    None => first,
                    Some((y, prev_month)) if month + 6 <= prev_month => y + 1,
                    Some((y, _)) => y,
                };
                if month == 2 && day == 29 && !is_leap(year) {
                    // A 29 February can only be in a leap year: the start year was wrong.
                    year += 4 - year.rem_euclid(4);
                }
                self.rolling = Some((year, month));
                self.local(
                    Civil {
                        year,
                        month,
                        day,
                        hour,
                        minute,
                        second,
                    },
                    0,
                )
            }
        }
    }

    /// The stamp in the latest year that does not put it after `limit` (plus a day of slack).
    fn latest_year(
        &mut self,
        limit: i64,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Option<EventTime> {
        let ref_year = Civil::from_unix(limit).year;
        // Nine years back covers 29 February after a skipped leap year (2096 -> 2104).
        for year in (ref_year - 8..=ref_year + 1).rev() {
            let civil = Civil {
                year,
                month,
                day,
                hour,
                minute,
                second,
            };
            // UTC offsets stay within ±26 h: skip years that are too late whatever the zone,
            // without asking the zone (which would churn its cache).
            match civil.to_unix() {
                Some(wall) if wall - MAX_OFFSET_SECS <= limit + SLACK_SECS => {}
                _ => continue,
            }
            if let Some(t) = self.local(civil, 0)
                && t.unix <= limit + SLACK_SECS
            {
                return Some(t);
            }
        }
        None
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month_from(b: &[u8]) -> Option<u8> {
    let m = b.get(..3)?;
    MONTHS
        .iter()
        .position(|name| name.eq_ignore_ascii_case(m))
        .map(|i| i as u8 + 1)
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses `hh:mm:ss` at `at`.
fn hms(b: &[u8], at: usize) -> Option<(u8, u8, u8)> {
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    Some((
        digits(b, at, 2)? as u8,
        digits(b, at + 3, 2)? as u8,
        digits(b, at + 6, 2)? as u8,
    ))
}

/// Parses `.ffffff` at `at`: (nanoseconds, bytes used).
fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    if b.get(at) != Some(&b'.') && b.get(at) != Some(&b',') {
        return (0, 0);
    }
    let mut nanos = 0u32;
    let mut n = 0;
    while let Some(&c) = b.get(at + 1 + n) {
        if !c.is_ascii_digit() {
            break;
        }
        if n < 9 {
            nanos = nanos * 10 + u32::from(c - b'0');
        }
        n += 1;
    }
    if n == 0 {
        return (0, 0);
    }
    for _ in n..9 {
        nanos *= 10;
    }
    (nanos, n + 1)
}

/// Parses `Z`, `+hh:mm`, `+hhmm` or `+hh` at `at`: (offset seconds, bytes used).
fn zone(b: &[u8], at: usize) -> Option<(i32, usize)> {
    match b.get(at)? {
        b'Z' | b'z' => Some((0, 1)),
        &s @ (b'+' | b'-') => {
            let h = digits(b, at + 1, 2)? as i32;
            let (m, used) = if b.get(at + 3) == Some(&b':') {
                (digits(b, at + 4, 2)? as i32, 6)
            } else if let Some(m) = digits(b, at + 3, 2) {
                (m as i32, 5)
            } else {
                (0, 3)
            };
            let off = h * 3600 + m * 60;
            Some((if s == b'-' { -off } else { off }, used))
        }
        _ => None,
    }
}

/// A Unix time as RFC 3339 in UTC (`2026-12-03T10:00:00Z`); the number itself when out of
/// range.
pub fn rfc3339(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(|_| unix.to_string(), |t| t.to_string())
}

/// A Unix time as RFC 3339 in the zone `tz` (`2026-12-03T11:00:00+01:00`), for people reading
/// times of their own zone; the number itself when out of range.
pub fn rfc3339_in(unix: i64, tz: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(
        |_| unix.to_string(),
        |t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        },
    )
}

/// Reads the timestamp at the start of a line: the instant (when it could be computed) and
/// the number of bytes it occupied. `None` when the line does not start with a known stamp.
pub fn parse_leading(line: &[u8], clock: &mut Clock) -> Option<(Option<EventTime>, usize)> {
    let first = *line.first()?;
    if first.is_ascii_digit() {
        return parse_iso(line, clock);
    }
    if first == b'@' {
        return parse_tai64n(line);
    }
    // Classic: "Mmm dd hh:mm:ss", the day padded with a space, a zero, or not at all.
    let without_fraction = !matches!(line.get(CLASSIC_LEN), Some(b'.' | b','));
    let words = stamp_words(line);
    if let Some((stamp, time)) = &clock.last_classic
        && words == Some(*stamp)
        && without_fraction
    {
        return Some((*time, CLASSIC_LEN));
    }
    let month = month_from(line)?;
    if line.get(3) != Some(&b' ') {
        return None;
    }
    let mut at = 4;
    if line.get(at) == Some(&b' ') {
        at += 1;
    }
    let day_len = if line.get(at + 1).is_some_and(u8::is_ascii_digit) {
        2
    } else {
        1
    };
    let day = digits(line, at, day_len)? as u8;
    at += day_len;
    if line.get(at) != Some(&b' ') {
        return None;
    }
    at += 1;
    let (h, mi, s) = hms(line, at)?;
    at += 8;
    let (nanos, used) = fraction(line, at);
    at += used;
    let mut time = clock.yearless(month, day, h, mi, s);
    if let Some(t) = time.as_mut() {
        t.nanos = nanos;
    }
    if at == CLASSIC_LEN
        && without_fraction
        && let Some(words) = words
    {
        clock.last_classic = Some((words, time));
    }
    Some((time, at))
}

/// `YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|offset]`; without a zone it is local time.
fn parse_iso(line: &[u8], clock: &mut Clock) -> Option<(Option<EventTime>, usize)> {
    if line.get(4) != Some(&b'-') || line.get(7) != Some(&b'-') {
        return None;
    }
    let sep = *line.get(10)?;
    if sep != b'T' && sep != b't' && sep != b' ' {
        return None;
    }
    let (hour, minute, second) = hms(line, 11)?;
    let civil = Civil {
        year: digits(line, 0, 4)? as i32,
        month: digits(line, 5, 2)? as u8,
        day: digits(line, 8, 2)? as u8,
        hour,
        minute,
        second,
    };
    let mut at = 19;
    let (nanos, used) = fraction(line, at);
    at += used;
    let time = match zone(line, at) {
        Some((offset, used)) => {
            at += used;
            civil.to_unix().map(|wall| EventTime {
                unix: wall - i64::from(offset),
                nanos,
                offset_secs: offset,
            })
        }
        None => clock.local(civil, nanos),
    };
    Some((time, at))
}

/// TAI64N label `@4000000000000000xxxxxxxx` (daemontools / s6 loggers), UTC.
fn parse_tai64n(line: &[u8]) -> Option<(Option<EventTime>, usize)> {
    let hex = line.get(1..25)?;
    let mut secs: u64 = 0;
    let mut nanos: u64 = 0;
    for (i, &c) in hex.iter().enumerate() {
        let v = u64::from((c as char).to_digit(16)?);
        if i < 16 {
            secs = secs << 4 | v;
        } else {
            nanos = nanos << 4 | v;
        }
    }
    // TAI64 labels are 2^62 + TAI seconds; TAI ran 10 s ahead of UTC in 1972 and the leap
    // seconds since then are not worth a table for a log timestamp.
    let unix = secs.checked_sub(1 << 62)? as i64 - 10;
    let time = (nanos < 1_000_000_000).then_some(EventTime {
        unix,
        nanos: nanos as u32,
        offset_secs: 0,
    });
    Some((time, 25))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_clock(rule: YearRule) -> Clock {
        Clock::new(TimeZone::UTC, rule)
    }

    fn unix(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> i64 {
        Civil {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
        }
        .to_unix()
        .unwrap()
    }

    #[test]
    fn civil_round_trips_across_eras() {
        for days in [-800_000i64, -1, 0, 1, 11_016, 19_000, 20_453, 2_932_896] {
            let c = Civil::from_unix(days * 86_400 + 3_723);
            assert_eq!(c.to_unix(), Some(days * 86_400 + 3_723));
        }
        assert_eq!(unix(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix(2024, 2, 29, 12, 0, 0), 1_709_208_000);
    }

    #[test]
    fn impossible_dates_are_rejected() {
        let bad = Civil {
            year: 2025,
            month: 2,
            day: 29,
            hour: 0,
            minute: 0,
            second: 0,
        };
        assert_eq!(bad.to_unix(), None);
        assert_eq!(Civil { month: 13, ..bad }.to_unix(), None);
        assert_eq!(
            Civil {
                month: 4,
                day: 31,
                ..bad
            }
            .to_unix(),
            None
        );
    }

    #[test]
    fn classic_day_padding_variants() {
        let limit = unix(2025, 12, 31, 0, 0, 0);
        for line in [
            &b"Dec  2 22:24:22 host x"[..],
            b"Dec 02 22:24:22 host x",
            b"Dec 2 22:24:22 host x",
        ] {
            let mut c = utc_clock(YearRule::NotAfter(limit));
            let (t, used) = parse_leading(line, &mut c).unwrap();
            assert_eq!(t.unwrap().unix, unix(2025, 12, 2, 22, 24, 22), "{line:?}");
            assert_eq!(&line[used..], b" host x");
        }
    }

    #[test]
    fn december_read_in_january_is_last_year() {
        let mut c = utc_clock(YearRule::NotAfter(unix(2026, 1, 2, 10, 0, 0)));
        let (t, _) = parse_leading(b"Dec 30 23:59:59 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2025, 12, 30, 23, 59, 59));
        let (t, _) = parse_leading(b"Jan  2 09:00:00 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2026, 1, 2, 9, 0, 0));
    }

    #[test]
    fn february_29_goes_to_the_last_leap_year() {
        let mut c = utc_clock(YearRule::NotAfter(unix(2026, 3, 1, 0, 0, 0)));
        let (t, _) = parse_leading(b"Feb 29 08:00:00 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2024, 2, 29, 8, 0, 0));
        let mut c = utc_clock(YearRule::NotAfter(unix(2024, 3, 1, 0, 0, 0)));
        let (t, _) = parse_leading(b"Feb 29 08:00:00 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2024, 2, 29, 8, 0, 0));
    }

    #[test]
    fn starting_year_rolls_over_at_new_year() {
        let mut c = utc_clock(YearRule::StartingIn(2025));
        let (t, _) = parse_leading(b"Dec 31 23:59:59 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2025, 12, 31, 23, 59, 59));
        let (t, _) = parse_leading(b"Jan  1 00:00:01 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2026, 1, 1, 0, 0, 1));
        let (t, _) = parse_leading(b"Jan  1 00:00:02 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2026, 1, 1, 0, 0, 2));
    }

    #[test]
    fn a_repeated_stamp_reads_as_the_first_with_or_without_fraction() {
        let mut c = utc_clock(YearRule::StartingIn(2025));
        let dec = unix(2025, 12, 31, 23, 59, 59);
        for (line, nanos, used) in [
            (&b"Dec 31 23:59:59 a"[..], 0, 15),
            (b"Dec 31 23:59:59 b", 0, 15),
            (b"Dec 31 23:59:59.25 c", 250_000_000, 18),
            (b"Dec 31 23:59:59,5 d", 500_000_000, 17),
            (b"Dec 31 23:59:59 e", 0, 15),
        ] {
            let (t, n) = parse_leading(line, &mut c).unwrap();
            let t = t.unwrap();
            assert_eq!((t.unix, t.nanos, n), (dec, nanos, used), "{line:?}");
        }
        // The year still rolls over, and comes back to the stamp's own when asked anew.
        let (t, _) = parse_leading(b"Jan  1 00:00:01 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2026, 1, 1, 0, 0, 1));
        let (t, _) = parse_leading(b"Jan  1 00:00:01 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2026, 1, 1, 0, 0, 1));
        c.set_rule(YearRule::StartingIn(2030));
        let (t, _) = parse_leading(b"Jan  1 00:00:01 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2030, 1, 1, 0, 0, 1));
        // An impossible date stays impossible.
        assert_eq!(
            parse_leading(b"Feb 30 00:00:00 h", &mut c),
            Some((None, 15))
        );
        assert_eq!(
            parse_leading(b"Feb 30 00:00:00 h", &mut c),
            Some((None, 15))
        );
    }

    #[test]
    fn rfc3339_with_fraction_and_offsets() {
        let mut c = utc_clock(YearRule::StartingIn(2000));
        let (t, used) = parse_leading(b"2025-12-30T00:00:01.123456+01:00 mail x", &mut c).unwrap();
        let t = t.unwrap();
        assert_eq!(t.unix, unix(2025, 12, 29, 23, 0, 1));
        assert_eq!(t.nanos, 123_456_000);
        assert_eq!(t.offset_secs, 3600);
        assert_eq!(used, 32);
        assert_eq!(t.rfc3339_utc().to_string(), "2025-12-29T23:00:01.123456Z");
        assert_eq!(t.offset_string(), "+01:00");
        let (t, _) = parse_leading(b"2022-04-14T00:36:03.150Z mailhub", &mut c).unwrap();
        assert_eq!(
            t.unwrap().rfc3339_utc().to_string(),
            "2022-04-14T00:36:03.15Z"
        );
        let (t, _) = parse_leading(b"2022-04-14T00:36:03-0530 x", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2022, 4, 14, 6, 6, 3));
    }

    #[test]
    fn iso_without_zone_is_local_time() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let mut c = Clock::new(tz, YearRule::StartingIn(2000));
        let (t, used) = parse_leading(b"2019-10-15 08:08:52 imap-login: x", &mut c).unwrap();
        let t = t.unwrap();
        assert_eq!(used, 19);
        assert_eq!(t.unix, unix(2019, 10, 15, 6, 8, 52));
        assert_eq!(t.offset_secs, 7200);
    }

    #[test]
    fn classic_stamp_in_a_zone_with_dst() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let mut c = Clock::new(tz, YearRule::StartingIn(2025));
        let (t, _) = parse_leading(b"Jan 15 12:00:00 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2025, 1, 15, 17, 0, 0));
        let (t, _) = parse_leading(b"Jul 15 12:00:00 h", &mut c).unwrap();
        assert_eq!(t.unwrap().unix, unix(2025, 7, 15, 16, 0, 0));
    }

    #[test]
    fn tai64n_label() {
        let mut c = utc_clock(YearRule::StartingIn(2000));
        let (t, used) = parse_leading(b"@400000004c91b044077a9e94 imap-login: x", &mut c).unwrap();
        assert_eq!(used, 25);
        assert_eq!(Civil::from_unix(t.unwrap().unix).year, 2010);
    }

    #[test]
    fn not_a_timestamp() {
        let mut c = utc_clock(YearRule::StartingIn(2000));
        for line in [
            &b"imap-login: x"[..],
            b"Foo 12 10:00:00",
            b"2025-13",
            b"",
            b"@40",
        ] {
            assert!(parse_leading(line, &mut c).is_none(), "{line:?}");
        }
    }
}

//! The time window of a report, in the server's time zone: a local day (the default: today;
//! `--date`, `--yesterday`) or `--since`/`--until`.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// `[since, until)`, seconds since the epoch, and how to name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub since: i64,
    pub until: i64,
    pub tz: TimeZone,
    /// `2026-11-23`, or `2026-11-20 10:00 - 2026-11-23 12:00`.
    pub label: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error(
        "`{0}`: expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], an RFC 3339 time, or an age such as 7d or 12h"
    )]
    Unreadable(String),
    #[error("the window is empty: --since must be before --until")]
    Empty,
    #[error("{0}")]
    Time(#[from] jiff::Error),
}

/// A point in time given on the command line, in `tz` unless it carries an offset.
pub fn parse_time(s: &str, tz: &TimeZone) -> Result<Zoned, WindowError> {
    // An age: `7d`, `12h`, `30m` before now.
    if s.ends_with(|c: char| c.is_ascii_alphabetic())
        && let Ok(secs) = crate::config::values::parse_duration(s)
    {
        let ago = Timestamp::now().as_second().saturating_sub_unsigned(secs);
        return Ok(Timestamp::from_second(ago)?.to_zoned(tz.clone()));
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t.to_zoned(tz.clone()));
    }
    // A date alone is midnight (jiff would also read a date out of a date and time).
    if s.len() == 10
        && let Ok(d) = s.parse::<Date>()
    {
        return Ok(d.to_zoned(tz.clone())?);
    }
    let dt: DateTime = s
        .replacen(' ', "T", 1)
        .parse()
        .map_err(|_| WindowError::Unreadable(s.to_owned()))?;
    Ok(dt.to_zoned(tz.clone())?)
}

impl Window {
    /// The local day `date`, midnight to midnight (23 or 25 hours on DST days).
    pub fn day(date: Date, tz: &TimeZone) -> Result<Window, WindowError> {
        let since = date.to_zoned(tz.clone())?;
        let until = date.tomorrow()?.to_zoned(tz.clone())?;
        Ok(Window {
            since: since.timestamp().as_second(),
            until: until.timestamp().as_second(),
            tz: tz.clone(),
            label: date.to_string(),
        })
    }

    pub fn between(since: &Zoned, until: &Zoned) -> Result<Window, WindowError> {
        if since >= until {
            return Err(WindowError::Empty);
        }
        Ok(Window {
            since: since.timestamp().as_second(),
            until: until.timestamp().as_second(),
            tz: since.time_zone().clone(),
            label: format!(
                "{} - {}",
                since.strftime("%Y-%m-%d %H:%M"),
                until.strftime("%Y-%m-%d %H:%M")
            ),
        })
    }

    /// The start of each hour of the window (the first one from `since`, rounded down).
    pub fn hours(&self) -> Vec<i64> {
        let first = self.since - self.since.rem_euclid(3600);
        (first..self.until).step_by(3600).collect()
    }

    /// A time of the window's zone, `YYYY-MM-DD HH:MM`.
    pub fn local(&self, unix: i64) -> String {
        Timestamp::from_second(unix).map_or_else(
            |_| unix.to_string(),
            |t| {
                t.to_zoned(self.tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            },
        )
    }

    /// A short name for file names: the label without spaces or colons.
    pub fn file_stem(&self) -> String {
        self.label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_local_midnight_to_midnight_even_across_dst() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let w = Window::day("2026-03-29".parse().unwrap(), &paris).unwrap();
        assert_eq!(w.until - w.since, 23 * 3600, "spring forward");
        assert_eq!(w.hours().len(), 23);
        assert_eq!(w.label, "2026-03-29");
        let w = Window::day("2026-11-23".parse().unwrap(), &TimeZone::UTC).unwrap();
        assert_eq!(w.since, 1_795_392_000);
        assert_eq!(w.local(w.since + 3661), "2026-11-23 01:01");
    }

    #[test]
    fn times_on_the_command_line() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let a = parse_time("2026-11-23 10:30", &tz).unwrap();
        assert_eq!(a.timestamp().as_second(), 1_795_426_200);
        let b = parse_time("2026-11-23T09:30:00Z", &tz).unwrap();
        assert_eq!(a.timestamp(), b.timestamp());
        assert!(parse_time("yesterday-ish", &tz).is_err());
        let w = Window::between(&parse_time("2026-11-23", &tz).unwrap(), &a).unwrap();
        assert_eq!(w.label, "2026-11-23 00:00 - 2026-11-23 10:30");
        assert_eq!(w.file_stem(), "2026-11-23_00_00_-_2026-11-23_10_30");
        assert!(matches!(Window::between(&a, &a), Err(WindowError::Empty)));
    }
}

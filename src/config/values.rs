//! The validators of the config's value types, one per type: booleans as `configparser`
//! reads them, integers as Python's `int()`, paths, email addresses, log levels, time zones,
//! name servers, URLs and lists. The config loader and setup (wizard and non-interactive) use
//! the same ones, so setup never writes a value the loader refuses.
//!
//! Not here: which key takes which type, defaults (the section types in `config`).

use std::net::{IpAddr, SocketAddr};

use super::ini;
use super::{CsvDateFormat, LogLevel};

/// What every path value must be, absolute or not.
pub(crate) fn check_single_path(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("expected a path, got an empty value".into());
    }
    if v.contains('\n') {
        return Err(format!(
            "expected one path, got several lines: `{}`",
            ini::shown(v)
        ));
    }
    if v.contains('\0') {
        return Err(format!(
            "a path cannot contain a NUL byte: `{}`",
            ini::shown(v)
        ));
    }
    if v.starts_with('~') {
        return Err(format!(
            "`~` is not expanded: write the absolute path instead of `{}`",
            ini::shown(v)
        ));
    }
    Ok(())
}

/// `configparser`'s `getboolean`.
pub(crate) fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => Err(format!(
            "expected a boolean (1/yes/true/on or 0/no/false/off), got `{}`",
            ini::shown(v)
        )),
    }
}

/// A non-negative integer as Python's `int()` reads it: an optional `+`, digits, single `_`
/// between digits.
pub(crate) fn parse_uint(v: &str) -> Option<u64> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    let well_formed = digits
        .split('_')
        .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return None;
    }
    digits.replace('_', "").parse().ok()
}

pub(crate) fn parse_positive(v: &str) -> Result<usize, String> {
    parse_uint(v)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("expected a positive integer, got `{}`", ini::shown(v)))
}

pub(crate) fn parse_seconds(v: &str) -> Result<u64, String> {
    parse_uint(v).ok_or_else(|| {
        format!(
            "expected a number of seconds (0 or more), got `{}`",
            ini::shown(v)
        )
    })
}

/// A duration: seconds, or a number with `s`, `m`, `h` or `d`.
pub(crate) fn parse_duration(v: &str) -> Result<u64, String> {
    let t = v.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .filter(|_| scale > 0)
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            format!(
                "expected a duration (seconds, or a number with s, m, h or d, e.g. 10m), got `{}`",
                ini::shown(v)
            )
        })
}

/// `[general] log_level`: one validator for the config loader and setup.
pub(crate) fn parse_log_level(v: &str) -> Result<LogLevel, String> {
    match v.to_ascii_uppercase().as_str() {
        "DEBUG" => Ok(LogLevel::Debug),
        "INFO" => Ok(LogLevel::Info),
        "WARNING" | "WARN" => Ok(LogLevel::Warning),
        "ERROR" => Ok(LogLevel::Error),
        "CRITICAL" | "FATAL" => Ok(LogLevel::Critical),
        _ => Err(format!(
            "expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got `{}`",
            ini::shown(v)
        )),
    }
}

/// One address, `local@domain`, nothing that could break a mail header; empty means none.
/// One validator for the config loader and setup.
pub(crate) fn parse_email(v: &str) -> Result<Option<String>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    let one_at = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    let clean = !v
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
    if one_at && clean {
        Ok(Some(v.to_owned()))
    } else {
        Err(format!(
            "expected one address like admin@example.org (no spaces), got `{}`",
            ini::shown(v)
        ))
    }
}

/// An IANA zone name the system's time zone database knows, resolved once; empty means the
/// system's zone.
pub(crate) fn parse_timezone(v: &str) -> Result<Option<jiff::tz::TimeZone>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    jiff::tz::TimeZone::get(v).map(Some).map_err(|_| {
        format!(
            "unknown time zone `{}` (expected an IANA name such as Europe/Paris)",
            ini::shown(v)
        )
    })
}

/// A TCP port, 1-65535.
pub(crate) fn parse_port(v: &str) -> Result<u16, String> {
    v.parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("expected a port (1-65535), got `{}`", ini::shown(v)))
}

/// A value that goes into a mail header or a log line as it is: one line.
pub(crate) fn parse_one_line(v: &str) -> Result<String, String> {
    if v.contains(['\r', '\n']) {
        Err(format!("expected one line, got `{}`", ini::shown(v)))
    } else {
        Ok(v.to_owned())
    }
}

/// One of `choices` (any case), as its index.
pub(crate) fn parse_choice(v: &str, choices: &[&str]) -> Result<usize, String> {
    choices
        .iter()
        .position(|c| c.eq_ignore_ascii_case(v))
        .ok_or_else(|| format!("expected {}, got `{}`", choices.join(" or "), ini::shown(v)))
}

pub(crate) fn parse_csv_date_format(v: &str) -> Result<CsvDateFormat, String> {
    match v.to_ascii_lowercase().as_str() {
        "legacy" => Ok(CsvDateFormat::Legacy),
        "iso" => Ok(CsvDateFormat::Iso),
        _ => Err(format!(
            "expected `legacy` (DD/MM/YYYY HH:MM) or `iso` (RFC 3339), got `{}`",
            ini::shown(v)
        )),
    }
}

/// Items separated by commas, spaces or line breaks; empty means none.
/// `1.1.1.1, [2001:db8::53]:5353, 127.0.0.1:5353`: addresses, port 53 unless given.
pub(crate) fn parse_nameservers(v: &str) -> Result<Vec<SocketAddr>, String> {
    parse_list(v)
        .iter()
        .map(|s| {
            s.parse::<SocketAddr>()
                .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| format!("expected an IP address or IP:port, got `{s}`"))
        })
        .collect()
}

/// An `http://` or `https://` address, or empty for none.
pub(crate) fn parse_url(v: &str) -> Result<Option<String>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    if (v.starts_with("http://") || v.starts_with("https://")) && !v.contains(char::is_whitespace) {
        Ok(Some(v.to_owned()))
    } else {
        Err(format!(
            "expected an http:// or https:// address, got `{v}`"
        ))
    }
}

pub(crate) fn parse_list(v: &str) -> Vec<String> {
    v.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("10 minutes").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-5").is_err());
    }
}

//! The sapics ip-location-db CSV files: one range per line, `start,end,country_code` (country
//! files) or `start,end,asn,organisation` (ASN files), addresses dotted/colon-separated or as
//! decimal integers (the `-num` files), IPv4 and IPv6 in one table. Loaded once into sorted
//! vectors; a lookup is a binary search that allocates nothing.
//!
//! Not here: choosing files (`geo`), MaxMind-format databases (`mmdb`).

use std::net::IpAddr;

/// What one range says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeValue {
    Country(Box<str>),
    Asn { number: u32, organisation: Box<str> },
}

/// Sorted, non-overlapping ranges of each family, with their values.
#[derive(Debug, Default)]
pub struct RangeTable {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
    values: Vec<RangeValue>,
    /// Lines that could not be read (reported once by the loader).
    pub skipped: u64,
}

fn find<T: Ord + Copy>(ranges: &[(T, T, u32)], x: T) -> Option<u32> {
    let i = ranges.partition_point(|r| r.0 <= x);
    let r = ranges.get(i.checked_sub(1)?)?;
    (x <= r.1).then_some(r.2)
}

/// An address field: dotted/colon text, or a decimal integer (IPv4 when it fits 32 bits and
/// the other field of the line does too: the caller decides the family).
fn parse_address(field: &str) -> Option<Address> {
    let field = field.trim();
    if let Ok(ip) = field.parse::<IpAddr>() {
        return Some(match ip {
            IpAddr::V4(v4) => Address::V4(u32::from(v4)),
            IpAddr::V6(v6) => Address::V6(u128::from(v6)),
        });
    }
    field.parse::<u128>().ok().map(Address::Number)
}

#[derive(Clone, Copy)]
enum Address {
    V4(u32),
    V6(u128),
    Number(u128),
}

/// One CSV field at the front of `rest`: quoted (`""` inside is a quote) or up to the next
/// comma. Returns the field and what follows its comma.
fn field(rest: &str) -> (std::borrow::Cow<'_, str>, &str) {
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if quoted[i + 1..].starts_with('"') {
                    out.push('"');
                    chars.next();
                } else {
                    let after = &quoted[i + 1..];
                    return (out.into(), after.strip_prefix(',').unwrap_or(after));
                }
            } else {
                out.push(c);
            }
        }
        return (out.into(), "");
    }
    match rest.split_once(',') {
        Some((f, after)) => (f.into(), after),
        None => (rest.into(), ""),
    }
}

impl RangeTable {
    /// Reads a whole file's text. Lines that are not ranges (a header, garbage) are counted in
    /// `skipped`; an organisation may be quoted or may hold unquoted commas (the rest of the
    /// line).
    pub fn parse(text: &str) -> RangeTable {
        let mut t = RangeTable::default();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !t.add_line(line) {
                t.skipped += 1;
            }
        }
        t.v4.sort_unstable();
        t.v6.sort_unstable();
        t
    }

    fn add_line(&mut self, line: &str) -> bool {
        let (start, rest) = field(line);
        let (end, rest) = field(rest);
        let (third, rest) = field(rest);
        let (Some(start), Some(end)) = (parse_address(&start), parse_address(&end)) else {
            return false;
        };
        let third = third.trim();
        let value = if rest.is_empty() && !line.ends_with(',') {
            // start,end,country
            if third.len() != 2 || !third.bytes().all(|b| b.is_ascii_alphabetic()) {
                return false;
            }
            RangeValue::Country(third.to_ascii_uppercase().into())
        } else {
            let Ok(number) = third.parse::<u32>() else {
                return false;
            };
            let (org, _) = if rest.starts_with('"') {
                field(rest)
            } else {
                (rest.into(), "")
            };
            RangeValue::Asn {
                number,
                organisation: org.trim().into(),
            }
        };
        let index = self.values.len() as u32;
        match (start, end) {
            (Address::V4(s), Address::V4(e)) if s <= e => self.v4.push((s, e, index)),
            (Address::V6(s), Address::V6(e)) if s <= e => self.v6.push((s, e, index)),
            (Address::Number(s), Address::Number(e)) if s <= e => {
                match (u32::try_from(s), u32::try_from(e)) {
                    // A `-num` file of one family: 32-bit numbers are IPv4 (an IPv6 file's
                    // first ranges, `::/8`..., are never looked up for a client).
                    (Ok(s), Ok(e)) => self.v4.push((s, e, index)),
                    _ => self.v6.push((s, e, index)),
                }
            }
            _ => return false,
        }
        self.values.push(value);
        true
    }

    /// Like [`RangeTable::parse`] for a file known to be IPv6 (a `-ipv6-num` twin): numbers
    /// that fit 32 bits are IPv6 too.
    pub fn parse_v6(text: &str) -> RangeTable {
        let mut t = RangeTable::parse(text);
        let v4 = std::mem::take(&mut t.v4);
        t.v6.extend(
            v4.into_iter()
                .map(|(s, e, i)| (u128::from(s), u128::from(e), i)),
        );
        t.v6.sort_unstable();
        t
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of the range holding `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<&RangeValue> {
        let i = match ip {
            IpAddr::V4(v4) => find(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => find(&self.v6, u128::from(v6)),
        }?;
        self.values.get(i as usize)
    }

    /// Adds the ranges of `other` (the IPv6 twin of a file).
    pub fn merge(&mut self, other: RangeTable) {
        let base = self.values.len() as u32;
        self.v4
            .extend(other.v4.into_iter().map(|(s, e, i)| (s, e, i + base)));
        self.v6
            .extend(other.v6.into_iter().map(|(s, e, i)| (s, e, i + base)));
        self.values.extend(other.values);
        self.skipped += other.skipped;
        self.v4.sort_unstable();
        self.v6.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn country(t: &RangeTable, s: &str) -> Option<String> {
        match t.lookup(ip(s))? {
            RangeValue::Country(c) => Some(c.to_string()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dotted_and_numeric_country_files_agree() {
        let dotted = RangeTable::parse("1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.3.255,cn\n");
        let numeric = RangeTable::parse("16777216,16777471,AU\r\n16777472,16778239,CN\r\n");
        for t in [&dotted, &numeric] {
            assert_eq!(country(t, "1.0.0.0").as_deref(), Some("AU"));
            assert_eq!(country(t, "1.0.0.255").as_deref(), Some("AU"));
            assert_eq!(country(t, "1.0.2.7").as_deref(), Some("CN"));
            assert_eq!(country(t, "1.0.4.0"), None);
            assert_eq!(country(t, "0.255.255.255"), None);
            assert_eq!(t.skipped, 0);
        }
    }

    #[test]
    fn ipv6_ranges_in_both_forms() {
        let t = RangeTable::parse("2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,FR\n");
        assert_eq!(country(&t, "2001:db8::42").as_deref(), Some("FR"));
        assert_eq!(country(&t, "2001:db9::"), None);
        let start = u128::from("2001:db8::".parse::<std::net::Ipv6Addr>().unwrap());
        let t = RangeTable::parse_v6(&format!("0,4294967295,ZZ\n{start},{},DE\n", start + 65535));
        assert_eq!(country(&t, "2001:db8::ff").as_deref(), Some("DE"));
        assert_eq!(
            country(&t, "::1").as_deref(),
            Some("ZZ"),
            "small numbers are v6 here"
        );
        assert_eq!(t.lookup(ip("0.0.0.1")), None);
    }

    #[test]
    fn asn_files_with_quoted_or_unquoted_commas() {
        let t = RangeTable::parse(
            "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n\
             1.0.4.0,1.0.7.255,38803,Wirefreebroadband, Pty Ltd\n\
             1.0.8.0,1.0.8.255,64496,\"Say \"\"hi\"\"\"\n\
             1.0.9.0,1.0.9.255,64497,\n",
        );
        let asn = |s| match t.lookup(ip(s)) {
            Some(RangeValue::Asn {
                number,
                organisation,
            }) => Some((*number, organisation.to_string())),
            _ => None,
        };
        assert_eq!(asn("1.0.0.1"), Some((13335, "Cloudflare, Inc.".into())));
        assert_eq!(
            asn("1.0.5.1"),
            Some((38803, "Wirefreebroadband, Pty Ltd".into()))
        );
        assert_eq!(asn("1.0.8.1"), Some((64496, "Say \"hi\"".into())));
        assert_eq!(asn("1.0.9.1"), Some((64497, String::new())));
    }

    #[test]
    fn garbage_lines_are_counted_not_fatal() {
        let t = RangeTable::parse(
            "ip_start,ip_end,country\n\u{0}\u{1}binary\n2.0.0.0,1.0.0.0,XX\n1.2.3.4,1.2.3.5,TOOLONG\n9.9.9.9,9.9.9.9,US\n",
        );
        assert_eq!(t.skipped, 4);
        assert_eq!(t.len(), 1);
        assert_eq!(country(&t, "9.9.9.9").as_deref(), Some("US"));
    }

    #[test]
    fn merge_adds_a_twin() {
        let mut t = RangeTable::parse("1.0.0.0,1.0.0.255,AU\n");
        t.merge(RangeTable::parse("2001:db8::,2001:db8::ffff,FR\n"));
        assert_eq!(country(&t, "1.0.0.1").as_deref(), Some("AU"));
        assert_eq!(country(&t, "2001:db8::1").as_deref(), Some("FR"));
    }
}

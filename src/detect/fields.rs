//! Small byte-level helpers shared by the detectors: finding markers, reading IPs.
//!
//! Kept free of any knowledge of a particular daemon's format.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use memchr::memmem;

/// Haystacks up to this long are searched from each place of the needle's first (or last)
/// byte: a line's message, where building a linear-time searcher for each call costs more
/// than the search. Longer ones get that searcher (an attacker's line stays linear).
const SHORT_HAY: usize = 256;

/// Where `needle` first starts in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    if hay.len() > SHORT_HAY {
        return memmem::find(hay, needle);
    }
    memchr::memchr_iter(first, hay).find(|&at| hay[at + 1..].starts_with(rest))
}

/// Where `needle` last starts in `hay`.
pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&last, rest)) = needle.split_last() else {
        return Some(hay.len());
    };
    if hay.len() > SHORT_HAY {
        return memmem::rfind(hay, needle);
    }
    memchr::memrchr_iter(last, hay)
        .find(|&at| hay[..at].ends_with(rest))
        .map(|at| at - rest.len())
}

/// The longest text of an address: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`.
pub const LONGEST_IP_TEXT: usize = 45;

/// Client address from its textual form; `::ffff:a.b.c.d` and an `IPv6:` prefix are accepted
/// and the mapped form becomes IPv4.
pub fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    let b = strip_prefix_ignore_case(b, b"ipv6:").unwrap_or(b);
    if b.len() < 2 || b.len() > LONGEST_IP_TEXT {
        return None;
    }
    if !b.contains(&b':') {
        return parse_ipv4(b).map(IpAddr::V4);
    }
    let s = std::str::from_utf8(b).ok()?;
    let v6: Ipv6Addr = s.parse().ok()?;
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// Strict dotted quad (four parts of 1 to 3 digits, each at most 255; no leading `+`, no
/// empty part), without going through `str`. Read 8 bytes at a time, without a branch on a
/// byte: an address is most words that `anonymize` reads, and a branch a byte costs more
/// there than the rest of the word.
pub fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let n = b.len();
    let [low, high] = dotted_quad_words(b)?;
    let dots = byte_mask(low, is_dot) | byte_mask(high, is_dot) << 8;
    let digits = byte_mask(low, is_digit) | byte_mask(high, is_digit) << 8;
    if dots | digits != (1 << n) - 1 || dots.count_ones() != 3 {
        return None;
    }
    // The parts' ends: the dots, then the text's.
    let first = dots.trailing_zeros() as usize;
    let rest = dots & (dots - 1);
    let ends = [
        first,
        rest.trailing_zeros() as usize,
        (rest & (rest - 1)).trailing_zeros() as usize,
        n,
    ];
    // Three digits before each end, the first part's from three `0`s before the text.
    let mut text = [b'0'; 19];
    text[3..11].copy_from_slice(&low.to_le_bytes());
    text[11..].copy_from_slice(&high.to_le_bytes());
    let mut octets = [0u8; 4];
    let mut start = 0;
    for (octet, end) in octets.iter_mut().zip(ends) {
        let len = end - start;
        if !(1..=3).contains(&len) {
            return None;
        }
        let digit = |k: usize| u32::from(text[3 + end - k].wrapping_sub(b'0'));
        let value =
            digit(1) + 10 * digit(2) * u32::from(len >= 2) + 100 * digit(3) * u32::from(len >= 3);
        *octet = u8::try_from(value).ok()?;
        start = end + 1;
    }
    Some(Ipv4Addr::from(octets))
}

/// A text of 7 to 15 bytes (a dotted quad's lengths) in two little-endian words, zeros after
/// it (by loads that overlap: no loop, no call).
pub fn dotted_quad_words(b: &[u8]) -> Option<[u64; 2]> {
    let n = b.len();
    if !(7..=15).contains(&n) {
        return None;
    }
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    Some(if n >= 8 {
        [
            word(0),
            word(n - 8).checked_shr(8 * (16 - n) as u32).unwrap_or(0),
        ]
    } else {
        let half = |at: usize| u64::from(u32::from_le_bytes(b[at..at + 4].try_into().expect("4")));
        [half(0) | half(3) << 24, 0]
    })
}

/// The high bit of each byte of `x` that is a `.`.
fn is_dot(x: u64) -> u64 {
    let t = x ^ 0x2e2e_2e2e_2e2e_2e2e;
    // Exact, byte by byte (no carry crosses a byte): the high bit of each byte of `t` not 0.
    let not_zero = ((t & 0x7f7f_7f7f_7f7f_7f7f) + 0x7f7f_7f7f_7f7f_7f7f) | t;
    !not_zero & 0x8080_8080_8080_8080
}

/// The high bit of each byte of `x` that is an ASCII digit.
fn is_digit(x: u64) -> u64 {
    let low7 = x & 0x7f7f_7f7f_7f7f_7f7f;
    // A byte's high bit after adding: whether it is at least `0`, at least `:`.
    let at_least_0 = low7 + 0x5050_5050_5050_5050;
    let at_least_colon = low7 + 0x4646_4646_4646_4646;
    at_least_0 & !at_least_colon & !x & 0x8080_8080_8080_8080
}

/// Bit `i` for byte `i` of `x` that `class` marks (by its high bit).
fn byte_mask(x: u64, class: fn(u64) -> u64) -> u32 {
    // Each byte's high bit moved to bit 56 + i: no two products meet, so nothing carries.
    ((class(x) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

pub fn strip_prefix_ignore_case<'a>(b: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &b[prefix.len()..])
}

/// Bytes up to the first of `stops` (or the end).
pub fn until_any<'a>(b: &'a [u8], stops: &[u8]) -> &'a [u8] {
    let n = b.iter().take_while(|c| !stops.contains(c)).count();
    &b[..n]
}

/// Parses `HOST[IP]` optionally followed by `:PORT` at the start of `b`: (ip, rest).
/// The host part is a DNS name Postfix validated (or `unknown`): it holds no `[`.
pub fn host_bracket_ip(b: &[u8]) -> Option<(IpAddr, &[u8])> {
    let open = memchr::memchr(b'[', b)?;
    if b[..open].contains(&b' ') {
        return None;
    }
    let close = open + 1 + memchr::memchr(b']', &b[open + 1..])?;
    let ip = parse_ip(&b[open + 1..close])?;
    let mut rest = &b[close + 1..];
    if rest.first() == Some(&b':') {
        let port = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if port > 0 {
            rest = &rest[1 + port..];
        }
    }
    Some((ip, rest))
}

/// `Some(b)` unless `b` is empty.
pub fn non_empty(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty()).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers below `n`, the same ones from the same seed (a linear congruential generator).
    fn numbers(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        }
    }

    #[test]
    fn find_and_rfind_agree_with_memmem_on_short_and_long_haystacks() {
        // Few letters: needles overlap themselves and the haystacks (`aab` in `aaab`).
        let mut next = numbers(7);
        for _ in 0..20_000 {
            let len = [0, 3, 40, SHORT_HAY, SHORT_HAY + 1, 700][next(6) as usize];
            let hay: Vec<u8> = (0..len).map(|_| b"ab="[next(3) as usize]).collect();
            let needle: Vec<u8> = (0..next(6)).map(|_| b"ab="[next(3) as usize]).collect();
            assert_eq!(find(&hay, &needle), memmem::find(&hay, &needle));
            assert_eq!(rfind(&hay, &needle), memmem::rfind(&hay, &needle));
        }
    }

    #[test]
    fn ips() {
        assert_eq!(parse_ip(b"1.2.3.4"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(
            parse_ip(b"01.002.3.255"),
            Some("1.2.3.255".parse().unwrap())
        );
        assert_eq!(
            parse_ip(b"::ffff:1.2.3.4"),
            Some("1.2.3.4".parse().unwrap())
        );
        assert_eq!(
            parse_ip(b"IPv6:2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_ip(b"2001:db8::a11:beef:7ac0"),
            Some("2001:db8::a11:beef:7ac0".parse().unwrap())
        );
        for bad in [
            &b"1.2.3"[..],
            b"1.2.3.4.5",
            b"256.1.1.1",
            b"1..2.3",
            b"",
            b"x",
            b"1.2.3.4 ",
            b"1.2.3.",
            b".1.2.3",
            b"1234.1.1.1",
            b"+1.2.3.4",
            b"1.2.3.4.",
        ] {
            assert_eq!(parse_ip(bad), None, "{bad:?}");
        }
    }

    /// The dotted quad read byte by byte, as it was before `parse_ipv4` went without branches.
    fn parse_ipv4_by_branches(b: &[u8]) -> Option<Ipv4Addr> {
        let mut octets = [0u8; 4];
        let (mut part, mut value, mut digits) = (0, 0u32, 0);
        for &c in b {
            if c == b'.' {
                if digits == 0 || part == 3 {
                    return None;
                }
                octets[part] = u8::try_from(value).ok()?;
                (part, value, digits) = (part + 1, 0, 0);
            } else if c.is_ascii_digit() && digits < 3 {
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
            } else {
                return None;
            }
        }
        if part != 3 || digits == 0 {
            return None;
        }
        octets[3] = u8::try_from(value).ok()?;
        Some(Ipv4Addr::from(octets))
    }

    #[test]
    fn parse_ipv4_reads_what_a_byte_by_byte_reading_does() {
        let mut next = numbers(11);
        let mut addresses = 0;
        for _ in 0..200_000 {
            // Parts of 0 to 4 digits (more 2s and 5s: near 255), mostly 4 of them, mostly
            // joined by dots; some bytes of other kinds.
            const DIGITS: &[u8] = b"01234567892555";
            const OTHERS: &[u8] = b"x:/+ \xff";
            let mut text = Vec::new();
            for part in 0..[3, 4, 4, 4, 4, 5][next(6) as usize] {
                if part > 0 {
                    text.push(if next(20) == 0 {
                        OTHERS[next(OTHERS.len() as u64) as usize]
                    } else {
                        b'.'
                    });
                }
                for _ in 0..[0, 1, 2, 3, 3, 4][next(6) as usize] {
                    text.push(DIGITS[next(DIGITS.len() as u64) as usize]);
                }
            }
            let expected = parse_ipv4_by_branches(&text);
            addresses += usize::from(expected.is_some());
            assert_eq!(
                parse_ipv4(&text),
                expected,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
        // Real addresses, of every part length.
        for a in (0..u32::MAX).step_by(9_999_991) {
            let text = Ipv4Addr::from(a).to_string();
            assert_eq!(parse_ipv4(text.as_bytes()), Some(Ipv4Addr::from(a)));
            addresses += 1;
        }
        assert!(addresses > 2_000, "{addresses}");
    }

    #[test]
    fn bracketed_client() {
        let (ip, rest) =
            host_bracket_ip(b"10.1.2.3.static.example.net[203.0.113.50]: SASL").unwrap();
        assert_eq!(ip, "203.0.113.50".parse::<IpAddr>().unwrap());
        assert_eq!(rest, b": SASL");
        let (ip, rest) = host_bracket_ip(b"unknown[192.0.2.237]:55729: SASL").unwrap();
        assert_eq!(ip, "192.0.2.237".parse::<IpAddr>().unwrap());
        assert_eq!(rest, b": SASL");
        assert!(host_bracket_ip(b"a b[1.2.3.4]").is_none());
        assert!(host_bracket_ip(b"x[1.2.3.4").is_none());
    }
}

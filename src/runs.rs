//! How many bytes of a kind (host name, program name, digits, upper-case hexadecimal) open a
//! slice, 16 bytes at a time: every line's header is made of such runs, and most messages open
//! with a word that may be a queue id; their lengths change from line to line (`dovecot`,
//! `postfix/submission/smtpd`, a pid), so that a loop a byte would mispredict its end on most
//! lines.
//!
//! Not here: what the runs are in a line (`envelope`, `anonymize`).

/// The bytes of a run.
#[derive(Debug, Clone, Copy)]
pub enum Run {
    /// A host name's: letters, digits, `.`, `-`, `_`, `:`.
    Host,
    /// A program name's: letters, digits, `.`, `-`, `_`, `/`.
    Name,
    Digits,
    /// `0`-`9`, `A`-`F`: Postfix's short queue ids.
    UpperHex,
}

impl Run {
    /// Whether `c` belongs to the run: the definition the vector code follows (and the tests
    /// check it by).
    #[cfg(any(test, not(target_arch = "x86_64")))]
    pub fn has(self, c: u8) -> bool {
        let word = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_');
        match self {
            Run::Host => word || c == b':',
            Run::Name => word || c == b'/',
            Run::Digits => c.is_ascii_digit(),
            Run::UpperHex => matches!(c, b'0'..=b'9' | b'A'..=b'F'),
        }
    }

    /// The bytes of `v` that belong to the run (0xff), by ranges (SSE2: every x86-64 has it).
    #[cfg(target_arch = "x86_64")]
    fn members(self, v: std::arch::x86_64::__m128i) -> std::arch::x86_64::__m128i {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_min_epu8, _mm_or_si128, _mm_set1_epi8, _mm_sub_epi8,
        };
        // SAFETY: every x86-64 processor has SSE2 (and nothing here touches memory).
        unsafe {
            // `lo..=hi` as `v - lo <= hi - lo`, unsigned.
            let within = |v, lo: u8, hi: u8| {
                let t = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
                _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8((hi - lo) as i8)), t)
            };
            let letters = || within(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
            let underscore = || _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
            match self {
                // `-` `.` and `0`..=`9` `:`, around `/`.
                Run::Host => _mm_or_si128(
                    _mm_or_si128(letters(), underscore()),
                    _mm_or_si128(within(v, b'-', b'.'), within(v, b'0', b':')),
                ),
                // `-` `.` `/` `0`..=`9`.
                Run::Name => {
                    _mm_or_si128(_mm_or_si128(letters(), underscore()), within(v, b'-', b'9'))
                }
                Run::Digits => within(v, b'0', b'9'),
                Run::UpperHex => _mm_or_si128(within(v, b'0', b'9'), within(v, b'A', b'F')),
            }
        }
    }
}

/// How many bytes of `run` open `b`.
#[cfg(target_arch = "x86_64")]
pub fn len(b: &[u8], run: Run) -> usize {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8};
    let mut at = 0;
    loop {
        let rest = &b[at..];
        let v = if rest.len() >= 16 {
            // SAFETY: 16 readable bytes; the load needs no alignment.
            unsafe { _mm_loadu_si128(rest.as_ptr().cast::<__m128i>()) }
        } else {
            // The end padded with NUL, a byte of no run.
            let mut block = [0u8; 16];
            block[..rest.len()].copy_from_slice(rest);
            // SAFETY: as above.
            unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) }
        };
        // SAFETY: every x86-64 processor has SSE2.
        let members = unsafe { _mm_movemask_epi8(run.members(v)) } as u32;
        let n = (!members).trailing_zeros() as usize;
        at += n;
        if n < 16 {
            return at;
        }
    }
}

/// How many bytes of `run` open `b`.
#[cfg(not(target_arch = "x86_64"))]
pub fn len(b: &[u8], run: Run) -> usize {
    b.iter().take_while(|&&c| run.has(c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_its_bytes_whatever_their_place_and_the_length() {
        for run in [Run::Host, Run::Name, Run::Digits, Run::UpperHex] {
            let member = (0..=255u8).find(|&c| run.has(c)).unwrap();
            for c in 0..=255u8 {
                // `c` at every place of runs of up to 40 bytes, the end of the slice or not.
                for n in 0..40 {
                    for tail in [&b""[..], b"~x"] {
                        let mut b = vec![member; n];
                        b.push(c);
                        b.extend_from_slice(tail);
                        let expected = b.iter().take_while(|&&c| run.has(c)).count();
                        assert_eq!(len(&b, run), expected, "{run:?} {c:#x} after {n}");
                    }
                }
            }
            assert_eq!(len(b"", run), 0);
        }
    }
}

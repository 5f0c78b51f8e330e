//! Where the words of a chunk are and which of them are worth a look: bitmaps of the chunk,
//! one bit per byte, computed 64 bytes at a time in the vector registers where the processor
//! has AVX-512 VBMI (byte-wide table lookups), else each class's bitmap taken 32 bytes at a
//! time (AVX2, by AVX-512's mask registers where there are some) and combined in ordinary
//! ones, so that the scan goes from candidate to candidate and never looks at most words of a
//! line.
//!
//! A candidate is a superset of the words `anonymize` may replace, decided from a byte and its
//! neighbours: a word holding `@`, or `.`/`:` between two of its bytes (a dot between digits
//! only as the third of an IPv4 address); the word before `[` (`host[addr]`); the word after
//! `<`, a word's `(` (`imap(`), `e=`/`r=` (`user=`, `sasl_username=`), `as ` and `e: `
//! (`queued as `, `(username: `); and the separator after `<` (the quote of `<"bad
//! user"@example.org>`), an empty word. Whether the word is replaced is decided there, not
//! here. With VBMI the map also has where a needle of the prefilter may end, so that the
//! detectors' lines are found without the prefilter's own pass over the chunk.
//!
//! Not here: what a word is replaced by (`anonymize`).

use crate::detect::{NEEDLES, Prefilter};

/// The bitmaps of one chunk: bit `i % 64` of word `i / 64` for byte `i`.
#[derive(Default)]
pub struct ByteMap {
    /// The lines' ends.
    newlines: Vec<u64>,
    separators: Vec<u64>,
    marks: Vec<u64>,
    /// A byte of each candidate word, or the `[` right after it.
    candidates: Vec<u64>,
    /// The places where one of the prefilter's needles may end (its last four bytes, in any
    /// case: a superset), mapped by `fill_vbmi` only.
    needle_ends: Vec<u64>,
}

/// A block's words of the bitmaps.
struct Words {
    newlines: u64,
    separators: u64,
    marks: u64,
    candidates: u64,
}

/// What a block passes on to the next one: the bitmaps whose bits say something of the byte
/// after (the last bit, of the next block's first byte).
#[derive(Clone, Copy, Default)]
struct Shifted {
    in_word: u64,
    after_in_word: u64,
    dots: u64,
    colons: u64,
    digits: u64,
    digit_dot_digits: u64,
    two_digit_dot_digits: u64,
    field_end: u64,
    before_before_space: u64,
    spaced_tail: u64,
    angle: u64,
    paren: u64,
    field: u64,
    spaced: u64,
}

/// The classes of 64 bytes that the bitmaps are made of.
#[derive(Clone, Copy, Default)]
struct Classes {
    newlines: u64,
    separators: u64,
    dots: u64,
    colons: u64,
    digits: u64,
    at: u64,
    open_bracket: u64,
    angle: u64,
    paren: u64,
    equals: u64,
    /// `e` or `r` (and `b`, `u`): the ends of the user fields' names.
    field_end: u64,
    space: u64,
    /// `s` or `:`: before the space of `queued as ` and `(username: `.
    before_space: u64,
    /// `a` or `e`: before those.
    before_before_space: u64,
}

impl ByteMap {
    /// Maps `chunk` (the buffers are kept from chunk to chunk); says whether the needles' ends
    /// are mapped too ([`ByteMap::has_needle`]).
    pub fn fill(&mut self, chunk: &[u8]) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512bw") && has!("avx512vbmi") {
                // SAFETY: the processor has these features, as just checked.
                unsafe { self.fill_vbmi(chunk) };
                return true;
            }
            if has!("avx512bw") && has!("avx512vl") {
                // SAFETY: the processor has these features, as just checked.
                unsafe { self.fill_avx512(chunk) };
                return false;
            }
            if has!("avx2") {
                // SAFETY: as above.
                unsafe { self.fill_avx2(chunk) };
                return false;
            }
        }
        self.fill_with(chunk, classify_bytes);
        false
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fill_avx2(&mut self, chunk: &[u8]) {
        self.fill_with(chunk, |block| classify_avx2(block));
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,avx512bw,avx512vl")]
    fn fill_avx512(&mut self, chunk: &[u8]) {
        self.fill_with(chunk, |block| classify_avx512(block));
    }

    /// The bitmaps of `n` blocks: a word of each bitmap a block (its old value written over:
    /// sized, not zeroed), taken as slices of the blocks' number and written by index: no
    /// length kept in `self` to load and store again after each word.
    #[inline(always)]
    fn sized(&mut self, n: usize) -> [&mut [u64]; 5] {
        let bitmaps = [
            &mut self.newlines,
            &mut self.separators,
            &mut self.marks,
            &mut self.candidates,
            &mut self.needle_ends,
        ];
        bitmaps.map(|bitmap| {
            bitmap.resize(n, 0);
            &mut bitmap[..n]
        })
    }

    /// The bitmaps with the places of candidates decided byte by byte, in the vector
    /// registers: each byte and the three before it looked up in a table of 128 bytes each
    /// (`vpermi2b`; a byte of 128 or more is a plain word byte, as 127 is), the products of
    /// [`VBMI_TERMS`] taken in one AND of the four, a bit each, and only the bitmaps moved out
    /// of the vector registers (a bitmap a class moved out and shifted, as `block` does, is
    /// three times the instructions). The needles' ends the same way, from tables of their
    /// own.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn fill_vbmi(&mut self, chunk: &[u8]) {
        use std::arch::x86_64::{
            __m512i, _mm512_and_si512, _mm512_loadu_si512, _mm512_min_epu8,
            _mm512_permutex2var_epi8, _mm512_set1_epi8, _mm512_test_epi8_mask,
        };
        let n = chunk.len().div_ceil(64);
        let [newlines, separators, marks, candidates, needle_ends] = self.sized(n);
        let load = |bytes: &[u8; 64]| {
            // SAFETY: 64 readable bytes; the load needs no alignment.
            unsafe { _mm512_loadu_si512(bytes.as_ptr().cast::<__m512i>()) }
        };
        let table = |t: &[u8; 128]| {
            let (low, high) = t.split_at(64);
            (
                load(low.try_into().expect("64 bytes")),
                load(high.try_into().expect("64 bytes")),
            )
        };
        let places = VBMI_TABLES.places.each_ref().map(table);
        let needles = VBMI_TABLES.needles.each_ref().map(table);
        let own = table(&VBMI_TABLES.own);
        // Byte `i` of the indexes: byte `64 + i - k` of the block before and this one.
        let back: [__m512i; 3] =
            std::array::from_fn(|k| load(&std::array::from_fn(|i| (64 + i - (k + 1)) as u8)));
        let plain = _mm512_set1_epi8(0x7f);
        let bit = |bits: u8| _mm512_set1_epi8(bits as i8);
        // Before the chunk: a line's end.
        let mut before = _mm512_set1_epi8(b'\n' as i8);
        let (mut ddd_before, mut two_before) = (0, 0);
        // The last block padded with NUL, a plain word byte as in `fill_with`.
        let mut last = [0u8; 64];
        let full = chunk.len() / 64;
        last[..chunk.len() % 64].copy_from_slice(&chunk[full * 64..]);
        // One loop, no closure: the tables stay in registers.
        for b in 0..n {
            let bytes = chunk.get(b * 64..b * 64 + 64).unwrap_or(&last);
            let now = _mm512_min_epu8(load(bytes.try_into().expect("64 bytes")), plain);
            let at = [
                now,
                _mm512_permutex2var_epi8(before, back[0], now),
                _mm512_permutex2var_epi8(before, back[1], now),
                _mm512_permutex2var_epi8(before, back[2], now),
            ];
            let products = |tables: &[(__m512i, __m512i); 4]| {
                let lookup = |k: usize| _mm512_permutex2var_epi8(tables[k].0, at[k], tables[k].1);
                _mm512_and_si512(
                    _mm512_and_si512(lookup(0), lookup(1)),
                    _mm512_and_si512(lookup(2), lookup(3)),
                )
            };
            let terms = products(&places);
            let own = _mm512_permutex2var_epi8(own.0, now, own.1);
            newlines[b] = _mm512_test_epi8_mask(own, bit(OWN_NEWLINE));
            separators[b] = _mm512_test_epi8_mask(own, bit(OWN_SEPARATOR));
            marks[b] = _mm512_test_epi8_mask(own, bit(OWN_MARK));
            let ddd = _mm512_test_epi8_mask(terms, bit(TERM_DIGIT_DOT_DIGIT));
            let two = ddd & near(ddd, ddd_before);
            candidates[b] = _mm512_test_epi8_mask(terms, bit(TERMS_CANDIDATE))
                | _mm512_test_epi8_mask(terms, bit(TERM_INNER_MARK)) & !ddd
                | two & near(two, two_before);
            let tails = products(&needles);
            needle_ends[b] = _mm512_test_epi8_mask(tails, tails);
            (before, ddd_before, two_before) = (now, ddd, two);
        }
    }

    #[inline(always)]
    fn fill_with(&mut self, chunk: &[u8], classify: impl Fn(&[u8; 64]) -> Classes) {
        let [newlines, separators, marks, candidates, _] = self.sized(chunk.len().div_ceil(64));
        let mut put = |b: usize, words: Words| {
            newlines[b] = words.newlines;
            separators[b] = words.separators;
            marks[b] = words.marks;
            candidates[b] = words.candidates;
        };
        // Before the chunk: a line's end.
        let mut before = Shifted::default();
        let mut b = 0;
        // Two blocks a turn: what passes from one to the next stays where it is computed (a
        // turn a block moved it all to where the next turn reads it).
        let mut pairs = chunk.chunks_exact(128);
        for pair in &mut pairs {
            let (first, second) = pair.split_at(64);
            let (words, middle) = block(&classify(first.try_into().expect("64 bytes")), &before);
            put(b, words);
            let (words, after) = block(&classify(second.try_into().expect("64 bytes")), &middle);
            put(b + 1, words);
            (before, b) = (after, b + 2);
        }
        let mut blocks = pairs.remainder().chunks_exact(64);
        for bytes in &mut blocks {
            let (words, after) = block(&classify(bytes.try_into().expect("64 bytes")), &before);
            put(b, words);
            (before, b) = (after, b + 1);
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            let mut bytes = [0u8; 64];
            bytes[..rest.len()].copy_from_slice(rest);
            put(b, block(&classify(&bytes), &before).0);
        }
    }

    /// The first line's end at or after `from`.
    pub fn next_newline(&self, from: usize) -> Option<usize> {
        let mut block = from / 64;
        let mut bits = self.newlines.get(block)? & (u64::MAX << (from % 64));
        while bits == 0 {
            block += 1;
            bits = *self.newlines.get(block)?;
        }
        Some(block * 64 + bits.trailing_zeros() as usize)
    }

    /// Whether one of the prefilter's needles is in `chunk[start..end]`, by the places the map
    /// says one may end (when [`ByteMap::fill`] says they are mapped).
    pub fn has_needle(&self, chunk: &[u8], start: usize, end: usize) -> bool {
        let mut from = start;
        while let Some(at) = first_bit(&self.needle_ends, from, end) {
            if Prefilter::ends_with_needle(&chunk[start..=at]) {
                return true;
            }
            from = at + 1;
        }
        false
    }

    fn is_separator(&self, at: usize) -> bool {
        self.separators[at / 64] >> (at % 64) & 1 != 0
    }

    /// The first place at or after `from` (before `end`) whose separator bit is `separator`;
    /// `end` if none.
    fn next_with(&self, from: usize, end: usize, separator: bool) -> usize {
        let flip = if separator { 0 } else { u64::MAX };
        let mut block = from / 64;
        let mut bits = (self.separators[block] ^ flip) & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return (block * 64 + bits.trailing_zeros() as usize).min(end);
            }
            block += 1;
            if block * 64 >= end || block >= self.separators.len() {
                return end;
            }
            bits = self.separators[block] ^ flip;
        }
    }

    /// Where the word ending at or before `at` (a byte of it, or the separator after it)
    /// starts: after the last separator before it, or at the chunk's start.
    fn word_start(&self, at: usize) -> usize {
        let mut block = at / 64;
        // The separators before `at`.
        let mut bits = self.separators[block] & !(u64::MAX << (at % 64));
        loop {
            if bits != 0 {
                return block * 64 + 64 - bits.leading_zeros() as usize;
            }
            if block == 0 {
                return 0;
            }
            block -= 1;
            bits = self.separators[block];
        }
    }

    /// The first word of `from..end`: starting at `from` when it is no separator, after it
    /// otherwise, whatever comes before.
    pub fn first_word(&self, from: usize, end: usize) -> Option<std::ops::Range<usize>> {
        if from >= end {
            return None;
        }
        let start = if self.is_separator(from) {
            self.next_with(from, end, false)
        } else {
            from
        };
        (start < end).then(|| start..self.next_with(start, end, true))
    }

    /// The next candidate word starting after `after` (a separator or `end`) and ending by
    /// `end`, a separator or the end of a line.
    pub fn next_candidate(&self, after: usize, end: usize) -> Option<std::ops::Range<usize>> {
        let at = first_bit(&self.candidates, after + 1, end)?;
        // `at` is a byte of the word or the `[` after it: the word is from after the separator
        // before `at` to the first separator from `at` on (`at` itself for the `[`).
        Some(self.word_start(at)..self.next_with(at, end, true))
    }

    /// Whether a byte of `start..=last` is a candidate's.
    pub fn has_candidate(&self, start: usize, last: usize) -> bool {
        let (first, end) = (start / 64, last / 64);
        (first..=end).any(|block| {
            let mut bits = self.candidates[block];
            if block == first {
                bits &= u64::MAX << (start % 64);
            }
            if block == end {
                bits &= u64::MAX >> (63 - last % 64);
            }
            bits != 0
        })
    }

    /// Whether a byte of `start..end` (not empty) is a mark: `.`, `:` or `@`.
    #[inline(always)]
    pub fn marked(&self, start: usize, end: usize) -> bool {
        let (first, last) = (start / 64, (end - 1) / 64);
        if first == last {
            let len = end - start;
            let bits = self.marks[first] >> (start % 64);
            return len < 64 && bits & ((1 << len) - 1) != 0 || len == 64 && bits != 0;
        }
        self.marks[first] >> (start % 64) != 0
            || self.marks[first + 1..last].iter().any(|&m| m != 0)
            || self.marks[last] & (u64::MAX >> (63 - (end - 1) % 64)) != 0
    }

    /// `chunk` mapped byte by byte, the needles' ends not: the map of a processor without
    /// vector instructions, for the tests.
    #[cfg(test)]
    pub fn fill_bytewise(&mut self, chunk: &[u8]) {
        self.fill_with(chunk, classify_bytes);
    }

    /// Every word a candidate, and every separator after `<` of `chunk`: what the candidates
    /// must not miss, for the tests.
    #[cfg(test)]
    pub fn take_every_word(&mut self, chunk: &[u8]) {
        for (candidate, separator) in self.candidates.iter_mut().zip(&self.separators) {
            *candidate = !separator;
        }
        for (i, pair) in chunk.windows(2).enumerate() {
            if pair[0] == b'<' && self.is_separator(i + 1) {
                self.candidates[(i + 1) / 64] |= 1 << ((i + 1) % 64);
            }
        }
    }
}

/// The first set bit of `bitmap` in `from..end`.
#[inline(always)]
fn first_bit(bitmap: &[u64], from: usize, end: usize) -> Option<usize> {
    if from >= end {
        return None;
    }
    let mut block = from / 64;
    let mut bits = bitmap[block] & (u64::MAX << (from % 64));
    while bits == 0 {
        block += 1;
        if block * 64 >= end || block >= bitmap.len() {
            return None;
        }
        bits = bitmap[block];
    }
    let at = block * 64 + bits.trailing_zeros() as usize;
    (at < end).then_some(at)
}

/// Each bit of `x` moved by `k` bytes, the last of `before` (the block before) coming first;
/// by one: to the next byte.
#[inline(always)]
fn by(k: u32, x: u64, before: u64) -> u64 {
    x << k | before >> (64 - k)
}

/// The bytes with a bit of `x` 2 to 4 bytes before them (`before`: the block before).
#[inline(always)]
fn near(x: u64, before: u64) -> u64 {
    by(2, x, before) | by(3, x, before) | by(4, x, before)
}

/// A block's words of the bitmaps, its candidates decided with what the block before passes
/// on; and what it passes on to the next.
#[inline(always)]
fn block(c: &Classes, before: &Shifted) -> (Words, Shifted) {
    let next = |x: u64, before: u64| by(1, x, before);
    let in_word = !c.separators;
    let after_in_word = next(in_word, before.in_word);
    let two_after_in_word = next(after_in_word, before.after_in_word);
    let inner = in_word & two_after_in_word;
    // The byte after a `.` or a `:` with word bytes on both sides of it; not a digit after
    // a dot between digits (`0.66`, `2.0.0`), unless it is the third of three such within
    // 4 bytes of each other (`192.0.2.1`): a host name has a letter after a dot (its
    // top-level domain), an address three dots between digits.
    let digit_dot_digits = c.digits & next(c.dots, before.dots) & by(2, c.digits, before.digits);
    let two_digit_dot_digits = digit_dot_digits & near(digit_dot_digits, before.digit_dot_digits);
    let three_digit_dot_digits =
        two_digit_dot_digits & near(two_digit_dot_digits, before.two_digit_dot_digits);
    let inner_mark =
        (next(c.colons, before.colons) | next(c.dots, before.dots) & !digit_dot_digits) & inner
            | three_digit_dot_digits;
    let word_before_bracket = c.open_bracket & after_in_word;
    // `name(`, not ` (`.
    let paren = c.paren & after_in_word;
    let field = c.equals & next(c.field_end, before.field_end);
    // `as `, `e: `.
    let spaced_tail = c.before_space & next(c.before_before_space, before.before_before_space);
    let spaced = c.space & next(spaced_tail, before.spaced_tail);
    // After `<` also a separator: the quote that opens `<"bad user"@example.org>`.
    let word_after = next(c.angle, before.angle)
        | (next(paren, before.paren) | next(field, before.field) | next(spaced, before.spaced))
            & in_word;
    let words = Words {
        newlines: c.newlines,
        separators: c.separators,
        // The marks: `.`, `:` or `@`.
        marks: c.dots | c.colons | c.at,
        candidates: c.at | inner_mark | word_before_bracket | word_after,
    };
    let shifted = Shifted {
        in_word,
        after_in_word,
        dots: c.dots,
        colons: c.colons,
        digits: c.digits,
        digit_dot_digits,
        two_digit_dot_digits,
        field_end: c.field_end,
        before_before_space: c.before_before_space,
        spaced_tail,
        angle: c.angle,
        paren,
        field,
        spaced,
    };
    (words, shifted)
}

/// Byte classes by nibbles: a byte is in a class when a bit of the class is set both in
/// `low[byte & 15]` and in `high[byte >> 4]` (each bit a set of high nibbles times a set of
/// low ones), so that 32 bytes are classified with two table lookups (`vpshufb`) a table.
/// The tables of up to 8 classes, bit `k` for the bytes of `classes[k]`: a class is exactly
/// its bytes when they are all the pairs of their nibbles (the tests check it).
const fn nibble_tables(classes: [&[u8]; 8]) -> ([u8; 16], [u8; 16]) {
    let (mut low, mut high) = ([0u8; 16], [0u8; 16]);
    let mut k = 0;
    while k < 8 {
        let mut i = 0;
        while i < classes[k].len() {
            let b = classes[k][i];
            low[(b & 15) as usize] |= 1 << k;
            high[(b >> 4) as usize] |= 1 << k;
            i += 1;
        }
        k += 1;
    }
    (low, high)
}

/// Separators end a word of a message (`:` and `.` do not: addresses hold them), in four
/// classes of nibble pairs.
const SEPARATORS: [&[u8]; 4] = [b"\t\n", b" \"(),", b";<=>", b"[]{}"];
/// The ends of the user fields' names, `e` and `r` (and `b` and `u`, their nibbles' pairs).
const FIELD_ENDS: &[u8] = b"beru";
const DIGITS: &[u8] = b"0123456789";
/// Before the space of `queued as ` and `(username: `, and before those.
const BEFORE_SPACE: &[u8] = b"s:";
const BEFORE_BEFORE_SPACE: &[u8] = b"ae";

/// The separators (bits 0 to 3); the marks; `[`.
const TABLE_1: ([u8; 16], [u8; 16]) = nibble_tables([
    SEPARATORS[0],
    SEPARATORS[1],
    SEPARATORS[2],
    SEPARATORS[3],
    b".",
    b":",
    b"@",
    b"[",
]);
const SEPARATOR_BITS: u8 = 0b0000_1111;
const DOT_BIT: u8 = 0b0001_0000;
const COLON_BIT: u8 = 0b0010_0000;
const AT_BIT: u8 = 0b0100_0000;
const OPEN_BRACKET_BIT: u8 = 0b1000_0000;
/// The bytes that the places of candidates are made of (`b` and `u` come with `e` and `r`,
/// their nibbles' pairs).
const TABLE_2: ([u8; 16], [u8; 16]) = nibble_tables([
    b"<",
    b"(",
    b"=",
    FIELD_ENDS,
    DIGITS,
    b" ",
    // `:`, the other byte of BEFORE_SPACE, is table 1's.
    BEFORE_SPACE.split_at(1).0,
    BEFORE_BEFORE_SPACE,
]);
const ANGLE_BIT: u8 = 0b0000_0001;
const PAREN_BIT: u8 = 0b0000_0010;
const EQUALS_BIT: u8 = 0b0000_0100;
const FIELD_END_BIT: u8 = 0b0000_1000;
const DIGIT_BIT: u8 = 0b0001_0000;
const SPACE_BIT: u8 = 0b0010_0000;
const S_BIT: u8 = 0b0100_0000;
const A_E_BIT: u8 = 0b1000_0000;

/// What a byte of a [`VBMI_TERMS`] term must be.
#[derive(Clone, Copy)]
enum Byte {
    Any,
    InWord,
    In(&'static [u8]),
}

/// The places of candidates (those of `block`, but the third of three dots between digits)
/// as products over a byte and the three before it (offsets 0, -1, -2, -3): bit `k` of the
/// AND of the four tables' bytes is term `k`.
const VBMI_TERMS: [[Byte; 4]; 8] = {
    use Byte::{Any, In, InWord};
    [
        // `@`.
        [In(b"@"), Any, Any, Any],
        // The `[` after a word.
        [In(b"["), InWord, Any, Any],
        // After `<`, a separator too.
        [Any, In(b"<"), Any, Any],
        // After a word's `(`, `e=`/`r=`, `as `/`e: `.
        [InWord, In(b"("), InWord, Any],
        [InWord, In(b"="), In(FIELD_ENDS), Any],
        [InWord, In(b" "), In(BEFORE_SPACE), In(BEFORE_BEFORE_SPACE)],
        // After a `.` or `:` with word bytes on both sides of it, not a digit after a dot
        // between digits (the next term).
        [InWord, In(b".:"), InWord, Any],
        [In(DIGITS), In(b"."), In(DIGITS), Any],
    ]
};
const TERMS_CANDIDATE: u8 = 0b0011_1111;
const TERM_INNER_MARK: u8 = 0b0100_0000;
const TERM_DIGIT_DOT_DIGIT: u8 = 0b1000_0000;

/// The last four bytes of the prefilter's needles in lower case, each once, and how many:
/// where a needle may end, whatever the case (the prefilter's own check tells).
const NEEDLE_TAILS: ([[u8; 4]; 8], usize) = {
    let (mut tails, mut n) = ([[0u8; 4]; 8], 0);
    let mut k = 0;
    while k < NEEDLES.len() {
        let needle = NEEDLES[k].as_bytes();
        assert!(needle.len() >= 4, "a needle of 4 bytes or more");
        let mut tail = [0u8; 4];
        let mut i = 0;
        while i < 4 {
            tail[i] = needle[needle.len() - 4 + i].to_ascii_lowercase();
            assert!(tail[i] < 0x7f, "a needle of ASCII bytes, not DEL");
            i += 1;
        }
        let mut seen = false;
        let mut j = 0;
        while j < n {
            let t = tails[j];
            seen |= t[0] == tail[0] && t[1] == tail[1] && t[2] == tail[2] && t[3] == tail[3];
            j += 1;
        }
        if !seen {
            assert!(n < 8, "at most 8 needles' tails: a bit each");
            tails[n] = tail;
            n += 1;
        }
        k += 1;
    }
    (tails, n)
};

/// The tables of [`ByteMap::fill_vbmi`], by byte value (below 128).
struct VbmiTables {
    /// The places' terms' bits a byte has at each offset.
    places: [[u8; 128]; 4],
    /// The needles' tails' bits a byte has at each offset.
    needles: [[u8; 128]; 4],
    /// A byte's own classes: `OWN_*`.
    own: [u8; 128],
}
const OWN_NEWLINE: u8 = 1;
const OWN_SEPARATOR: u8 = 2;
const OWN_MARK: u8 = 4;

static VBMI_TABLES: VbmiTables = {
    const fn contains(set: &[u8], c: u8) -> bool {
        let mut i = 0;
        while i < set.len() {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
        false
    }
    const fn is_separator(c: u8) -> bool {
        let mut k = 0;
        while k < SEPARATORS.len() {
            if contains(SEPARATORS[k], c) {
                return true;
            }
            k += 1;
        }
        false
    }
    let mut t = VbmiTables {
        places: [[0; 128]; 4],
        needles: [[0; 128]; 4],
        own: [0; 128],
    };
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        let mut term = 0;
        while term < VBMI_TERMS.len() {
            let mut offset = 0;
            while offset < 4 {
                let holds = match VBMI_TERMS[term][offset] {
                    Byte::Any => true,
                    Byte::InWord => !is_separator(b),
                    Byte::In(set) => contains(set, b),
                };
                if holds {
                    t.places[offset][c] |= 1 << term;
                }
                offset += 1;
            }
            term += 1;
        }
        let (tails, n) = NEEDLE_TAILS;
        let mut tail = 0;
        while tail < n {
            let mut offset = 0;
            while offset < 4 {
                if b.to_ascii_lowercase() == tails[tail][3 - offset] {
                    t.needles[offset][c] |= 1 << tail;
                }
                offset += 1;
            }
            tail += 1;
        }
        if b == b'\n' {
            t.own[c] |= OWN_NEWLINE;
        }
        if is_separator(b) {
            t.own[c] |= OWN_SEPARATOR;
        }
        if contains(b".:@", b) {
            t.own[c] |= OWN_MARK;
        }
        c += 1;
    }
    t
};

/// The classes of one byte, by the tables: (table 1's bits, table 2's bits).
fn byte_classes(c: u8) -> (u8, u8) {
    let (low, high) = (usize::from(c & 15), usize::from(c >> 4));
    (
        TABLE_1.0[low] & TABLE_1.1[high],
        TABLE_2.0[low] & TABLE_2.1[high],
    )
}

/// 64 bytes' classes from their bits in the tables, taken by `has(table, bits)`: the bitmap
/// of the bytes with one of `bits` in that table; and their newlines.
#[inline(always)]
fn classes_from(has: impl Fn(usize, u8) -> u64, newlines: u64) -> Classes {
    let colons = has(0, COLON_BIT);
    Classes {
        newlines,
        separators: has(0, SEPARATOR_BITS),
        dots: has(0, DOT_BIT),
        colons,
        digits: has(1, DIGIT_BIT),
        at: has(0, AT_BIT),
        open_bracket: has(0, OPEN_BRACKET_BIT),
        angle: has(1, ANGLE_BIT),
        paren: has(1, PAREN_BIT),
        equals: has(1, EQUALS_BIT),
        field_end: has(1, FIELD_END_BIT),
        space: has(1, SPACE_BIT),
        before_space: has(1, S_BIT) | colons,
        before_before_space: has(1, A_E_BIT),
    }
}

/// The classes of 64 bytes, 32 at a time (AVX2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify_avx2(block: &[u8; 64]) -> Classes {
    // SAFETY: the processor has AVX2, as the caller's features say.
    unsafe { classify_x86::<false>(block) }
}

/// The classes of 64 bytes, 32 at a time, each class's bits taken in one instruction (the
/// AVX-512 mask registers; 32 bytes a vector all the same: whole 64-byte vectors were slower).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512bw,avx512vl")]
fn classify_avx512(block: &[u8; 64]) -> Classes {
    // SAFETY: the processor has these features, as the caller's say.
    unsafe { classify_x86::<true>(block) }
}

/// The classes of 64 bytes, 32 at a time; `MASKS`: by the AVX-512 mask registers.
///
/// # Safety
/// The processor has AVX2, and AVX-512 BW and VL for `MASKS`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn classify_x86<const MASKS: bool>(block: &[u8; 64]) -> Classes {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_cmpeq_epi8_mask, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8,
        _mm256_srli_epi16, _mm256_test_epi8_mask,
    };
    // SAFETY: the processor has the features the intrinsics need (the caller's promise).
    unsafe {
        let table = |t: &[u8; 16]| {
            let both = [*t, *t];
            // 32 readable bytes; the load needs no alignment.
            _mm256_loadu_si256(both.as_ptr().cast::<__m256i>())
        };
        let tables = [
            (table(&TABLE_1.0), table(&TABLE_1.1)),
            (table(&TABLE_2.0), table(&TABLE_2.1)),
        ];
        let nibble = _mm256_set1_epi8(0x0f);
        let mut classes = [[_mm256_setzero_si256(); 2]; 2];
        let mut newlines = 0u64;
        for (k, half) in block.chunks_exact(32).enumerate() {
            // `half` is 32 readable bytes; the load needs no alignment.
            let v = _mm256_loadu_si256(half.as_ptr().cast::<__m256i>());
            let newline = _mm256_set1_epi8(b'\n' as i8);
            let newline = if MASKS {
                _mm256_cmpeq_epi8_mask(v, newline)
            } else {
                _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, newline)) as u32
            };
            newlines |= u64::from(newline) << (32 * k);
            let (low, high) = (
                _mm256_and_si256(v, nibble),
                _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble),
            );
            for (t, (low_table, high_table)) in tables.iter().enumerate() {
                classes[t][k] = _mm256_and_si256(
                    _mm256_shuffle_epi8(*low_table, low),
                    _mm256_shuffle_epi8(*high_table, high),
                );
            }
        }
        classes_from(
            |t, bits| {
                let half = |k: usize| {
                    let bits = _mm256_set1_epi8(bits as i8);
                    if MASKS {
                        return _mm256_test_epi8_mask(classes[t][k], bits);
                    }
                    let hits = _mm256_and_si256(classes[t][k], bits);
                    !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hits, _mm256_setzero_si256())) as u32)
                };
                u64::from(half(0)) | u64::from(half(1)) << 32
            },
            newlines,
        )
    }
}

/// The classes of 64 bytes, one byte at a time.
fn classify_bytes(block: &[u8; 64]) -> Classes {
    let classes = block.map(byte_classes);
    let bitmap =
        |has: &dyn Fn(usize) -> bool| (0..64).fold(0, |map, i| map | u64::from(has(i)) << i);
    classes_from(
        |t, bits| {
            bitmap(&|i| {
                let byte = if t == 0 { classes[i].0 } else { classes[i].1 };
                byte & bits != 0
            })
        },
        bitmap(&|i| block[i] == b'\n'),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes the tables encode, by name.
    const CLASSES: [(&str, &[u8]); 14] = [
        ("newlines", b"\n"),
        ("separators", b" \t,;<>[]()=\"{}\n"),
        ("dots", b"."),
        ("colons", b":"),
        ("digits", b"0123456789"),
        ("at", b"@"),
        ("open_bracket", b"["),
        ("angle", b"<"),
        ("paren", b"("),
        ("equals", b"="),
        ("field_end", b"beru"),
        ("space", b" "),
        ("before_space", b"s:"),
        ("before_before_space", b"ae"),
    ];

    fn by_name(c: &Classes) -> [u64; 14] {
        [
            c.newlines,
            c.separators,
            c.dots,
            c.colons,
            c.digits,
            c.at,
            c.open_bracket,
            c.angle,
            c.paren,
            c.equals,
            c.field_end,
            c.space,
            c.before_space,
            c.before_before_space,
        ]
    }

    #[test]
    fn every_byte_value_is_classified_as_the_lists_say_at_every_place() {
        // Each byte value at each of the 64 places.
        for shift in 0..64 {
            for base in (0..256).step_by(64) {
                let mut block = [0u8; 64];
                for (i, b) in block.iter_mut().enumerate() {
                    *b = ((base + (i + shift) % 64) % 256) as u8;
                }
                let expected = CLASSES.map(|(_, bytes)| {
                    block
                        .iter()
                        .enumerate()
                        .fold(0u64, |map, (i, c)| map | u64::from(bytes.contains(c)) << i)
                });
                let names = CLASSES.map(|(name, _)| name);
                let bytewise = by_name(&classify_bytes(&block));
                assert_eq!((names, bytewise), (names, expected), "{block:?}");
                #[cfg(target_arch = "x86_64")]
                {
                    use std::arch::is_x86_feature_detected as has;
                    if has!("avx2") {
                        // SAFETY: the processor has AVX2, as just checked.
                        let vector = by_name(&unsafe { classify_avx2(&block) });
                        assert_eq!((names, vector), (names, expected), "{block:?}");
                    }
                    if has!("avx512bw") && has!("avx512vl") {
                        // SAFETY: as above.
                        let vector = by_name(&unsafe { classify_avx512(&block) });
                        assert_eq!((names, vector), (names, expected), "{block:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_vbmi_map_is_the_bytewise_map() {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if !(has!("avx512bw") && has!("avx512vbmi")) {
                eprintln!("SKIPPED: the processor has no AVX-512 VBMI");
                return;
            }
            // The bytes of the places, some plain ones, and bytes of 128 or more (plain ones
            // too, whatever their lower 7 bits), at random: every pair and triple of them
            // comes, within a block and across blocks' ends.
            let bytes = b"\t\n \"(),;<=>[]{}.:@0123456789aberusx/\x7f\x80\xa0\xae\xbb\xff";
            let mut random = crate::random::seeded(0x9e37_79b9_7f4a_7c15);
            let (mut bytewise, mut vbmi) = (ByteMap::default(), ByteMap::default());
            for round in 0..3000 {
                let len = if round % 10 == 0 {
                    64 * random(8)
                } else {
                    random(700)
                };
                let text: Vec<u8> = (0..len).map(|_| bytes[random(bytes.len())]).collect();
                bytewise.fill_bytewise(&text);
                // SAFETY: the processor has these features, as just checked.
                unsafe { vbmi.fill_vbmi(&text) };
                let words = |m: &ByteMap| {
                    [&m.newlines, &m.separators, &m.marks, &m.candidates].map(|v| v.clone())
                };
                assert_eq!(words(&vbmi), words(&bytewise), "{:?}", text.escape_ascii());
            }
        }
    }

    #[test]
    fn the_lines_with_a_needle_are_the_prefilters() {
        let mut map = ByteMap::default();
        if !map.fill(b"") {
            eprintln!("SKIPPED: the needles' ends are mapped with AVX-512 VBMI only");
            return;
        }
        // Needles and their parts in other cases, cut short, or across lines.
        let pieces: [&[u8]; 16] = [
            b"auth",
            b"aUth",
            b"AUTH",
            b"Auth",
            b"login",
            b"LOGIN",
            b"LoGiN",
            b"SASL",
            b"SaSL",
            b"password",
            b"PASSWORD",
            b"word",
            b"rhost=",
            b"host=",
            b"\n",
            b" x ",
        ];
        let mut random = crate::random::seeded(0x2545_f491_4f6c_dd1d);
        let prefilter = Prefilter::default();
        for _ in 0..2000 {
            let mut text = Vec::new();
            for _ in 0..random(40) {
                let piece = pieces[random(pieces.len())];
                text.extend_from_slice(&piece[..piece.len() - random(2).min(piece.len() - 1)]);
            }
            text.push(b'\n');
            let mut expected = Vec::new();
            prefilter.for_each_candidate(&text, |line| {
                expected.push(line.as_ptr() as usize - text.as_ptr() as usize)
            });
            assert!(map.fill(&text));
            let (mut found, mut start) = (Vec::new(), 0);
            while let Some(end) = map.next_newline(start) {
                if map.has_needle(&text, start, end) {
                    found.push(start);
                }
                start = end + 1;
            }
            assert_eq!(found, expected, "{:?}", text.escape_ascii());
        }
    }

    fn candidates(map: &ByteMap, from: usize, end: usize) -> Vec<(usize, usize)> {
        let Some(first) = map.first_word(from, end) else {
            return Vec::new();
        };
        let mut words = vec![(first.start, first.end)];
        let mut after = first.end;
        while let Some(w) = map.next_candidate(after, end) {
            words.push((w.start, w.end));
            after = w.end;
        }
        words
    }

    #[test]
    fn a_text_maps_alike_whichever_blocks_are_mapped_together() {
        // At each block's end a place that only the block before says is one; the text then
        // moved by one block (the blocks mapped first of two become the second, and the last
        // one left alone changes).
        let places: [&[u8]; 7] = [
            b" e=<ab",
            b" 10.0.2.1",
            b" as Q",
            b" f(x",
            b" b@c",
            b" h[",
            b" a.bc",
        ];
        for len in [64 * 7 + 9, 64 * 8, 64 * 6 + 63] {
            let mut text = vec![b'a'; len];
            for (k, place) in places.iter().cycle().take(len / 64).enumerate() {
                let at = 64 * (k + 1) - place.len() / 2;
                if at + place.len() <= len {
                    text[at..at + place.len()].copy_from_slice(place);
                }
            }
            let mut moved = vec![b' '; 64];
            moved.extend_from_slice(&text);
            let mut map = ByteMap::default();
            map.fill(&text);
            let found = candidates(&map, 0, len);
            map.fill(&moved);
            let found_moved: Vec<_> = candidates(&map, 64, 64 + len)
                .into_iter()
                .map(|(start, end)| (start - 64, end - 64))
                .collect();
            assert_eq!(found, found_moved, "{len} bytes");
            assert!(found.len() >= len / 64, "{found:?}");
        }
    }

    #[test]
    fn the_separator_after_an_angle_bracket_is_an_empty_candidate() {
        // `<"` within a block and across a block's end; `<>`; `<` before a word.
        let mut text = vec![b'a'; 128];
        for (at, bytes) in [
            (10, &b" <\"b c\"@d "[..]),
            (30, b" <> "),
            (40, b" <e "),
            (62, b" <\"f\"@g "),
        ] {
            text[at..at + bytes.len()].copy_from_slice(bytes);
        }
        let mut map = ByteMap::default();
        map.fill(&text);
        assert_eq!(
            candidates(&map, 0, 128),
            [
                (0, 10),
                (12, 12),
                (17, 19), // `@d`
                (32, 32),
                (42, 43),
                (64, 64),
                (67, 69),
            ]
        );
    }

    #[test]
    fn candidate_words_are_found_across_64_byte_blocks() {
        // The first word, then words at each kind of place, some across a block's end.
        let mut text = vec![b'a'; 256];
        let mut put = |at: usize, bytes: &[u8]| text[at..at + bytes.len()].copy_from_slice(bytes);
        put(10, b" ");
        put(20, b" ");
        put(30, b".");
        put(40, b" b. ");
        put(62, b"=<"); // `<` opens a word at 64
        put(70, b" user=x ");
        put(90, b" rcpt=9 ");
        put(120, b" queued as Q");
        put(140, b" word ");
        put(190, b"[");
        put(200, b" :c c: ");
        put(225, b" (x f(y ");
        put(220, b" @ ");
        put(255, b"\n");
        let mut map = ByteMap::default();
        map.fill(&text);
        assert_eq!(
            candidates(&map, 0, 255),
            [
                (0, 10),    // the first word
                (21, 40),   // `.` inside
                (64, 70),   // after `<`
                (76, 77),   // after `r=`
                (131, 140), // after `s `
                (146, 190), // before `[`
                (221, 222), // `@`
                (231, 232), // after `f(`
            ]
        );
        // From inside a word, or from a separator; up to an end inside a word.
        assert_eq!(candidates(&map, 5, 35), [(5, 10), (21, 35)]);
        assert_eq!(candidates(&map, 62, 66), [(64, 66)]);
        assert_eq!(candidates(&map, 140, 140), []);
        // Every word, when every byte is a candidate.
        map.take_every_word(&text);
        assert_eq!(
            candidates(&map, 195, 255),
            [
                (195, 200),
                (201, 203),
                (204, 206),
                (207, 220),
                (221, 222),
                (223, 225),
                (227, 228),
                (229, 230),
                (231, 232),
                (233, 255)
            ]
        );
        assert!(!map.marked(72, 75));
        assert!(map.marked(200, 205));
        assert!(map.marked(221, 222));
        assert!(!map.marked(0, 10));
        assert!(map.marked(0, 255));
    }
}

//! Where the words of a chunk are and which of them may be an address or a name: two bitmaps
//! of the chunk, one bit per byte, computed 32 bytes at a time (AVX2, when the processor has
//! it) so that the scan looks at words, not bytes.
//!
//! Not here: what a word is replaced by (`anonymize`).

/// The bitmaps of one chunk: bit `i % 64` of word `i / 64` for byte `i`.
#[derive(Default)]
pub struct ByteMap {
    separators: Vec<u64>,
    marks: Vec<u64>,
}

impl ByteMap {
    /// Maps `chunk` (the buffers are kept from chunk to chunk).
    pub fn fill(&mut self, chunk: &[u8]) {
        self.separators.clear();
        self.marks.clear();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, as just checked.
            unsafe { self.fill_avx2(chunk) };
            return;
        }
        self.fill_with(chunk, classify_bytes);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fill_avx2(&mut self, chunk: &[u8]) {
        self.fill_with(chunk, |block| classify_avx2(block));
    }

    #[inline(always)]
    fn fill_with(&mut self, chunk: &[u8], classify: impl Fn(&[u8; 64]) -> (u64, u64)) {
        let mut blocks = chunk.chunks_exact(64);
        for block in &mut blocks {
            let (s, m) = classify(block.try_into().expect("64 bytes"));
            self.separators.push(s);
            self.marks.push(m);
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            let mut block = [0u8; 64];
            block[..rest.len()].copy_from_slice(rest);
            let (s, m) = classify(&block);
            self.separators.push(s);
            self.marks.push(m);
        }
    }

    /// The words of `from..end` of the mapped chunk, in order (a word may begin at `from`).
    pub fn words(&self, from: usize, end: usize) -> Words<'_> {
        let mut words = Words {
            separators: &self.separators,
            block: self.separators.len(),
            edges: 0,
            end,
        };
        if from < end {
            // The first word starts at `from` when it is no separator, after it otherwise,
            // whatever comes before.
            words.seek(from);
            let here = 1 << (from % 64);
            if self.is_separator(from) {
                words.edges &= !here;
            } else {
                words.edges |= here;
            }
        }
        words
    }

    fn is_separator(&self, at: usize) -> bool {
        self.separators[at / 64] >> (at % 64) & 1 != 0
    }

    /// Whether a byte of `start..end` (not empty) is a mark: `.`, `:` or `@`.
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
}

/// The words of a span of the chunk, as ranges: where the separators' bitmap changes (an
/// edge) a word starts or ends, and the edges are read a 64-bit block at a time.
pub struct Words<'a> {
    separators: &'a [u64],
    /// The block of `edges`.
    block: usize,
    /// Edges of `block` not handed out yet.
    edges: u64,
    end: usize,
}

impl Words<'_> {
    /// The edges of `block`: bit `i` set when byte `i` is a separator and the one before is
    /// not, or the other way round (before the chunk: a line's end).
    fn edges_of(&self, block: usize) -> u64 {
        let separators = self.separators[block];
        let before = match block {
            0 => 1,
            _ => self.separators[block - 1] >> 63,
        };
        separators ^ (separators << 1 | before)
    }

    /// Reads on from `at`: the next edges are those at `at` or after.
    fn seek(&mut self, at: usize) {
        self.block = at / 64;
        self.edges = self.edges_of(self.block) & (u64::MAX << (at % 64));
    }

    /// Goes on after `at`, a separator or the end (inside a word already read, bracketed
    /// values being a word of their own).
    pub fn skip_to(&mut self, at: usize) {
        if at + 1 < self.end {
            self.seek(at + 1);
        } else {
            self.edges = 0;
            self.block = self.separators.len();
        }
    }

    fn next_edge(&mut self) -> usize {
        while self.edges == 0 {
            self.block += 1;
            if self.block >= self.separators.len() || self.block * 64 >= self.end {
                return self.end;
            }
            self.edges = self.edges_of(self.block);
        }
        let at = self.block * 64 + self.edges.trailing_zeros() as usize;
        self.edges &= self.edges - 1;
        at.min(self.end)
    }
}

impl Iterator for Words<'_> {
    type Item = std::ops::Range<usize>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.next_edge();
        if start >= self.end {
            return None;
        }
        Some(start..self.next_edge())
    }
}

/// Byte classes by nibbles: separators end a word of a message (`:` and `.` do not: addresses
/// hold them), marks say that a word may be an address, a host or a mail address.
/// A byte is in a class when a bit of the class is set both in
/// `LOW[byte & 15]` and in `HIGH[byte >> 4]` (each bit a set of high nibbles times a set of low
/// ones), so that 32 bytes are classified with two table lookups (`vpshufb`).
/// Separators are bits 0 to 3: `\t\n` (0), ` "(),` (1), `;<=>` (2), `[]{}` (3); marks are
/// bits 4 to 6: `.` (4), `:` (5), `@` (6).
const LOW: [u8; 16] = [
    0b0100_0010, // 0: ` ` `@`
    0,
    0b0000_0010, // 2: `"`
    0,
    0,
    0,
    0,
    0,
    0b0000_0010, // 8: `(`
    0b0000_0011, // 9: `\t` `)`
    0b0010_0001, // A: `\n` `:`
    0b0000_1100, // B: `;` `[` `{`
    0b0000_0110, // C: `,` `<`
    0b0000_1100, // D: `=` `]` `}`
    0b0001_0100, // E: `.` `>`
    0,
];
const HIGH: [u8; 16] = [
    0b0000_0001, // 0x0_
    0,
    0b0001_0010, // 0x2_
    0b0010_0100, // 0x3_
    0b0100_0000, // 0x4_
    0b0000_1000, // 0x5_
    0,
    0b0000_1000, // 0x7_
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
];
const SEPARATOR_BITS: u8 = 0b0000_1111;
const MARK_BITS: u8 = 0b0111_0000;

/// The separator and mark bits of 64 bytes, 32 at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify_avx2(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16,
    };
    let table = |t: &[u8; 16]| {
        let both = [*t, *t];
        // SAFETY: 32 readable bytes; the load needs no alignment.
        unsafe { _mm256_loadu_si256(both.as_ptr().cast::<__m256i>()) }
    };
    let (low, high) = (table(&LOW), table(&HIGH));
    let nibble = _mm256_set1_epi8(0x0f);
    let (mut separators, mut marks) = (0u64, 0u64);
    for (k, half) in block.chunks_exact(32).enumerate() {
        // SAFETY: `half` is 32 readable bytes; the load needs no alignment.
        let v = unsafe { _mm256_loadu_si256(half.as_ptr().cast::<__m256i>()) };
        let classes = _mm256_and_si256(
            _mm256_shuffle_epi8(low, _mm256_and_si256(v, nibble)),
            _mm256_shuffle_epi8(high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)),
        );
        let none_of = |bits: u8| {
            let hits = _mm256_and_si256(classes, _mm256_set1_epi8(bits as i8));
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(hits, _mm256_setzero_si256())) as u32
        };
        separators |= u64::from(!none_of(SEPARATOR_BITS)) << (32 * k);
        marks |= u64::from(!none_of(MARK_BITS)) << (32 * k);
    }
    (separators, marks)
}

/// The separator and mark bits of 64 bytes, one byte at a time.
fn classify_bytes(block: &[u8; 64]) -> (u64, u64) {
    let (mut separators, mut marks) = (0u64, 0u64);
    for (i, &c) in block.iter().enumerate() {
        let classes = LOW[usize::from(c & 15)] & HIGH[usize::from(c >> 4)];
        separators |= u64::from(classes & SEPARATOR_BITS != 0) << i;
        marks |= u64::from(classes & MARK_BITS != 0) << i;
    }
    (separators, marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes the tables encode.
    const SEPARATORS: &[u8; 15] = b" \t,;<>[]()=\"{}\n";
    const MARKS: &[u8; 3] = b".:@";

    #[test]
    fn every_byte_value_is_classified_as_the_lists_say_at_every_place() {
        // Each byte value at each of the 64 places.
        for shift in 0..64 {
            for base in (0..256).step_by(64) {
                let mut block = [0u8; 64];
                for (i, b) in block.iter_mut().enumerate() {
                    *b = ((base + (i + shift) % 64) % 256) as u8;
                }
                let (mut separators, mut marks) = (0u64, 0u64);
                for (i, c) in block.iter().enumerate() {
                    separators |= u64::from(SEPARATORS.contains(c)) << i;
                    marks |= u64::from(MARKS.contains(c)) << i;
                }
                assert_eq!(classify_bytes(&block), (separators, marks), "{block:?}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has AVX2, as just checked.
                    let vector = unsafe { classify_avx2(&block) };
                    assert_eq!(vector, (separators, marks), "{block:?}");
                }
            }
        }
    }

    fn words_of(map: &ByteMap, from: usize, end: usize) -> Vec<(usize, usize)> {
        map.words(from, end).map(|w| (w.start, w.end)).collect()
    }

    #[test]
    fn words_are_found_across_64_byte_blocks() {
        let mut text = vec![b'a'; 200];
        text[10] = b' ';
        text[70] = b'=';
        text[71] = b'<';
        text[127] = b' ';
        text[140] = b'@';
        text[199] = b'\n';
        let mut map = ByteMap::default();
        map.fill(&text);
        assert_eq!(
            words_of(&map, 0, 199),
            [(0, 10), (11, 70), (72, 127), (128, 199)]
        );
        // From inside a word, or a separator; up to an end inside a word.
        assert_eq!(words_of(&map, 5, 100), [(5, 10), (11, 70), (72, 100)]);
        assert_eq!(words_of(&map, 70, 128), [(72, 127)]);
        assert_eq!(words_of(&map, 128, 128), []);
        // Going on after a separator read as part of a value.
        let mut words = map.words(0, 199);
        assert_eq!(words.next(), Some(0..10));
        words.skip_to(70);
        assert_eq!(words.next(), Some(72..127));
        words.skip_to(198);
        assert_eq!(words.next(), None);
        assert!(!map.marked(72, 140));
        assert!(map.marked(72, 141));
        assert!(map.marked(140, 141));
        assert!(!map.marked(0, 10));
        assert!(map.marked(0, 199));
    }
}

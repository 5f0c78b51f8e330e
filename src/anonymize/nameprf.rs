//! The keyed pseudo-random function of names: a CBC-MAC under AES-128 of the kind, the length
//! and the bytes (kind and length first, in the first block with up to 12 bytes of the value: no
//! encoding is the prefix of another, and a queue id costs one block). The MAC is the first 16
//! bytes; AES of the MAC with a counter gives the next ones, if asked.
//!
//! Blocks are made and combined as numbers, in registers; where the processor has AES
//! instructions they are encrypted there too, the round keys kept in registers (through the
//! `aes` crate a block goes to memory and back, written in pieces and read whole: a wait at
//! each name made). Both ways give the same bytes (the tests check it).
//!
//! Not here: what the bytes become (`anonymize`'s alphabets).

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

/// Bytes of the first block before the value's: the kind, the length (3 bytes).
const HEADER: usize = 4;

pub struct NamePrf {
    aes: Aes128,
    #[cfg(target_arch = "x86_64")]
    ni: Option<ni::RoundKeys>,
}

impl NamePrf {
    pub fn new(key: &[u8; 16]) -> NamePrf {
        NamePrf {
            aes: Aes128::new(GenericArray::from_slice(key)),
            #[cfg(target_arch = "x86_64")]
            ni: ni::RoundKeys::new(key),
        }
    }

    /// Fills `out` with the function's bytes for `value` as a name of kind `kind`.
    pub fn fill(&self, kind: u8, value: &[u8], out: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(keys) = &self.ni {
            // SAFETY: the keys exist only where the processor has the instructions.
            unsafe { ni::fill(keys, kind, value, out) };
            return;
        }
        self.fill_portable(kind, value, out);
    }

    fn fill_portable(&self, kind: u8, value: &[u8], out: &mut [u8]) {
        fill_with(kind, value, out, |block| {
            let mut b = GenericArray::from(block.to_le_bytes());
            self.aes.encrypt_block(&mut b);
            u128::from_le_bytes(b.into())
        });
    }
}

/// The function, by `encrypt` (AES-128 of a block, as a little-endian number).
#[inline(always)]
fn fill_with(kind: u8, value: &[u8], out: &mut [u8], encrypt: impl Fn(u128) -> u128) {
    let first = value.len().min(16 - HEADER);
    // Values are parts of a line: far below 2^24 bytes.
    let header = u128::from(kind) | (value.len() as u128 & 0xff_ffff) << 8;
    let mut mac = encrypt(header | load(&value[..first]) << (8 * HEADER));
    for chunk in value[first..].chunks(16) {
        mac = encrypt(mac ^ load(chunk));
    }
    for (counter, part) in out.chunks_mut(16).enumerate() {
        let stream = match counter {
            0 => mac,
            _ => encrypt(mac ^ counter as u128),
        };
        part.copy_from_slice(&stream.to_le_bytes()[..part.len()]);
    }
}

/// Up to 16 bytes as a little-endian number, the missing ones zeros (read by overlapping
/// words: no copy into a block first).
#[inline(always)]
fn load(v: &[u8]) -> u128 {
    debug_assert!(v.len() <= 16);
    let n = v.len();
    let word = |at: usize| u64::from_le_bytes(v[at..at + 8].try_into().expect("8"));
    let half = |at: usize| u32::from_le_bytes(v[at..at + 4].try_into().expect("4"));
    if n >= 8 {
        let high = if n > 8 {
            word(n - 8) >> (8 * (16 - n))
        } else {
            0
        };
        u128::from(word(0)) | u128::from(high) << 64
    } else if n >= 4 {
        let high = if n > 4 {
            half(n - 4) >> (8 * (8 - n))
        } else {
            0
        };
        u128::from(half(0)) | u128::from(high) << 32
    } else {
        v.iter()
            .rev()
            .fold(0, |number, &b| number << 8 | u128::from(b))
    }
}

/// AES-128 by the processor's instructions (AES-NI).
#[cfg(target_arch = "x86_64")]
mod ni {
    use std::arch::x86_64::{
        __m128i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_aeskeygenassist_si128,
        _mm_cvtsi128_si64, _mm_extract_epi64, _mm_loadu_si128, _mm_set_epi64x, _mm_shuffle_epi32,
        _mm_slli_si128, _mm_xor_si128,
    };

    /// The 11 round keys.
    pub struct RoundKeys([__m128i; 11]);

    impl RoundKeys {
        /// The round keys of `key`, if the processor has the instructions.
        pub fn new(key: &[u8; 16]) -> Option<RoundKeys> {
            use std::arch::is_x86_feature_detected as has;
            // SAFETY: the processor has the features, as just checked.
            (has!("aes") && has!("sse4.1")).then(|| unsafe { expand(key) })
        }
    }

    #[target_feature(enable = "aes,sse4.1")]
    fn expand(key: &[u8; 16]) -> RoundKeys {
        // One round key from the one before: FIPS 197's schedule, as Intel's white paper on
        // AES-NI writes it.
        fn next<const RCON: i32>(k: __m128i) -> __m128i {
            // SAFETY: called from `expand` only, whose features these are.
            unsafe {
                let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<RCON>(k));
                let mut k = k;
                for _ in 0..3 {
                    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
                }
                _mm_xor_si128(k, t)
            }
        }
        // SAFETY: 16 readable bytes; the load needs no alignment.
        let k0 = unsafe { _mm_loadu_si128(key.as_ptr().cast::<__m128i>()) };
        let k1 = next::<0x01>(k0);
        let k2 = next::<0x02>(k1);
        let k3 = next::<0x04>(k2);
        let k4 = next::<0x08>(k3);
        let k5 = next::<0x10>(k4);
        let k6 = next::<0x20>(k5);
        let k7 = next::<0x40>(k6);
        let k8 = next::<0x80>(k7);
        let k9 = next::<0x1b>(k8);
        let k10 = next::<0x36>(k9);
        RoundKeys([k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10])
    }

    /// [`super::NamePrf::fill`] by the instructions.
    ///
    /// # Safety
    /// The processor has AES-NI and SSE4.1 (as [`RoundKeys::new`] checked).
    #[target_feature(enable = "aes,sse4.1")]
    pub unsafe fn fill(keys: &RoundKeys, kind: u8, value: &[u8], out: &mut [u8]) {
        let k = &keys.0;
        super::fill_with(kind, value, out, |block| {
            let mut b = _mm_set_epi64x((block >> 64) as i64, block as i64);
            b = _mm_xor_si128(b, k[0]);
            for key in &k[1..10] {
                b = _mm_aesenc_si128(b, *key);
            }
            b = _mm_aesenclast_si128(b, k[10]);
            let low = _mm_cvtsi128_si64(b) as u64;
            let high = _mm_extract_epi64::<1>(b) as u64;
            u128::from(low) | u128::from(high) << 64
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_reads_each_length_as_a_padded_block() {
        let bytes: Vec<u8> = (1..=16).collect();
        for n in 0..=16 {
            let mut block = [0u8; 16];
            block[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(load(&bytes[..n]), u128::from_le_bytes(block), "length {n}");
        }
    }

    /// The function as first written, block by block through the `aes` crate: the bytes
    /// both ways must give.
    fn reference(aes: &Aes128, kind: u8, value: &[u8], out: &mut [u8]) {
        let encrypt = |block: [u8; 16]| {
            let mut b = GenericArray::from(block);
            aes.encrypt_block(&mut b);
            <[u8; 16]>::from(b)
        };
        let mut block = [0u8; 16];
        block[0] = kind;
        block[1..HEADER].copy_from_slice(&(value.len() as u32).to_le_bytes()[..HEADER - 1]);
        let first = value.len().min(16 - HEADER);
        block[HEADER..HEADER + first].copy_from_slice(&value[..first]);
        let mut mac = encrypt(block);
        for chunk in value[first..].chunks(16) {
            for (m, b) in mac.iter_mut().zip(chunk) {
                *m ^= b;
            }
            mac = encrypt(mac);
        }
        for (counter, part) in out.chunks_mut(16).enumerate() {
            let mut block = mac;
            if counter > 0 {
                for (b, c) in block[..8].iter_mut().zip((counter as u64).to_le_bytes()) {
                    *b ^= c;
                }
                block = encrypt(block);
            }
            part.copy_from_slice(&block[..part.len()]);
        }
    }

    #[test]
    fn every_way_gives_the_reference_bytes() {
        let key: [u8; 16] = *b"0123456789abcdef";
        let prf = NamePrf::new(&key);
        let value: Vec<u8> = (0..70u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for kind in 0..4 {
            for len in 0..=value.len() {
                for out_len in [1, 10, 16, 17, 40] {
                    let v = &value[..len];
                    let mut want = vec![0u8; out_len];
                    reference(&prf.aes, kind, v, &mut want);
                    let mut got = vec![0u8; out_len];
                    prf.fill(kind, v, &mut got);
                    assert_eq!(got, want, "kind {kind}, length {len}, {out_len} bytes");
                    prf.fill_portable(kind, v, &mut got);
                    assert_eq!(got, want, "portable: kind {kind}, length {len}");
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        assert!(
            prf.ni.is_some() || !std::arch::is_x86_feature_detected!("aes"),
            "the instructions are used where the processor has them"
        );
    }
}

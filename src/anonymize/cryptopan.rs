//! Crypto-PAn (Xu, Fan, Ammar, Moon 2002): a keyed, prefix-preserving permutation of IPv4 and
//! IPv6 addresses. Two addresses sharing their first k bits map to two sharing their first k
//! bits, and no more: a /24 or /64 stays one network, and the mapping cannot be undone
//! without the key.
//!
//! Bit i of the output is bit i of the input XOR the first bit of AES_k(the input's first i
//! bits, followed by the bits of a keyed pad). The same construction as the reference
//! implementation, over 32 or 128 bits.
//!
//! Not here: where addresses are in a line (`anonymize`).

use std::net::{Ipv4Addr, Ipv6Addr};

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

pub struct CryptoPan {
    aes: Aes128,
    /// AES_k(the key's second half): the bits after each prefix.
    pad: u128,
}

impl CryptoPan {
    /// From 32 key bytes: the AES key, then the pad's seed.
    pub fn new(key: &[u8; 32]) -> CryptoPan {
        let aes = Aes128::new(GenericArray::from_slice(&key[..16]));
        let mut block = GenericArray::clone_from_slice(&key[16..]);
        aes.encrypt_block(&mut block);
        CryptoPan {
            aes,
            pad: u128::from_be_bytes(block.into()),
        }
    }

    /// The top `width` bits of `addr` (placed at the top of a u128) permuted: the `width`
    /// blocks are independent, so they are encrypted together (AES-NI pipelines them).
    fn permute(&self, addr: u128, width: u32) -> u128 {
        let mut blocks = [GenericArray::default(); 128];
        let blocks = &mut blocks[..width as usize];
        for (bits, block) in (0u32..).zip(blocks.iter_mut()) {
            // The first `bits` bits of the address, then the pad's.
            let keep = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            *block = GenericArray::from(((addr & keep) | (self.pad & !keep)).to_be_bytes());
        }
        self.aes.encrypt_blocks(blocks);
        let otp = (0..).zip(blocks.iter()).fold(0u128, |otp, (i, block)| {
            otp | u128::from(block[0] >> 7) << (127 - i)
        });
        addr ^ otp
    }

    pub fn v4(&self, a: Ipv4Addr) -> Ipv4Addr {
        let top = u128::from(u32::from(a)) << 96;
        Ipv4Addr::from((self.permute(top, 32) >> 96) as u32)
    }

    pub fn v6(&self, a: Ipv6Addr) -> Ipv6Addr {
        Ipv6Addr::from(self.permute(u128::from(a), 128))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key and the first addresses of the reference implementation's sample
    /// (`sample_trace_raw.txt` and its anonymised twin, distributed with Crypto-PAn 1.0).
    const KEY: [u8; 32] = [
        21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16, 216, 152, 143, 131,
        121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
    ];

    #[test]
    fn matches_the_reference_implementation() {
        let c = CryptoPan::new(&KEY);
        for (raw, anonymised) in [
            ("128.11.68.132", "135.242.180.132"),
            ("129.118.74.4", "134.136.186.123"),
            ("130.132.252.244", "133.68.164.234"),
            ("141.223.7.43", "141.167.8.160"),
            ("141.233.145.108", "141.129.237.235"),
            ("152.163.225.39", "151.140.114.167"),
            ("156.29.3.236", "147.225.12.42"),
            ("165.247.96.84", "162.9.99.234"),
            ("166.107.77.190", "160.132.178.185"),
            ("192.102.249.13", "252.138.62.131"),
        ] {
            assert_eq!(c.v4(raw.parse().unwrap()).to_string(), anonymised, "{raw}");
        }
        // IPv6, as the Go implementation (Yawning/cryptopan) maps them under the same key.
        for (raw, anonymised) in [
            ("::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"),
            ("2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"),
            ("2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"),
        ] {
            assert_eq!(c.v6(raw.parse().unwrap()).to_string(), anonymised, "{raw}");
        }
    }

    #[test]
    fn keeps_prefixes_and_only_them() {
        let c = CryptoPan::new(&[7; 32]);
        let shared = |a: u128, b: u128| (a ^ b).leading_zeros();
        let v4 = |s: &str| u128::from(u32::from(c.v4(s.parse().unwrap()))) << 96;
        assert_eq!(shared(v4("192.0.2.1"), v4("192.0.2.200")), 24);
        assert_eq!(shared(v4("192.0.2.1"), v4("192.0.3.1")), 23);
        assert_eq!(shared(v4("10.0.0.1"), v4("138.0.0.1")), 0);
        let v6 = |s: &str| u128::from(c.v6(s.parse().unwrap()));
        assert_eq!(
            shared(v6("2001:db8:1:2::1"), v6("2001:db8:1:2:ffff::9")),
            64
        );
        assert_eq!(shared(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1")), 63);
        assert_ne!(
            c.v4("192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<Ipv4Addr>().unwrap()
        );
        // Another key, another mapping.
        let other = CryptoPan::new(&[8; 32]);
        assert_ne!(
            other.v4("192.0.2.1".parse().unwrap()),
            c.v4("192.0.2.1".parse().unwrap())
        );
    }
}

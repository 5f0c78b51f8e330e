//! An address or network in CIDR notation: `[policy] allow`, blocklist entries, the /24 or /64
//! of a client. Stored masked, so equal networks compare equal.
//!
//! Not here: the store's text of a client's network (`event::network`, the same /24 or /64).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `addr/prefix`, the host bits cleared; `None` when the prefix is too long.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let addr = match addr {
            IpAddr::V4(v4) if prefix <= 32 => IpAddr::V4((u32::from(v4) & mask_u32(prefix)).into()),
            IpAddr::V6(v6) if prefix <= 128 => {
                IpAddr::V6((u128::from(v6) & mask_u128(prefix)).into())
            }
            _ => return None,
        };
        Some(Cidr { addr, prefix })
    }

    /// The address alone (/32 or /128).
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr {
            addr,
            prefix: full(addr),
        }
    }

    /// The client's /24 (IPv4) or /64 (IPv6), as the store and the reports group them.
    pub fn network_of(addr: IpAddr) -> Cidr {
        let prefix = if addr.is_ipv4() { 24 } else { 64 };
        Cidr::new(addr, prefix).unwrap_or_else(|| Cidr::host(addr))
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn is_host(&self) -> bool {
        self.prefix == full(self.addr)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        Cidr::new(ip, self.prefix).is_some_and(|c| c.addr == self.addr)
    }

    /// Whether the two share an address (one holds the other).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let shorter = self.prefix.min(other.prefix);
        match (
            Cidr::new(self.addr, shorter),
            Cidr::new(other.addr, shorter),
        ) {
            (Some(a), Some(b)) => a == b && self.addr.is_ipv4() == other.addr.is_ipv4(),
            _ => false,
        }
    }
}

fn full(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

fn mask_u32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_u128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// An address alone is written bare, a network as `addr/prefix`.
impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("expected an address or a network such as 192.0.2.0/24, got `{s}`");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix = prefix.unwrap_or_else(|| full(addr));
        Cidr::new(addr, prefix).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_masks_and_prints() {
        assert_eq!(c("192.0.2.77/24").to_string(), "192.0.2.0/24");
        assert_eq!(c("192.0.2.77").to_string(), "192.0.2.77");
        assert_eq!(c("2001:db8::1/64").to_string(), "2001:db8::/64");
        assert_eq!(c("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert!("192.0.2.1/33".parse::<Cidr>().is_err());
        assert!("mail.example".parse::<Cidr>().is_err());
        assert_eq!(
            Cidr::network_of("203.0.113.9".parse().unwrap()),
            c("203.0.113.0/24")
        );
    }

    #[test]
    fn contains_and_overlaps() {
        assert!(c("10.0.0.0/8").contains("10.1.2.3".parse().unwrap()));
        assert!(!c("10.0.0.0/8").contains("11.1.2.3".parse().unwrap()));
        assert!(!c("10.0.0.0/8").contains("::1".parse().unwrap()));
        assert!(c("10.0.0.0/8").overlaps(&c("10.2.0.0/16")));
        assert!(c("10.2.3.4").overlaps(&c("10.0.0.0/8")));
        assert!(!c("10.2.3.4").overlaps(&c("10.2.3.5")));
        assert!(!c("0.0.0.0/0").overlaps(&c("::/0")));
        assert!(c("::/0").contains("2001:db8::1".parse().unwrap()));
    }
}

//! Country, ASN and organisation of an address, offline, from the databases the config names
//! (`[geolocation] country_db_path`, `[ASN_ASO] asn_db_path`): sapics ip-location-db CSV files
//! (with their IPv6 twins) or MaxMind-format `.mmdb` files (GeoLite2, DB-IP lite, sapics mmdb).
//! Loaded once per run; a missing or unreadable database leaves its columns empty with one
//! warning, and the run goes on.
//!
//! Not here: downloading the files (`update`), reverse DNS (`dns`).

mod ranges;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use ranges::{RangeTable, RangeValue};

use crate::config::GeoDbConfig;

/// What the databases say of one address; borrowed from them (a lookup allocates nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GeoInfo<'a> {
    pub country_code: Option<&'a str>,
    pub asn: Option<u32>,
    pub aso: Option<&'a str>,
}

/// One loaded database.
pub enum GeoDb {
    Ranges(RangeTable),
    Mmdb(maxminddb::Reader<Vec<u8>>),
}

/// The fields of the MaxMind-format databases we read: GeoLite2/DB-IP (`country.iso_code`,
/// `registered_country.iso_code`), sapics (`country_code`), and the ASN fields all share.
#[derive(Deserialize, Default)]
struct MmdbRecord<'a> {
    #[serde(borrow, default)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<IsoCode<'a>>,
    #[serde(default)]
    country_code: Option<&'a str>,
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(default)]
    autonomous_system_organization: Option<&'a str>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(default)]
    iso_code: Option<&'a str>,
}

fn iso(c: Option<IsoCode<'_>>) -> Option<&str> {
    c.and_then(|c| c.iso_code)
}

impl GeoDb {
    fn lookup(&self, ip: IpAddr) -> GeoInfo<'_> {
        match self {
            GeoDb::Ranges(t) => match t.lookup(ip) {
                Some(RangeValue::Country(c)) => GeoInfo {
                    country_code: Some(c),
                    ..GeoInfo::default()
                },
                Some(RangeValue::Asn {
                    number,
                    organisation,
                }) => GeoInfo {
                    asn: Some(*number),
                    aso: Some(organisation).filter(|o| !o.is_empty()).map(|o| &**o),
                    ..GeoInfo::default()
                },
                None => GeoInfo::default(),
            },
            GeoDb::Mmdb(reader) => {
                let record: Option<MmdbRecord> = reader
                    .lookup(ip)
                    .ok()
                    .and_then(|found| found.decode().ok().flatten());
                let Some(r) = record else {
                    return GeoInfo::default();
                };
                GeoInfo {
                    country_code: r
                        .country_code
                        .or(iso(r.country))
                        .or(iso(r.registered_country)),
                    asn: r.autonomous_system_number,
                    aso: r.autonomous_system_organization,
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a MaxMind-format database: {message}", path.display())]
    Mmdb { path: PathBuf, message: String },
    #[error("{}: no address range in this file ({skipped} unreadable lines)", path.display())]
    Empty { path: PathBuf, skipped: u64 },
}

fn is_mmdb(bytes: &[u8]) -> bool {
    // The metadata marker sits near the end of every MaxMind DB file.
    const MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";
    let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
    memchr::memmem::rfind(tail, MARKER).is_some()
}

/// Reads one database file: MaxMind format when it carries the MaxMind metadata marker, else
/// a range CSV (`v6` for a file known to be an IPv6 twin).
pub fn load_file(path: &Path, v6: bool) -> Result<GeoDb, GeoError> {
    let bytes = std::fs::read(path).map_err(|source| GeoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if is_mmdb(&bytes) {
        return maxminddb::Reader::from_source(bytes)
            .map(GeoDb::Mmdb)
            .map_err(|e| GeoError::Mmdb {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
    }
    let text = String::from_utf8_lossy(&bytes);
    let table = if v6 {
        RangeTable::parse_v6(&text)
    } else {
        RangeTable::parse(&text)
    };
    if table.is_empty() {
        return Err(GeoError::Empty {
            path: path.to_path_buf(),
            skipped: table.skipped,
        });
    }
    if table.skipped > 0 {
        log::warn!(
            "{}: {} lines are not address ranges, ignored",
            path.display(),
            table.skipped
        );
    }
    Ok(GeoDb::Ranges(table))
}

/// The IPv6 twin of a CSV database: the configured `v6_path`, else the file name with `ipv4`
/// replaced by `ipv6` (`asn-ipv4-num.csv` -> `asn-ipv6-num.csv`), else `NAME-ipv6.csv`.
pub fn v6_twin(db: &GeoDbConfig) -> Option<PathBuf> {
    if let Some(p) = &db.v6_path {
        return Some(p.clone());
    }
    let path = db.path.as_ref()?;
    let name = path.file_name()?.to_str()?;
    let twin = if name.contains("ipv4") {
        name.replace("ipv4", "ipv6")
    } else {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "csv"));
        if ext == "mmdb" {
            return None;
        }
        format!("{stem}-ipv6.{ext}")
    };
    Some(path.with_file_name(twin))
}

/// One kind of database (country or ASN): the main file and, for a CSV, its IPv6 twin.
fn load_kind(db: &GeoDbConfig, what: &str, warnings: &mut Vec<String>) -> Option<GeoDb> {
    let path = db.path.as_ref()?;
    let mut loaded = match load_file(path, false) {
        Ok(d) => d,
        Err(e) => {
            warnings.push(format!("{what} database: {e}; its columns stay empty"));
            return None;
        }
    };
    if let (GeoDb::Ranges(table), Some(twin)) = (&mut loaded, v6_twin(db)) {
        match load_file(&twin, true) {
            Ok(GeoDb::Ranges(v6)) => table.merge(v6),
            Ok(GeoDb::Mmdb(_)) => warnings.push(format!(
                "{what} database: {} is a MaxMind file, not the CSV twin of {}; ignored",
                twin.display(),
                path.display()
            )),
            // A twin that was never downloaded is normal when it was not configured.
            Err(GeoError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && db.v6_path.is_none() => {}
            Err(e) => warnings.push(format!("{what} database (IPv6): {e}")),
        }
    }
    Some(loaded)
}

/// The country and ASN databases of a run.
#[derive(Default)]
pub struct Geo {
    country: Option<GeoDb>,
    asn: Option<GeoDb>,
}

impl Geo {
    /// Loads what is configured; each problem is one warning (returned, for the caller to log
    /// once), never an error.
    pub fn load(country: &GeoDbConfig, asn: &GeoDbConfig) -> (Geo, Vec<String>) {
        let mut warnings = Vec::new();
        let geo = Geo {
            country: load_kind(country, "country", &mut warnings),
            asn: load_kind(asn, "ASN", &mut warnings),
        };
        (geo, warnings)
    }

    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.asn.is_none()
    }

    /// Country from the country database (or the ASN one if it has countries, like a full
    /// GeoLite2 City file), ASN and organisation from the ASN database.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo<'_> {
        let c = self
            .country
            .as_ref()
            .map(|d| d.lookup(ip))
            .unwrap_or_default();
        let a = self.asn.as_ref().map(|d| d.lookup(ip)).unwrap_or_default();
        GeoInfo {
            country_code: c.country_code.or(a.country_code),
            asn: a.asn.or(c.asn),
            aso: a.aso.or(c.aso),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(path: &Path) -> GeoDbConfig {
        GeoDbConfig {
            path: Some(path.to_path_buf()),
            ..GeoDbConfig::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn twins_are_found_by_name() {
        let c = |p: &str| v6_twin(&cfg(Path::new(p)));
        assert_eq!(
            c("/g/asn-ipv4-num.csv").unwrap(),
            Path::new("/g/asn-ipv6-num.csv")
        );
        assert_eq!(
            c("/g/country_aside.csv").unwrap(),
            Path::new("/g/country_aside-ipv6.csv")
        );
        assert_eq!(c("/g/GeoLite2-ASN.mmdb"), None);
    }

    #[test]
    fn csv_country_with_its_v6_twin_and_asn() {
        let dir = tempfile::tempdir().unwrap();
        let c4 = dir.path().join("country-ipv4.csv");
        std::fs::write(&c4, "192.0.2.0,192.0.2.255,FR\n").unwrap();
        std::fs::write(
            dir.path().join("country-ipv6.csv"),
            "2001:db8::,2001:db8::ffff,JP\n",
        )
        .unwrap();
        let a = dir.path().join("asn.csv");
        std::fs::write(&a, "3221225984,3221226239,64500,\"Example, SA\"\n").unwrap();
        let (geo, warnings) = Geo::load(&cfg(&c4), &cfg(&a));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            geo.lookup(ip("192.0.2.7")),
            GeoInfo {
                country_code: Some("FR"),
                asn: Some(64500),
                aso: Some("Example, SA")
            }
        );
        assert_eq!(geo.lookup(ip("2001:db8::5")).country_code, Some("JP"));
        assert_eq!(geo.lookup(ip("198.51.100.1")), GeoInfo::default());
    }

    #[test]
    fn missing_or_broken_files_warn_and_leave_columns_empty() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.csv");
        std::fs::write(&garbage, b"\x00\x01\x02 not a range\n").unwrap();
        let (geo, warnings) = Geo::load(&cfg(&dir.path().join("missing.csv")), &cfg(&garbage));
        assert!(geo.is_empty());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("missing.csv"), "{warnings:?}");
        assert!(warnings[1].contains("no address range"), "{warnings:?}");
        let fake = dir.path().join("fake.mmdb");
        std::fs::write(&fake, b"\xab\xcd\xefMaxMind.com garbage").unwrap();
        let (geo, warnings) = Geo::load(&cfg(&fake), &GeoDbConfig::default());
        assert!(geo.is_empty());
        assert!(
            warnings[0].contains("not a MaxMind-format database"),
            "{warnings:?}"
        );
    }

    #[test]
    fn mmdb_geolite_dbip_and_sapics_shapes() {
        use mmdb_writer::Writer;
        use serde::Serialize;
        #[derive(Serialize)]
        struct Country {
            iso_code: &'static str,
        }
        #[derive(Serialize)]
        struct GeoLite {
            country: Country,
        }
        #[derive(Serialize)]
        struct Sapics {
            country_code: &'static str,
        }
        #[derive(Serialize)]
        struct Asn {
            autonomous_system_number: u32,
            autonomous_system_organization: &'static str,
        }
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, f: &dyn Fn(&mut Writer)| {
            let mut w = Writer::new("test");
            f(&mut w);
            let p = dir.path().join(name);
            std::fs::write(&p, w.to_bytes().unwrap()).unwrap();
            p
        };
        let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
        let geolite = write("GeoLite2-Country.mmdb", &|w| {
            let fr = GeoLite {
                country: Country { iso_code: "FR" },
            };
            w.insert(net("192.0.2.0/24"), &fr).unwrap();
            let de = GeoLite {
                country: Country { iso_code: "DE" },
            };
            w.insert(net("2001:db8::/32"), &de).unwrap();
        });
        let sapics = write("country.mmdb", &|w| {
            w.insert(net("198.51.100.0/24"), &Sapics { country_code: "BR" })
                .unwrap();
        });
        let asn = write("GeoLite2-ASN.mmdb", &|w| {
            let a = Asn {
                autonomous_system_number: 64501,
                autonomous_system_organization: "Org \"quoted\"; =x",
            };
            w.insert(net("2001:db8::/32"), &a).unwrap();
        });
        let (geo, warnings) = Geo::load(&cfg(&geolite), &cfg(&asn));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(geo.lookup(ip("192.0.2.1")).country_code, Some("FR"));
        assert_eq!(
            geo.lookup(ip("2001:db8::1")),
            GeoInfo {
                country_code: Some("DE"),
                asn: Some(64501),
                aso: Some("Org \"quoted\"; =x")
            }
        );
        assert_eq!(geo.lookup(ip("203.0.113.1")), GeoInfo::default());
        let (geo, _) = Geo::load(&cfg(&sapics), &GeoDbConfig::default());
        assert_eq!(geo.lookup(ip("198.51.100.9")).country_code, Some("BR"));
    }
}

//! `maillogsentinel update-geo`: fetches the configured geo databases (`country_db_url`,
//! `asn_db_url` and their IPv6 twins) into a temporary file beside the target, checks that it
//! loads, then renames it over the old one: a failed or truncated download leaves the old file
//! as it was. Never run implicitly by ingestion.
//!
//! Not here: reading the databases (`geo`).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::geo::{self, GeoError};
use crate::config::GeoDbConfig;

/// One file to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    pub path: PathBuf,
    /// An IPv6 twin CSV (read as IPv6 when checked).
    pub v6: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{url}: download failed: {message}")]
    Http { url: String, message: String },
    #[error("{url}: cannot write {}: {source}", path.display())]
    Write {
        url: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{url}: the download is not a usable database ({source}); {} left as it was", path.display())]
    Invalid {
        url: String,
        path: PathBuf,
        source: GeoError,
    },
}

/// The downloads a config asks for: each database's URL to its path, and the IPv6 twin's URL
/// (configured, or the URL with `ipv4` replaced by `ipv6`) to the twin path.
pub fn planned(dbs: &[&GeoDbConfig]) -> Vec<Download> {
    let mut out = Vec::new();
    for db in dbs {
        let (Some(url), Some(path)) = (&db.url, &db.path) else {
            continue;
        };
        out.push(Download {
            url: url.clone(),
            path: path.clone(),
            v6: false,
        });
        let v6_url = db
            .v6_url
            .clone()
            .or_else(|| url.contains("ipv4").then(|| url.replace("ipv4", "ipv6")));
        if let (Some(url), Some(path)) = (v6_url, geo::v6_twin(db)) {
            out.push(Download {
                url,
                path,
                v6: true,
            });
        }
    }
    out
}

/// Largest database accepted (GeoLite2-City is ~70 MB).
const MAX_BYTES: u64 = 1 << 30;

/// Fetches one file (see the module doc); returns its size.
pub fn fetch(d: &Download, timeout: Duration) -> Result<u64, UpdateError> {
    let http = |message: String| UpdateError::Http {
        url: d.url.clone(),
        message,
    };
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .new_agent();
    let mut response = agent.get(&d.url).call().map_err(|e| http(e.to_string()))?;
    let tmp = temp_path(&d.path);
    let write_err = |source| UpdateError::Write {
        url: d.url.clone(),
        path: tmp.clone(),
        source,
    };
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(write_err)?;
        let mut body = response.body_mut().with_config().limit(MAX_BYTES).reader();
        let mut buf = vec![0; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(http(format!("after {size} bytes: {e}"))),
            };
            file.write_all(&buf[..n]).map_err(write_err)?;
            size += n as u64;
        }
        file.sync_all().map_err(write_err)?;
        geo::load_file(&tmp, d.v6).map_err(|source| UpdateError::Invalid {
            url: d.url.clone(),
            path: d.path.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &d.path).map_err(|source| UpdateError::Write {
            url: d.url.clone(),
            path: d.path.clone(),
            source,
        })?;
        if let Some(dir) = d.path.parent() {
            let _ = std::fs::File::open(dir).and_then(|f| f.sync_all());
        }
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "geo".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.download-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twins_follow_the_old_tools_urls() {
        let db = GeoDbConfig {
            path: Some("/g/asn.csv".into()),
            url: Some("https://h/asn/asn-ipv4-num.csv".into()),
            ..GeoDbConfig::default()
        };
        let no_url = GeoDbConfig {
            path: Some("/g/c.csv".into()),
            ..GeoDbConfig::default()
        };
        assert_eq!(
            planned(&[&db, &no_url]),
            [
                Download {
                    url: "https://h/asn/asn-ipv4-num.csv".into(),
                    path: "/g/asn.csv".into(),
                    v6: false
                },
                Download {
                    url: "https://h/asn/asn-ipv6-num.csv".into(),
                    path: "/g/asn-ipv6.csv".into(),
                    v6: true
                }
            ]
        );
    }
}

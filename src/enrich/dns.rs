//! Reverse DNS of client addresses: PTR lookups, many at once (bounded), each with a timeout,
//! through hickory's async resolver on a private single-threaded tokio runtime, so the
//! caller's thread never waits longer than the slowest lookup of its batch. Answers are
//! validated (a PTR name is chosen by whoever owns the address block) and optionally confirmed
//! forward (does the name resolve back to the address?).
//!
//! Not here: caching and deciding which addresses to look up (`cache`, `Enricher`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, ResolveErrorKind, TokioResolver};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// `reverse_dns_status`: what the lookup of an address gave.
///
/// For users comparing with the old tool's CSV (`socket.gethostbyaddr` errors): `Errno 1`
/// (HOST_NOT_FOUND) is `NXDOMAIN`, `Errno 2` (TRY_AGAIN) is `SERVFAIL` or `Timeout`, `Errno 3`
/// (NO_RECOVERY) is `Refused` or `Error (…)`, `Errno 4` (NO_DATA) is `NXDOMAIN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsStatus {
    /// A valid PTR name.
    Ok,
    /// No PTR record: the name does not exist, or has no PTR.
    NxDomain,
    /// No answer in `timeout_ms`.
    Timeout,
    /// The server failed (SERVFAIL).
    ServFail,
    /// The server refused to answer (REFUSED).
    Refused,
    /// Anything else: another response code, a network error, an invalid PTR name.
    Error(String),
}

impl DnsStatus {
    /// The CSV and store form: `OK`, `NXDOMAIN`, `Timeout`, `SERVFAIL`, `Refused`, `Error (…)`.
    pub fn to_text(&self) -> String {
        match self {
            DnsStatus::Ok => "OK".into(),
            DnsStatus::NxDomain => "NXDOMAIN".into(),
            DnsStatus::Timeout => "Timeout".into(),
            DnsStatus::ServFail => "SERVFAIL".into(),
            DnsStatus::Refused => "Refused".into(),
            DnsStatus::Error(detail) => format!("Error ({detail})"),
        }
    }

    /// Reads back [`DnsStatus::to_text`] (anything unknown is an `Error`).
    pub fn from_text(s: &str) -> DnsStatus {
        match s {
            "OK" => DnsStatus::Ok,
            "NXDOMAIN" => DnsStatus::NxDomain,
            "Timeout" => DnsStatus::Timeout,
            "SERVFAIL" => DnsStatus::ServFail,
            "Refused" => DnsStatus::Refused,
            other => DnsStatus::Error(
                other
                    .strip_prefix("Error (")
                    .and_then(|s| s.strip_suffix(')'))
                    .unwrap_or(other)
                    .to_owned(),
            ),
        }
    }

    /// A definite answer about the address (kept for the full TTL), rather than a failure to
    /// get one (retried sooner).
    pub fn is_definite(&self) -> bool {
        matches!(self, DnsStatus::Ok | DnsStatus::NxDomain)
    }
}

/// The reverse DNS of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtrAnswer {
    /// The PTR name (validated, without the final dot); `None` unless `status` is `Ok`.
    pub hostname: Option<String>,
    pub status: DnsStatus,
    /// Whether `hostname` resolves back to the address; `None` when not checked.
    pub confirmed: Option<bool>,
}

impl PtrAnswer {
    fn failed(status: DnsStatus) -> PtrAnswer {
        PtrAnswer {
            hostname: None,
            status,
            confirmed: None,
        }
    }
}

/// Longest DNS name in text form (RFC 1035: 255 octets on the wire).
const MAX_NAME: usize = 253;

/// The PTR name as text if it is a plausible host name: labels of 1 to 63 letters, digits,
/// `-` or `_`, at most 253 characters in all. Anything else (quotes, `;`, `=`, spaces, escape
/// characters, bytes over 127) is refused: it would reach CSV cells, reports and terminals.
pub fn valid_host_name<'a>(labels: impl Iterator<Item = &'a [u8]>) -> Option<String> {
    let mut name = String::new();
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return None;
        }
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(std::str::from_utf8(label).ok()?);
        if name.len() > MAX_NAME {
            return None;
        }
    }
    (!name.is_empty()).then_some(name)
}

fn status_of(e: &ResolveError) -> DnsStatus {
    if let ResolveErrorKind::Proto(p) = e.kind() {
        return match p.kind() {
            ProtoErrorKind::NoRecordsFound { response_code, .. } => match *response_code {
                ResponseCode::NXDomain | ResponseCode::NoError => DnsStatus::NxDomain,
                ResponseCode::ServFail => DnsStatus::ServFail,
                ResponseCode::Refused => DnsStatus::Refused,
                other => DnsStatus::Error(other.to_string()),
            },
            ProtoErrorKind::Timeout => DnsStatus::Timeout,
            ProtoErrorKind::Io(io) => DnsStatus::Error(io.kind().to_string()),
            other => DnsStatus::Error(other.to_string()),
        };
    }
    DnsStatus::Error(e.to_string())
}

/// Where and how to ask.
#[derive(Debug, Clone)]
pub struct DnsSettings {
    /// Empty: the system's resolvers (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    pub timeout: Duration,
    pub concurrency: usize,
    pub forward_confirm: bool,
}

impl DnsSettings {
    /// The `[dns]` section's settings.
    pub fn from_config(c: &crate::config::DnsConfig) -> DnsSettings {
        DnsSettings {
            nameservers: c.nameservers.clone(),
            timeout: Duration::from_millis(c.timeout_ms),
            concurrency: c.concurrency,
            forward_confirm: c.forward_confirm,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("cannot start the DNS runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot read the system's DNS configuration: {0}")]
    SystemConfig(ResolveError),
}

/// An async resolver and the runtime it runs on.
pub struct ReverseDns {
    runtime: tokio::runtime::Runtime,
    resolver: TokioResolver,
    settings: DnsSettings,
}

impl ReverseDns {
    pub fn new(settings: DnsSettings) -> Result<ReverseDns, DnsError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(DnsError::Runtime)?;
        let provider = TokioConnectionProvider::default();
        let mut builder = if settings.nameservers.is_empty() {
            TokioResolver::builder(provider).map_err(DnsError::SystemConfig)?
        } else {
            let mut config = ResolverConfig::new();
            for &addr in &settings.nameservers {
                config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
            }
            TokioResolver::builder_with_config(config, provider)
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = settings.timeout;
        // One try: the caller's timeout is the budget, a retry is the next run's job.
        opts.attempts = 1;
        // The cache that counts is ours (persistent, with the configured TTL).
        opts.cache_size = 0;
        let resolver = {
            let _guard = runtime.enter();
            builder.build()
        };
        Ok(ReverseDns {
            runtime,
            resolver,
            settings,
        })
    }

    /// The answers for `ips`, in the same order: at most `concurrency` lookups in flight, each
    /// one given up after the timeout.
    pub fn lookup_many(&self, ips: &[IpAddr]) -> Vec<PtrAnswer> {
        let settings = Arc::new(self.settings.clone());
        let lookups = ips.iter().map(|&ip| {
            let resolver = self.resolver.clone();
            let settings = Arc::clone(&settings);
            async move { lookup_one(&resolver, ip, &settings).await }
        });
        self.runtime
            .block_on(bounded(lookups, self.settings.concurrency))
    }
}

/// Runs `lookups` with at most `concurrency` in flight; their answers in the same order. A
/// lookup that panics (a resolver bug met on an attacker's answer) answers `Error`: it must not
/// kill the run, nor every retry of the same batch.
async fn bounded<F>(lookups: impl IntoIterator<Item = F>, concurrency: usize) -> Vec<PtrAnswer>
where
    F: std::future::Future<Output = PtrAnswer> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut index_of = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (i, lookup) in lookups.into_iter().enumerate() {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            unreachable!("the semaphore is never closed")
        };
        let task = tasks.spawn(async move {
            let answer = lookup.await;
            drop(slot);
            (i, answer)
        });
        index_of.insert(task.id(), i);
        out.push(None);
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((i, answer)) => out[i] = Some(answer),
            Err(e) => {
                if let Some(&i) = index_of.get(&e.id()) {
                    out[i] = Some(PtrAnswer::failed(DnsStatus::Error(
                        "the lookup failed unexpectedly".into(),
                    )));
                }
            }
        }
    }
    out.into_iter()
        .map(|a| a.unwrap_or_else(|| PtrAnswer::failed(DnsStatus::Error("no answer".into()))))
        .collect()
}

async fn lookup_one(resolver: &TokioResolver, ip: IpAddr, s: &DnsSettings) -> PtrAnswer {
    let lookup = match tokio::time::timeout(s.timeout, resolver.reverse_lookup(ip)).await {
        Err(_) => return PtrAnswer::failed(DnsStatus::Timeout),
        Ok(Err(e)) => return PtrAnswer::failed(status_of(&e)),
        Ok(Ok(lookup)) => lookup,
    };
    let Some(name) = lookup.iter().next() else {
        return PtrAnswer::failed(DnsStatus::NxDomain);
    };
    let Some(hostname) = valid_host_name(name.0.iter()) else {
        return PtrAnswer::failed(DnsStatus::Error("invalid PTR name".into()));
    };
    let confirmed = if s.forward_confirm {
        let fqdn = format!("{hostname}.");
        match tokio::time::timeout(s.timeout, resolver.lookup_ip(fqdn)).await {
            Ok(Ok(found)) => Some(found.iter().any(|a| a == ip)),
            Ok(Err(e)) if e.is_no_records_found() => Some(false),
            // No answer in time: unknown, not "does not match".
            _ => None,
        }
    } else {
        None
    };
    PtrAnswer {
        hostname: Some(hostname),
        status: DnsStatus::Ok,
        confirmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_lookup_answers_error_and_the_others_are_kept() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let lookups = (0..5).map(|i| async move {
            if i == 2 {
                panic!("resolver bug");
            }
            PtrAnswer::failed(DnsStatus::Timeout)
        });
        let answers = runtime.block_on(bounded(lookups, 2));
        assert_eq!(answers.len(), 5);
        for (i, a) in answers.iter().enumerate() {
            if i == 2 {
                assert!(matches!(a.status, DnsStatus::Error(_)), "{a:?}");
            } else {
                assert_eq!(a.status, DnsStatus::Timeout);
            }
        }
    }

    fn name(s: &str) -> Option<String> {
        valid_host_name(s.split('.').map(str::as_bytes))
    }

    #[test]
    fn plain_host_names_pass() {
        assert_eq!(
            name("mail-1.example.net").as_deref(),
            Some("mail-1.example.net")
        );
        assert_eq!(
            name("_dmarc.EXAMPLE.org").as_deref(),
            Some("_dmarc.EXAMPLE.org")
        );
        assert_eq!(name(&"a".repeat(63)).map(|s| s.len()), Some(63));
    }

    #[test]
    fn hostile_or_malformed_names_are_refused() {
        for bad in [
            "=cmd|' /C calc'!A0.example",
            "evil;name.example",
            "quo\"te.example",
            "sp ace.example",
            "\u{1b}[31mred.example",
            "new\nline.example",
            "héllo.example",
            "a..b",
            "",
        ] {
            assert_eq!(name(bad), None, "{bad:?}");
        }
        assert_eq!(name(&"a".repeat(64)), None, "label over 63");
        let long = vec!["abcdefghi"; 26].join(".");
        assert!(long.len() > MAX_NAME);
        assert_eq!(name(&long), None, "name over 253");
    }

    /// A UDP server on loopback answering every query with `rcode` and no record.
    fn answering(rcode: u8) -> SocketAddr {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let mut reply = buf[..n].to_vec();
                reply[2] |= 0x80; // QR: a response
                reply[3] = 0x80 | rcode; // RA, RCODE
                let _ = sock.send_to(&reply, from);
            }
        });
        addr
    }

    fn status_from(server: SocketAddr) -> DnsStatus {
        let dns = ReverseDns::new(DnsSettings {
            nameservers: vec![server],
            timeout: Duration::from_millis(300),
            concurrency: 4,
            forward_confirm: false,
        })
        .unwrap();
        let answers =
            dns.lookup_many(&["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()]);
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[0].hostname, None);
        answers[0].status.clone()
    }

    #[test]
    fn response_codes_map_to_statuses() {
        assert_eq!(status_from(answering(2)), DnsStatus::ServFail);
        assert_eq!(status_from(answering(5)), DnsStatus::Refused);
        assert_eq!(status_from(answering(3)), DnsStatus::NxDomain);
        assert_eq!(
            status_from(answering(0)),
            DnsStatus::NxDomain,
            "no PTR in the answer"
        );
        assert!(matches!(status_from(answering(4)), DnsStatus::Error(_)));
        // A server that never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(
            status_from(silent.local_addr().unwrap()),
            DnsStatus::Timeout
        );
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for s in [
            DnsStatus::Ok,
            DnsStatus::NxDomain,
            DnsStatus::Timeout,
            DnsStatus::ServFail,
            DnsStatus::Refused,
            DnsStatus::Error("connection refused".into()),
        ] {
            assert_eq!(DnsStatus::from_text(&s.to_text()), s);
        }
        assert_eq!(DnsStatus::Refused.to_text(), "Refused");
        assert_eq!(
            DnsStatus::Error("x".into()).to_text(),
            "Error (x)",
            "the documented form"
        );
        assert!(DnsStatus::NxDomain.is_definite() && !DnsStatus::Timeout.is_definite());
    }
}

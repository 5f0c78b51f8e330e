//! The fleet's central PostgreSQL store, fed from each server's local store (the source of
//! truth for its checkpoints): `init` creates or migrates the schema, `add_server` creates a
//! server's role, and `ship` sends the events and runs not shipped yet.
//!
//! Shipping protocol (exactly once): in one central transaction, read the (server, store)
//! mark, stage the local events after it by binary COPY into a temporary table, insert them
//! into `mls_events` (row-level security checks the server name) with their summary per
//! source and day into `mls_source_days` (staged the same way; the fleet report and
//! `query --fleet` find a source's days there), insert the runs after the
//! run mark, and insert the new mark. A ship killed at any instant, or a PostgreSQL restart,
//! leaves the previous mark and none of the rows; the next ship starts from the central mark,
//! never from a local belief. The local store only keeps a copy of the mark for check-config.
//!
//! Not here: the central reports, the command line.

mod reader;
pub mod schema;

pub use reader::{
    CentralReader, Connect, DayReading, Params, Window, days_statement, events_statement,
};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config as PgConfig, NoTls};

use crate::config::{CentralConfig, CentralTls};
use crate::event::Outcome;
use crate::store::{Store, StoreError, StoredEvent};

/// Events per shipping transaction.
const SHIP_BATCH: usize = 50_000;
/// Serialises `central init` runs.
const INIT_LOCK: i64 = 7_243_000;

#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    #[error("no [central] url in the configuration")]
    NotConfigured,
    #[error("`{url}`: {message}")]
    Url { url: String, message: String },
    #[error("cannot read the central password file {}: {source}", path.display())]
    Password {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS to the central store: {0}")]
    Tls(String),
    #[error("the operating system gave no random bytes for a password: {0}")]
    Random(String),
    #[error("cannot connect to the central store {url}: {message}")]
    Connect { url: String, message: String },
    #[error("the central store: {0}")]
    Sql(String),
    #[error("the central schema is version {found}, newer than this version knows ({known})")]
    NewerSchema { found: i32, known: i32 },
    #[error("the central schema is version {found}, older than this version needs ({known})")]
    OlderSchema { found: i32, known: i32 },
    #[error(
        "the central store has no schema yet: run `maillogsentinel central init --url ADMIN_URL`"
    )]
    NoSchema,
    #[error("`{0}` is not a server name (letters, digits, `.`, `-`, `_`; 1 to 63 of them)")]
    ServerName(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A PostgreSQL error with what the server said (the crate's own text is only "db error").
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        }
    }
}

impl From<postgres::Error> for CentralError {
    fn from(e: postgres::Error) -> CentralError {
        CentralError::Sql(describe(&e))
    }
}

impl CentralError {
    /// What the admin does about it.
    pub fn way_out(&self) -> &'static str {
        match self {
            CentralError::Connect { .. } | CentralError::Sql(_) => {
                "the events stay in the local store and the next run ships them: check that the central PostgreSQL is up and reachable (`maillogsentinel check-config`)"
            }
            CentralError::NoSchema
            | CentralError::NewerSchema { .. }
            | CentralError::OlderSchema { .. } => {
                "run `maillogsentinel central init --url ADMIN_URL` with this version"
            }
            _ => "fix the [central] section of the configuration",
        }
    }
}

/// What one `ship` sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shipped {
    pub events: u64,
    pub runs: u64,
    /// The central mark after the ship: the last local event and run ids it holds.
    pub last_event: i64,
    pub last_run: i64,
}

/// Connects with `url`, the password of `password_file` (when given) and `tls`.
pub fn connect(
    url: &str,
    password_file: Option<&Path>,
    tls: CentralTls,
    ca_file: Option<&Path>,
) -> Result<Client, CentralError> {
    let mut pg: PgConfig = url
        .parse()
        .map_err(|e: postgres::Error| CentralError::Url {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    if let Some(path) = password_file {
        let password = std::fs::read_to_string(path).map_err(|source| CentralError::Password {
            path: path.to_path_buf(),
            source,
        })?;
        pg.password(password.trim_end_matches(['\r', '\n']));
    }
    pg.application_name("maillogsentinel");
    pg.connect_timeout(std::time::Duration::from_secs(10));
    let connected = match tls {
        CentralTls::Disable => pg.connect(NoTls),
        CentralTls::Require | CentralTls::VerifyFull => {
            pg.ssl_mode(postgres::config::SslMode::Require);
            pg.connect(tls::connector(tls, ca_file)?)
        }
    };
    connected.map_err(|e| CentralError::Connect {
        url: url.to_owned(),
        message: describe(&e),
    })
}

/// The central client of this server's configuration.
pub fn connect_configured(c: &CentralConfig) -> Result<Client, CentralError> {
    let url = c.url.as_deref().ok_or(CentralError::NotConfigured)?;
    connect(url, c.password_file.as_deref(), c.tls, c.ca_file.as_deref())
}

/// The schema version of the central store (0: none yet).
fn version(client: &mut Client) -> Result<i32, CentralError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('mls_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT coalesce(max(version), 0) FROM mls_schema", &[])?
        .get(0))
}

/// Refuses a central store whose schema is not the one this version writes and reads: an
/// older binary would ship events without their day summary, a newer one would miss tables.
fn require_current(client: &mut Client) -> Result<(), CentralError> {
    let known = schema::MIGRATIONS.len() as i32;
    match version(client)? {
        0 => Err(CentralError::NoSchema),
        found if found < known => Err(CentralError::OlderSchema { found, known }),
        found if found > known => Err(CentralError::NewerSchema { found, known }),
        _ => Ok(()),
    }
}

/// Creates or migrates the central schema; returns the versions before and after.
pub fn init(client: &mut Client) -> Result<(i32, i32), CentralError> {
    let known = schema::MIGRATIONS.len() as i32;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INIT_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS mls_schema (version integer NOT NULL)")?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM mls_schema", &[])?
        .get(0);
    if found > known {
        return Err(CentralError::NewerSchema { found, known });
    }
    for (i, step) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(step)?;
        tx.execute(
            "INSERT INTO mls_schema (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )?;
    }
    tx.commit()?;
    Ok((found, known))
}

/// A fleet name: what a role name and a report can carry as it is.
fn check_server_name(name: &str) -> Result<(), CentralError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(CentralError::ServerName(name.to_owned()))
    }
}

/// The role a server logs in with.
pub fn role_of(server: &str) -> String {
    format!("mls_srv_{}", server.replace(['.', '-'], "_").to_lowercase())
}

/// Creates (or gives a new password to) the login role of `server`, member of `mls_server`,
/// and records its fleet name; writes the password to `password_file` (0600).
pub fn add_server(
    client: &mut Client,
    server: &str,
    password_file: &Path,
) -> Result<String, CentralError> {
    check_server_name(server)?;
    let role = role_of(server);
    let mut tx = login_role(client, &role, "mls_server", password_file)?;
    tx.execute(
        "INSERT INTO mls_servers (name, role) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET role = excluded.role",
        &[&server, &role],
    )?;
    tx.commit()?;
    Ok(role)
}

/// Creates (or gives a new password to) a reader role `mls_read_NAME` for fleet reports.
pub fn add_reader(
    client: &mut Client,
    name: &str,
    password_file: &Path,
) -> Result<String, CentralError> {
    check_server_name(name)?;
    let role = format!("mls_read_{}", name.replace(['.', '-'], "_").to_lowercase());
    login_role(client, &role, "mls_reader", password_file)?.commit()?;
    Ok(role)
}

/// A transaction that has made `role` a login role of `group` with a new random password,
/// written to `password_file`: the caller commits it.
fn login_role<'c>(
    client: &'c mut Client,
    role: &str,
    group: &str,
    password_file: &Path,
) -> Result<postgres::Transaction<'c>, CentralError> {
    require_current(client)?;
    let password = crate::random::hex(24).map_err(|e| CentralError::Random(e.to_string()))?;
    let mut tx = client.transaction()?;
    let exists = tx
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])?
        .is_some();
    // Role names and passwords cannot be bound parameters: both are quoted by the server.
    let quoted_role: String = tx.query_one("SELECT quote_ident($1)", &[&role])?.get(0);
    let quoted_password: String = tx
        .query_one("SELECT quote_literal($1)", &[&password])?
        .get(0);
    let verb = if exists { "ALTER" } else { "CREATE" };
    tx.batch_execute(&format!(
        "{verb} ROLE {quoted_role} LOGIN PASSWORD {quoted_password}"
    ))?;
    tx.batch_execute(&format!("GRANT {group} TO {quoted_role}"))?;
    write_secret(password_file, &password)?;
    Ok(tx)
}

fn write_secret(path: &Path, secret: &str) -> Result<(), CentralError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(secret.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    };
    write().map_err(|source| CentralError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The shipped columns of `mls_events`, with their types: the COPY, the staging table and
/// the insert are all spelled from this list.
const COLUMNS: &[(&str, Type, &str)] = &[
    ("server", Type::TEXT, "text"),
    ("store_id", Type::TEXT, "text"),
    ("local_id", Type::INT8, "bigint"),
    ("time_unix", Type::INT8, "bigint"),
    ("has_time", Type::BOOL, "boolean"),
    ("time_nanos", Type::INT4, "integer"),
    ("offset_secs", Type::INT4, "integer"),
    ("log_host", Type::TEXT, "text"),
    ("service", Type::TEXT, "text"),
    ("protocol", Type::TEXT, "text"),
    ("outcome", Type::TEXT, "text"),
    ("ip", Type::TEXT, "text"),
    ("\"user\"", Type::BYTEA, "bytea"),
    ("mechanism", Type::TEXT, "text"),
    ("reason", Type::TEXT, "text"),
    ("attempts", Type::INT4, "integer"),
    ("session", Type::TEXT, "text"),
    ("hostname", Type::TEXT, "text"),
    ("reverse_dns_status", Type::TEXT, "text"),
    ("country_code", Type::TEXT, "text"),
    ("asn", Type::TEXT, "text"),
    ("aso", Type::TEXT, "text"),
    ("ptr_confirmed", Type::BOOL, "boolean"),
    ("net", Type::TEXT, "text"),
];

/// The columns of `mls_source_days`, staged the same way.
const DAY_COLUMNS: &[(&str, Type, &str)] = &[
    ("server", Type::TEXT, "text"),
    ("kind", Type::TEXT, "text"),
    ("value", Type::BYTEA, "bytea"),
    ("day", Type::INT4, "integer"),
    ("first_unix", Type::INT8, "bigint"),
    ("last_unix", Type::INT8, "bigint"),
    ("attempts", Type::INT8, "bigint"),
];

/// Copies `rows` into a temporary table of `columns` (dropped at commit) and inserts them
/// into `table` (COPY cannot go through row-level security itself).
fn stage_and_insert<T>(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    columns: &[(&str, Type, &str)],
    rows: &[T],
    write: impl Fn(&mut BinaryCopyInWriter, &T) -> Result<(), postgres::Error>,
) -> Result<(), postgres::Error> {
    let names = columns.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
    let definitions: Vec<String> = columns.iter().map(|c| format!("{} {}", c.0, c.2)).collect();
    let stage = format!("{table}_stage");
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {stage} ({}) ON COMMIT DROP",
        definitions.join(", ")
    ))?;
    {
        let sink = tx.copy_in(&format!("COPY {stage} ({names}) FROM STDIN BINARY"))?;
        let types: Vec<Type> = columns.iter().map(|c| c.1.clone()).collect();
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for r in rows {
            write(&mut writer, r)?;
        }
        writer.finish()?;
    }
    tx.execute(
        &format!("INSERT INTO {table} ({names}) SELECT {names} FROM {stage}"),
        &[],
    )?;
    Ok(())
}

/// The `mls_source_days` kinds of a source: for its failures, for its logins (as
/// `mls_derived_source_days` spells them). A failure kind is also the event column.
const IP_KINDS: (&str, &str) = ("ip", "login_ip");
const NET_KINDS: (&str, &str) = ("net", "login_net");
const ASN_KINDS: (&str, &str) = ("asn", "login_asn");
const USER_KINDS: (&str, &str) = ("failed_user", "user");
/// The kind of countries, either outcome.
const COUNTRY_KIND: &str = "country";

/// One `mls_source_days` row: (kind, value, day) -> (first, last, attempts).
type SourceDays = HashMap<(&'static str, Vec<u8>, i32), (i64, i64, i64)>;

/// The summary's day of a time: days since the epoch, UTC.
fn utc_day(unix: i64) -> i64 {
    unix.div_euclid(86_400)
}

/// The `mls_source_days` rows of `events`: what `mls_derived_source_days()` derives from
/// them (the central tests check that the two agree).
fn source_days(events: &[StoredEvent]) -> SourceDays {
    let mut days = SourceDays::new();
    for s in events {
        let e = &s.event;
        let Some(t) = e.time else { continue };
        let day = utc_day(t.unix) as i32;
        let mut add = |kind: &'static str, value: Vec<u8>| {
            let d = days
                .entry((kind, value, day))
                .or_insert((t.unix, t.unix, 0));
            d.0 = d.0.min(t.unix);
            d.1 = d.1.max(t.unix);
            d.2 += i64::from(e.attempts);
        };
        // Each source under its failure or its login kind; the country under either.
        let kind = |(failed, login): (&'static str, &'static str)| match e.outcome {
            Outcome::Failure => failed,
            Outcome::Success => login,
        };
        add(kind(IP_KINDS), e.ip.to_string().into_bytes());
        add(kind(NET_KINDS), crate::event::network(e.ip).into_bytes());
        if let Some(a) = &s.enrichment.asn {
            add(kind(ASN_KINDS), a.clone().into_bytes());
        }
        if let Some(u) = &e.user {
            add(kind(USER_KINDS), u.clone());
        }
        if let Some(cc) = &s.enrichment.country_code {
            add(COUNTRY_KIND, cc.clone().into_bytes());
        }
    }
    days
}

/// Sends what `store` holds beyond the central mark of (`server`, this store), in
/// transactions of [`SHIP_BATCH`] events, then records the mark locally.
pub fn ship(client: &mut Client, store: &mut Store, server: &str) -> Result<Shipped, CentralError> {
    check_server_name(server)?;
    require_current(client)?;
    let store_id = store.store_id()?;
    let mut total = Shipped::default();
    loop {
        let (sent, runs, mark) = ship_batch(client, store, server, &store_id)?;
        total.events += sent;
        total.runs += runs;
        (total.last_event, total.last_run) = mark;
        if sent < SHIP_BATCH as u64 {
            break;
        }
    }
    store.set_shipped(
        total.last_event,
        total.last_run,
        jiff::Timestamp::now().as_second(),
    )?;
    Ok(total)
}

/// One transaction: events after the mark (at most a batch), the runs after the run mark, and
/// the new mark. Returns what it sent and the mark it left.
fn ship_batch(
    client: &mut Client,
    store: &Store,
    server: &str,
    store_id: &str,
) -> Result<(u64, u64, (i64, i64)), CentralError> {
    let mut tx = client.transaction()?;
    // Safe without waiting for the WAL flush: a commit that a crash takes back takes its mark
    // with it, and the next ship sends the same events again (the local copy of the mark is
    // only for check-config).
    tx.batch_execute("SET LOCAL synchronous_commit TO off")?;
    let row = tx.query_one(
        "SELECT coalesce(max(last_event), 0), coalesce(max(last_run), 0)
         FROM mls_ships WHERE server = $1 AND store_id = $2",
        &[&server, &store_id],
    )?;
    let (after_event, after_run): (i64, i64) = (row.get(0), row.get(1));
    let events = store.events_after(after_event, SHIP_BATCH)?;
    let runs = store.runs_after(after_run)?;
    if events.is_empty() && runs.is_empty() {
        return Ok((0, 0, (after_event, after_run)));
    }
    let dated = events.iter().filter_map(|e| e.event.time.map(|t| t.unix));
    if let (Some(lo), Some(hi)) = (dated.clone().min(), dated.max()) {
        tx.execute("SELECT mls_ensure_months($1, $2)", &[&lo, &hi])?;
    }
    stage_and_insert(&mut tx, "mls_events", COLUMNS, &events, |w, e| {
        write_row(w, server, store_id, e)
    })?;
    let days: Vec<_> = source_days(&events).into_iter().collect();
    stage_and_insert(
        &mut tx,
        "mls_source_days",
        DAY_COLUMNS,
        &days,
        |w, ((kind, value, day), (first, last, attempts))| {
            w.write(&[&server, kind, value, day, first, last, attempts])
        },
    )?;
    for (id, r) in &runs {
        tx.execute(
            "INSERT INTO mls_runs (server, store_id, local_id, finished_unix, lines, events,
                 unmatched, tempfails, aborted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &server,
                &store_id,
                id,
                &r.finished_unix,
                &(r.lines as i64),
                &(r.events as i64),
                &(r.unmatched as i64),
                &(r.tempfails as i64),
                &(r.aborted as i64),
            ],
        )?;
    }
    let last_event = events.last().map_or(after_event, |e| e.id);
    let last_run = runs.last().map_or(after_run, |(id, _)| *id);
    tx.execute(
        "INSERT INTO mls_ships (server, store_id, last_event, last_run, events)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &server,
            &store_id,
            &last_event,
            &last_run,
            &(events.len() as i64),
        ],
    )?;
    tx.commit()?;
    Ok((
        events.len() as u64,
        runs.len() as u64,
        (last_event, last_run),
    ))
}

fn write_row(
    writer: &mut BinaryCopyInWriter,
    server: &str,
    store_id: &str,
    s: &StoredEvent,
) -> Result<(), postgres::Error> {
    let e = &s.event;
    let en = &s.enrichment;
    let time_unix = e.time.map_or(0, |t| t.unix);
    let nanos = e.time.map_or(0, |t| t.nanos as i32);
    let offset = e.time.map_or(0, |t| t.offset_secs);
    let ip = e.ip.to_string();
    let attempts = e.attempts as i32;
    let net = crate::event::network(e.ip);
    let row: [&(dyn ToSql + Sync); 24] = [
        &server,
        &store_id,
        &s.id,
        &time_unix,
        &e.time.is_some(),
        &nanos,
        &offset,
        &e.server,
        &e.service.as_str(),
        &e.protocol.as_str(),
        &e.outcome.as_str(),
        &ip,
        &e.user,
        &e.mechanism,
        &e.reason,
        &attempts,
        &e.session,
        &en.hostname,
        &en.reverse_dns_status,
        &en.country_code,
        &en.asn,
        &en.aso,
        &en.ptr_confirmed,
        &net,
    ];
    writer.write(&row)
}

mod tls {
    //! rustls for the central connection: `require` encrypts without checking the
    //! certificate (libpq's `sslmode=require`); `verify-full` checks it against `ca_file`.

    use std::path::Path;
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use tokio_postgres_rustls::MakeRustlsConnect;

    use super::CentralError;
    use crate::config::CentralTls;

    pub fn connector(
        tls: CentralTls,
        ca_file: Option<&Path>,
    ) -> Result<MakeRustlsConnect, CentralError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| CentralError::Tls(e.to_string()))?;
        let config = match tls {
            CentralTls::VerifyFull => {
                let ca = ca_file.ok_or_else(|| {
                    CentralError::Tls("tls = verify-full needs ca_file (the CA's PEM)".into())
                })?;
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(ca)
                    .map_err(|e| CentralError::Tls(format!("{}: {e}", ca.display())))?
                {
                    let cert =
                        cert.map_err(|e| CentralError::Tls(format!("{}: {e}", ca.display())))?;
                    roots
                        .add(cert)
                        .map_err(|e| CentralError::Tls(format!("{}: {e}", ca.display())))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }

    /// Accepts any certificate (encryption without authentication), checking only that the
    /// handshake signatures are valid.
    #[derive(Debug)]
    struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

//! MailLogSentinel: finds authentication attacks in Postfix/Dovecot logs.
//!
//! The pipeline, one module per stage: `source` (reading files, gzip, stdin) -> `envelope`
//! (syslog header) -> `detect` (per-daemon line shapes) -> `correlate` (one attempt counts
//! once) -> `sink` (JSON Lines, CSV, table) and `store`; after the commits, `realtime`:
//! `policy` (detections) -> `alert`, `blocklist`, `metrics`. See `docs/ARCHITECTURE.md`.

pub mod alert;
pub mod anonymize;
pub mod blocklist;
pub mod central;
pub(crate) mod check;
pub mod cli;
pub mod config;
pub mod correlate;
pub mod detect;
pub mod enrich;
pub mod envelope;
pub mod event;
pub(crate) mod ingest;
pub(crate) mod logging;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod query;
pub(crate) mod random;
pub mod realtime;
pub mod report;
pub(crate) mod runs;
pub(crate) mod setup;
pub mod sink;
pub(crate) mod source;
pub mod store;
pub(crate) mod workdir;

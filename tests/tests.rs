//! The integration tests, one binary (ripgrep's layout): each module is one area, `support`
//! is shared. One binary links the crate once, instead of once per file.

mod support;

mod anonymize;
mod central;
mod cli;
mod cli_parse;
mod cli_run;
mod config;
mod conformance;
mod crash;
mod enrich;
mod export;
mod failure_paths;
mod follow;
mod journal;
mod properties;
mod query;
mod realtime;
mod report;
mod report_mail;
mod rotation_model;
mod setup;
mod store;
mod truth;

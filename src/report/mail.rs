//! The report as a mail, and its delivery: the local MTA's `sendmail` (the default, as the old
//! tool used the local MTA) or SMTP (host, port, STARTTLS, credentials).
//!
//! Structure: `multipart/mixed` [ `multipart/alternative` [ text, `multipart/related` [ HTML,
//! the chart PNG (`cid:chart`) ] ], the window's CSV ]. Headers hold only values this program
//! chose (the server's own name, the window, the configured addresses); log-derived values
//! appear only in bodies, and lettre encodes every header, so no header can be injected.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SendmailTransport, SmtpTransport, Transport};

use super::Report;

/// How to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sendmail(PathBuf),
    Smtp {
        host: String,
        port: u16,
        starttls: bool,
        /// Username and password (read from `smtp_password_file`).
        credentials: Option<(String, String)>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail address `{0}`")]
    Address(String),
    #[error("cannot build the mail: {0}")]
    Build(String),
    #[error("delivery through {via} failed: {message}")]
    Delivery { via: String, message: String },
}

/// The subject: prefix, server, window, the failures, and a warning first when a login looks
/// like a compromise.
pub fn subject(r: &Report, prefix: &str) -> String {
    let alert = if r.compromises.is_empty() {
        String::new()
    } else {
        format!("POSSIBLE COMPROMISE ({}) - ", r.compromises.len())
    };
    format!(
        "{prefix} {alert}{}: {} failed attempts, {}",
        r.host.fqdn,
        super::thousands(r.failures),
        r.window.label
    )
    .trim()
    .to_owned()
}

pub(crate) fn mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.parse().map_err(|_| MailError::Address(s.to_owned()))
}

/// The parts of one report mail.
pub struct Parts<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub png: &'a [u8],
    pub csv_name: &'a str,
    pub csv: &'a str,
}

pub fn build(p: &Parts) -> Result<Message, MailError> {
    let mut builder = Message::builder().from(mailbox(p.from)?).subject(p.subject);
    for to in p.to {
        builder = builder.to(mailbox(to)?);
    }
    let png_type = ContentType::parse("image/png").expect("a valid content type");
    let csv_type = ContentType::parse("text/csv; charset=utf-8").expect("a valid content type");
    let body = MultiPart::mixed()
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(p.text.to_owned()))
                .multipart(
                    MultiPart::related()
                        .singlepart(SinglePart::html(p.html.to_owned()))
                        .singlepart(
                            Attachment::new_inline("chart".to_owned())
                                .body(p.png.to_vec(), png_type),
                        ),
                ),
        )
        .singlepart(Attachment::new(p.csv_name.to_owned()).body(p.csv.to_owned(), csv_type));
    builder
        .multipart(body)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Sends `m`.
pub fn deliver(m: &Message, how: &Delivery) -> Result<(), MailError> {
    match how {
        Delivery::Sendmail(path) => SendmailTransport::new_with_command(path.as_os_str())
            .send(m)
            .map_err(|e| MailError::Delivery {
                via: path.display().to_string(),
                message: e.to_string(),
            }),
        Delivery::Smtp {
            host,
            port,
            starttls,
            credentials,
        } => {
            let via = format!("SMTP {host}:{port}");
            let err = |e: lettre::transport::smtp::Error| MailError::Delivery {
                via: via.clone(),
                message: e.to_string(),
            };
            let mut b = if *starttls {
                SmtpTransport::starttls_relay(host).map_err(err)?
            } else {
                SmtpTransport::builder_dangerous(host)
            }
            .port(*port)
            .timeout(Some(Duration::from_secs(60)));
            if let Some((user, password)) = credentials {
                b = b.credentials(Credentials::new(user.clone(), password.clone()));
            }
            b.build().send(m).map(|_| ()).map_err(err)
        }
    }
}

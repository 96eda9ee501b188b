//! Turning connection failures into coded errors with hints. The engine may read the
//! libraries' and the server's texts here; nothing past this point does.

use crate::error::{Error, ErrorCode};
use crate::profile::ProfileDraft;
use std::error::Error as _;

pub(crate) enum ConnectFailure {
    Pg(tokio_postgres::Error),
    /// Reaching the server over a socket of our own failed.
    Io(std::io::Error),
    Engine(Error),
    TimedOut,
}

/// The server asked for the password in a form a machine in the middle could use, over a
/// connection whose server was not verified; nothing was sent.
pub(crate) fn insecure_auth(method: super::auth_guard::Refused, draft: &ProfileDraft) -> Error {
    let form = match method {
        super::auth_guard::Refused::Cleartext => "in cleartext",
        super::auth_guard::Refused::Md5 => "as an md5 hash",
    };
    Error::new(
        ErrorCode::InsecureAuth,
        format!(
            "{}:{} asked for the password {form}, and its certificate is not verified (sslmode {}); the password was not sent",
            draft.host,
            draft.port,
            draft.sslmode.as_str()
        ),
        "Someone in the middle could be asking. Verify the server (sslmode verify-full with sslrootcert), or have it use SCRAM: password_encryption = 'scram-sha-256', set the role's password again, and scram-sha-256 in pg_hba.conf.",
    )
}

impl From<tokio_postgres::Error> for ConnectFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        ConnectFailure::Pg(e)
    }
}

/// The text of an error and all its sources, for classification only.
fn chain_text(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(" | ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn io_kind(e: &tokio_postgres::Error) -> Option<std::io::ErrorKind> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

fn is_rustls_cert_error(e: &tokio_postgres::Error) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(rustls::Error::InvalidCertificate(_)) = s.downcast_ref::<rustls::Error>() {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(rustls::Error::InvalidCertificate(_)) =
                io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                return true;
            }
        }
        source = s.source();
    }
    false
}

pub(crate) fn classify(failure: ConnectFailure, draft: &ProfileDraft, had_password: bool) -> Error {
    let target = draft.target();
    let e = match failure {
        ConnectFailure::Engine(e) => return e,
        ConnectFailure::TimedOut => return timeout(draft),
        ConnectFailure::Io(e) => return unreached(draft, Some(e.kind()), &e.to_string()),
        ConnectFailure::Pg(e) => e,
    };
    if let Some(db) = e.as_db_error() {
        let msg = db.message().to_string();
        return match db.code().code() {
            "28P01" => Error::new(
                ErrorCode::AuthFailed,
                format!("password authentication failed for {target}: {msg}"),
                "Check the user name and password; update the password with `tideline profile edit NAME --password-stdin` or in the profile form.",
            ),
            // 17 and later say "no encryption"; 13 to 16 say "SSL off".
            "28000" if msg.contains("no pg_hba.conf entry") && (msg.contains("no encryption") || msg.ends_with("SSL off")) => Error::new(
                ErrorCode::TlsRequired,
                format!("the server requires an encrypted connection: {msg}"),
                "Set sslmode to require (or verify-full) for this profile.",
            ),
            "28000" if msg.contains("no pg_hba.conf entry") => Error::new(
                ErrorCode::AccessDenied,
                format!("the server's pg_hba.conf has no rule for {target}: {msg}"),
                "Ask the server's administrator to allow this user, database and address in pg_hba.conf.",
            ),
            "28000" => Error::new(
                ErrorCode::AuthFailed,
                format!("the server refused {target}: {msg}"),
                "Check the user name; peer authentication needs the OS user to match the database user.",
            ),
            "3D000" => Error::new(
                ErrorCode::DatabaseMissing,
                format!("database '{}' does not exist on {}:{}", draft.database, draft.host, draft.port),
                "Check the database name; `tideline profile test` on a profile for the 'postgres' database lists the databases there are.",
            ),
            code => Error::new(
                ErrorCode::ServerError,
                format!("the server refused the connection ({code}): {msg}"),
                "Read the server's message; the server may be starting up, shutting down or out of connections.",
            ),
        };
    }
    let text = chain_text(&e);
    if is_rustls_cert_error(&e) || text.contains("invalid peer certificate") {
        return Error::new(
            ErrorCode::TlsInvalidCert,
            format!("the server's certificate was not accepted for {}: {text}", draft.host),
            "With verify-full the certificate must be signed by sslrootcert and name this host; check sslrootcert and the host name, or use verify-ca.",
        );
    }
    if text.contains("server does not support TLS") || text.contains("server does not support SSL") {
        return Error::new(
            ErrorCode::TlsUnsupported,
            format!(
                "{}:{} does not offer TLS, and sslmode '{}' requires it",
                draft.host,
                draft.port,
                draft.sslmode.as_str()
            ),
            "Enable ssl on the server, or set sslmode to prefer or disable for this profile.",
        );
    }
    if text.contains("password missing") {
        return Error::new(
            if had_password { ErrorCode::AuthFailed } else { ErrorCode::PasswordMissing },
            format!("the server asks a password for {target}, and the profile has none"),
            "Store the password: `tideline profile edit NAME --password-stdin`, or the password field of the profile form.",
        );
    }
    unreached(draft, io_kind(&e), &text)
}

/// A server that could not be reached: by name, by address, or in time.
fn unreached(draft: &ProfileDraft, kind: Option<std::io::ErrorKind>, text: &str) -> Error {
    if text.contains("failed to lookup address")
        || text.contains("Name or service not known")
        || text.contains("No such host")
    {
        return Error::new(
            ErrorCode::HostNotFound,
            format!("host '{}' could not be resolved", draft.host),
            "Check the host name for typos, or use an IP address.",
        );
    }
    match kind {
        Some(std::io::ErrorKind::TimedOut) => timeout(draft),
        Some(_) | None if text.contains("timed out") => timeout(draft),
        Some(kind) => Error::new(
            ErrorCode::HostUnreachable,
            format!("could not reach {}:{} ({kind}): {text}", draft.host, draft.port),
            if draft.is_unix_socket() {
                "Check that the server runs and that its unix_socket_directories includes this directory."
            } else {
                "Check that the server runs, listens on this address (listen_addresses) and port, and that no firewall is in the way."
            },
        ),
        None => Error::new(
            ErrorCode::ServerError,
            format!("the connection to {} failed: {text}", draft.target()),
            "The log file has the details.",
        ),
    }
}

fn timeout(draft: &ProfileDraft) -> Error {
    Error::new(
        ErrorCode::Timeout,
        format!("{}:{} did not answer within {} s", draft.host, draft.port, draft.connect_timeout_secs),
        "Check the address and any firewall in between, or raise the profile's connect timeout.",
    )
}

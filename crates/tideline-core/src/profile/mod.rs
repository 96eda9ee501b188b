//! Connection profiles: where a server is and how to reach it. A profile never holds a
//! password; that lives in the keychain under the profile's id.

pub mod conninfo;
pub mod discover;
pub mod import;
pub mod ops;
pub mod pgpass;
pub mod service_file;

use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::new(
                    ErrorCode::InvalidUri,
                    format!("unknown sslmode '{other}'"),
                    "Use one of disable, prefer, require, verify-ca, verify-full.",
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

pub const DEFAULT_CONNECT_TIMEOUT_SECS: u32 = 10;

/// What a user edits: everything about a connection except its identity and its password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProfileDraft {
    pub name: String,
    /// A hostname or IP address, or an absolute Unix socket directory.
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    pub application_name: Option<String>,
    pub connect_timeout_secs: u32,
}

impl Default for ProfileDraft {
    fn default() -> Self {
        ProfileDraft {
            name: String::new(),
            host: "localhost".into(),
            port: 5432,
            database: "postgres".into(),
            user: default_user(),
            sslmode: SslMode::Prefer,
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
            application_name: None,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
        }
    }
}

/// libpq's default user is the OS user; do the same.
pub fn default_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "postgres".into())
}

impl ProfileDraft {
    pub fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String, h: &str| Err(Error::invalid_input(m, h));
        if self.name.trim().is_empty() {
            return bad("a profile needs a name".into(), "Give it a short name such as 'local' or 'staging'.");
        }
        if self.name.chars().any(|c| c.is_control() || c == '/') || self.name.len() > 64 {
            return bad(
                format!("'{}' is not a usable profile name", self.name),
                "Use up to 64 characters without '/' or control characters.",
            );
        }
        if self.host.trim().is_empty() {
            return bad("the host is empty".into(), "Give a hostname, an IP address or a Unix socket directory.");
        }
        if self.port == 0 {
            return bad("port 0 is not a valid port".into(), "PostgreSQL listens on 5432 by default.");
        }
        if self.user.trim().is_empty() || self.database.trim().is_empty() {
            return bad("user and database must not be empty".into(), "libpq defaults both to your OS user name.");
        }
        if self.sslcert.is_some() != self.sslkey.is_some() {
            return bad(
                "a client certificate needs both sslcert and sslkey".into(),
                "Give the certificate and its private key together.",
            );
        }
        Ok(())
    }

    /// `user@host:port/db`, for lists and logs (never with a password).
    pub fn target(&self) -> String {
        format!("{}@{}:{}/{}", self.user, self.host, self.port, self.database)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    pub application_name: Option<String>,
    pub connect_timeout_secs: u32,
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl Profile {
    pub fn draft(&self) -> ProfileDraft {
        ProfileDraft {
            name: self.name.clone(),
            host: self.host.clone(),
            port: self.port,
            database: self.database.clone(),
            user: self.user.clone(),
            sslmode: self.sslmode,
            sslrootcert: self.sslrootcert.clone(),
            sslcert: self.sslcert.clone(),
            sslkey: self.sslkey.clone(),
            application_name: self.application_name.clone(),
            connect_timeout_secs: self.connect_timeout_secs,
        }
    }
}

/// How an edit treats the stored password.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum PasswordChange {
    Keep,
    Set {
        #[ts(type = "string")]
        password: crate::secret::Secret,
    },
    Clear,
}

//! One engine error type: a stable `code`, a message and a hint. It crosses IPC and the CLI as
//! `{code, message, hint}`; callers branch on `code`, people read `message` and `hint`.

use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    InvalidUri,
    InvalidInput,
    ProfileExists,
    ProfileMissing,
    AuthFailed,
    PasswordMissing,
    HostUnreachable,
    HostNotFound,
    TlsRequired,
    TlsUnsupported,
    TlsInvalidCert,
    TlsConfig,
    /// The server asked for a cleartext or md5 password over a connection whose server is not
    /// verified; the password was not sent.
    InsecureAuth,
    DatabaseMissing,
    AccessDenied,
    Timeout,
    KeychainLocked,
    KeychainUnavailable,
    ToolMissing,
    ToolFailed,
    ClusterFailed,
    ServerError,
    AmbiguousTable,
    TableMissing,
    SchemaMissing,
    CompressionUnsupported,
    BackupMissing,
    BackupFailed,
    /// Another backup of the same series (database, cluster dump or base backup) is running.
    BackupInProgress,
    ManifestInvalid,
    ChecksumMismatch,
    TargetNotEmpty,
    RolesMissing,
    ExtensionMissing,
    InsufficientSpace,
    RestoreFailed,
    VerifyFailed,
    TargetBeforeConsistency,
    TargetBeyondWal,
    TargetInGap,
    /// A --xid or --name that no commit, abort or restore point in the WAL has.
    TargetNotInWal,
    TargetTimelineUnreachable,
    WalConflict,
    WalForeignCluster,
    WalInvalid,
    WalSetupBlocked,
    /// A recovery target that is not well-formed or names nothing (`--name` unknown, bad LSN).
    TargetInvalid,
    /// A sandbox's server failed (a FATAL not covered by a more precise code).
    SandboxFailed,
    SandboxMissing,
    /// The operation needs the server stopped (restore-in-place) or a sandbox running.
    ServerRunning,
    ServerNotRunning,
    /// An irreversible step asked for without `--yes` (replace a live table).
    ConfirmationRequired,
    ScheduleMissing,
    ScheduleBusy,
    /// A webhook did not take a notification.
    NotifyFailed,
    /// No repository of that name (`repo add` makes one).
    RepositoryMissing,
    RepositoryExists,
    /// The store's endpoint did not answer (DNS, connection, timeout).
    RepositoryUnreachable,
    /// The store refused the access key (unknown key, wrong secret, no permission).
    RepositoryCredentials,
    RepositoryBucketMissing,
    RepositoryRegion,
    /// This computer's clock and the store's differ by more than S3 allows.
    RepositoryClockSkew,
    /// The store failed in a way not covered above; its own words are in the message.
    RepositoryFailed,
    /// An encrypted repository whose identity is not in this computer's keychain.
    RepositoryKeyMissing,
    /// A recovery kit that does not open with the passphrase given, or is not one.
    RecoveryKitInvalid,
    Cancelled,
    Catalog,
    Io,
    Internal,
}

impl ErrorCode {
    /// The wire name (`auth_failed`); serde's spelling is the contract, so reuse it.
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => "internal".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, rename = "ErrorPayload")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub hint: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error { code, message: message.into(), hint: hint.into() }
    }

    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        // A full disk is the user's to fix, and says so in its own code wherever it happens.
        if err.kind() == std::io::ErrorKind::StorageFull {
            return Error::new(
                ErrorCode::InsufficientSpace,
                format!("{context}: the disk is full ({err})"),
                "Free space on that disk, or move the repository to a larger one (`tideline repo path DIR`), and run it again: what was half-written is not kept.",
            );
        }
        Error::new(
            ErrorCode::Io,
            format!("{context}: {err}"),
            "Check that the path exists, that there is free disk space and that Tideline may write there.",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Internal, message, "This is a bug in Tideline; the log file has details.")
    }

    pub fn invalid_input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidInput, message, hint)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.name())
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        Error::new(
            ErrorCode::Catalog,
            format!("catalog error: {err}"),
            "The catalog is rebuilt from the repository with `tideline repo rescan`; the log file has details.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_message_hint() {
        let e = Error::new(ErrorCode::AuthFailed, "m", "h");
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"code":"auth_failed","message":"m","hint":"h"}"#);
        assert_eq!(ErrorCode::KeychainLocked.name(), "keychain_locked");
    }

    /// Codes whose hint, somewhere in the engine's code, names a `tideline …` command: the
    /// code between an `ErrorCode::X` and the next one, outside comments and tests.
    fn codes_with_cli_hints() -> std::collections::BTreeSet<String> {
        let mut found = std::collections::BTreeSet::new();
        let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                let parts: Vec<&str> = code.split("ErrorCode::").collect();
                for part in parts.iter().skip(1) {
                    let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                    if part.chars().take(800).collect::<String>().contains("`tideline ") {
                        found.insert(name);
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_hint_naming_a_cli_command_has_an_in_app_twin() {
        let twins_ts = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/errors/twins.ts");
        let twins = std::fs::read_to_string(twins_ts).unwrap();
        let mut missing = Vec::new();
        for name in codes_with_cli_hints() {
            let wire = serde_json::to_value(
                serde_json::from_value::<ErrorCode>(serde_json::Value::String(snake(&name))).unwrap(),
            )
            .unwrap();
            let wire = wire.as_str().unwrap();
            if !twins.contains(&format!("  {wire}: ")) {
                missing.push(wire.to_string());
            }
        }
        assert!(
            missing.is_empty(),
            "hints name CLI commands for {missing:?}: give each a twin in ui/src/errors/twins.ts"
        );
    }

    fn snake(camel: &str) -> String {
        let mut out = String::new();
        for (i, c) in camel.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }
}

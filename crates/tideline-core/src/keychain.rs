//! Passwords in the OS keychain (Secret Service, macOS Keychain, Windows Credential Manager)
//! through the `keyring` crate. There is no file fallback: a locked or absent keychain is an
//! error the user sees, with a hint.

use crate::error::{Error, ErrorCode, Result};
use crate::secret::Secret;

pub const SERVICE: &str = "tideline";

/// Where secrets live. The OS keychain in the product; an in-memory store only in unit tests
/// that sit below real keychain tests of the same path.
pub trait SecretStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<Secret>>;
    fn set(&self, account: &str, secret: &Secret) -> Result<()>;
    /// Removing an entry that is not there is not an error.
    fn delete(&self, account: &str) -> Result<()>;
}

/// Keychain account for a profile's password; keyed by id so renames keep it.
pub fn profile_account(profile_id: &str) -> String {
    format!("profile/{profile_id}")
}

/// Keychain account for the superuser password of a sandbox Tideline initialised itself.
pub fn sandbox_account(sandbox_id: &str) -> String {
    format!("sandbox/{sandbox_id}")
}

pub struct OsKeychain;

fn locked(detail: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::KeychainLocked,
        format!("the OS keychain is locked or refused access: {detail}"),
        "Unlock your keychain (log in to the desktop session, or run `gnome-keyring-daemon --unlock`) and try again. Tideline never stores passwords in files.",
    )
}

fn map_err(err: keyring::Error) -> Error {
    match err {
        keyring::Error::NoStorageAccess(e) => locked(e),
        // Secret Service reports a locked collection as a D-Bus failure, not as NoStorageAccess.
        keyring::Error::PlatformFailure(e) if says_locked(&e.to_string()) => locked(e),
        // Secret Service waits on its unlock prompt; no reply means nobody answered it.
        keyring::Error::PlatformFailure(e) if e.to_string().contains("Did not receive a reply") => Error::new(
            ErrorCode::KeychainLocked,
            format!("the OS keychain did not answer in time; it may be waiting for you to unlock it ({e})"),
            "Unlock the keychain in the prompt your desktop shows, then try again. Tideline never stores passwords in files.",
        ),
        keyring::Error::PlatformFailure(e) => Error::new(
            ErrorCode::KeychainUnavailable,
            format!("no OS keychain could be reached: {e}"),
            "On Linux, Tideline needs a Secret Service (gnome-keyring or KWallet) on the session D-Bus. Start one, or use passwordless auth (peer, certificates).",
        ),
        other => Error::new(
            ErrorCode::KeychainUnavailable,
            format!("the OS keychain failed: {other}"),
            "Check the keychain application for the 'tideline' entries.",
        ),
    }
}

/// "Cannot create an item in a locked collection" — the word itself, not "blocked".
fn says_locked(text: &str) -> bool {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).any(|w| w == "locked")
}

impl SecretStore for OsKeychain {
    fn get(&self, account: &str) -> Result<Option<Secret>> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(map_err)?;
        match entry.get_password() {
            Ok(pw) => Ok(Some(Secret::new(pw))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn set(&self, account: &str, secret: &Secret) -> Result<()> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(map_err)?;
        entry.set_password(secret.expose()).map_err(map_err)
    }

    fn delete(&self, account: &str) -> Result<()> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(map_err)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognises_a_locked_collection_only() {
        assert!(super::says_locked("DBus error: Cannot create an item in a locked collection"));
        assert!(!super::says_locked("the message bus security policy blocked the reply"));
    }
}

/// In-memory store for unit tests of the engine's bookkeeping.
#[derive(Default)]
pub struct MemorySecrets(std::sync::Mutex<std::collections::HashMap<String, Secret>>);

impl SecretStore for MemorySecrets {
    fn get(&self, account: &str) -> Result<Option<Secret>> {
        Ok(self.0.lock().unwrap().get(account).cloned())
    }
    fn set(&self, account: &str, secret: &Secret) -> Result<()> {
        self.0.lock().unwrap().insert(account.to_string(), secret.clone());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<()> {
        self.0.lock().unwrap().remove(account);
        Ok(())
    }
}

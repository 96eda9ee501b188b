//! Profile operations as the CLI and the app call them.

use super::conninfo::{self, Parsed};
use super::{PasswordChange, Profile, ProfileDraft};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::keychain::profile_account;
use crate::secret::Secret;

impl Engine {
    /// Reads a pasted URI or conninfo; a `service=` is resolved through pg_service.conf.
    pub fn parse_connection(&self, input: &str) -> Result<Parsed> {
        let parsed = conninfo::parse(input)?;
        let Some(service) = parsed.service.clone() else {
            return Ok(parsed);
        };
        let mut pairs = super::service_file::lookup(&service).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidUri,
                format!("service '{service}' is not defined in any pg_service.conf"),
                "Define it in ~/.pg_service.conf (or $PGSERVICEFILE), or give the connection details directly.",
            )
        })?;
        // Keywords given next to service= override the service's own.
        pairs.extend(conninfo_pairs_without_service(input));
        conninfo::from_pairs(pairs)
    }

    pub fn profiles(&self) -> Result<Vec<Profile>> {
        self.catalog().profiles()
    }

    pub fn profile(&self, name: &str) -> Result<Profile> {
        self.catalog().profile(name)
    }

    /// Saves without connecting. The password goes to the keychain first: if the keychain
    /// refuses, nothing is saved.
    pub fn add_profile(&self, draft: &ProfileDraft, password: Option<&Secret>) -> Result<Profile> {
        draft.validate()?;
        if self.catalog().profile(&draft.name).is_ok() {
            return Err(Error::new(
                ErrorCode::ProfileExists,
                format!("a profile named '{}' already exists", draft.name),
                "Choose another name, or edit the existing profile.",
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let password = password.filter(|p| !p.is_empty());
        if let Some(pw) = password {
            self.secrets.set(&profile_account(&id), pw)?;
        }
        let now = self.clock.now_rfc3339();
        let saved = self.catalog().insert_profile(&id, draft, password.is_some(), &now);
        if saved.is_err() && password.is_some() {
            let _ = self.secrets.delete(&profile_account(&id));
        }
        let profile = saved?;
        // A teammate's backups, rescanned before this profile was added, are its now.
        self.catalog().claim_unowned_backups()?;
        tracing::info!(profile = %profile.name, target = %draft.target(), "profile added");
        Ok(profile)
    }

    pub fn update_profile(&self, name: &str, draft: &ProfileDraft, change: &PasswordChange) -> Result<Profile> {
        draft.validate()?;
        let current = self.profile(name)?;
        let account = profile_account(&current.id);
        let has_password = match change {
            PasswordChange::Keep => current.has_password,
            PasswordChange::Set { password } if !password.is_empty() => {
                self.secrets.set(&account, password)?;
                true
            }
            PasswordChange::Set { .. } | PasswordChange::Clear => {
                self.secrets.delete(&account)?;
                false
            }
        };
        let profile = self.catalog().update_profile(&current.id, draft, has_password, &self.clock.now_rfc3339())?;
        tracing::info!(profile = %profile.name, "profile updated");
        Ok(profile)
    }

    /// Removes the keychain entry, then the profile; a keychain that refuses keeps both.
    pub fn remove_profile(&self, name: &str) -> Result<()> {
        let profile = self.profile(name)?;
        self.secrets.delete(&profile_account(&profile.id))?;
        self.catalog().delete_profile(&profile.id)?;
        tracing::info!(profile = %name, "profile removed");
        Ok(())
    }

    /// The stored password, if the profile has one.
    pub fn password(&self, profile: &Profile) -> Result<Option<Secret>> {
        if !profile.has_password {
            return Ok(None);
        }
        match self.secrets.get(&profile_account(&profile.id))? {
            Some(pw) => Ok(Some(pw)),
            None => Err(Error::new(
                ErrorCode::PasswordMissing,
                format!("the keychain has no password for profile '{}'", profile.name),
                format!("Set it again with `tideline profile edit {} --password-stdin`.", profile.name),
            )),
        }
    }
}

/// The keywords written beside `service=` (conninfo form only), which override the service's.
fn conninfo_pairs_without_service(input: &str) -> Vec<(String, String)> {
    if input.trim_start().starts_with("postgres") {
        return Vec::new();
    }
    conninfo::tokenize(input).unwrap_or_default().into_iter().filter(|(k, _)| k != "service").collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::keychain::{MemorySecrets, SecretStore};
    use std::sync::Arc;

    fn engine(dir: &std::path::Path) -> (Engine, Arc<MemorySecrets>) {
        let secrets = Arc::new(MemorySecrets::default());
        (Engine::open(dir, secrets.clone(), Arc::new(SystemClock)).unwrap(), secrets)
    }

    fn draft(name: &str) -> ProfileDraft {
        ProfileDraft { name: name.into(), ..ProfileDraft::default() }
    }

    #[test]
    fn add_edit_remove_keeps_keychain_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let (e, secrets) = engine(dir.path());
        let p = e.add_profile(&draft("a"), Some(&Secret::new("pw1"))).unwrap();
        assert!(p.has_password);
        let account = profile_account(&p.id);
        assert_eq!(secrets.get(&account).unwrap().unwrap().expose(), "pw1");
        assert_eq!(e.add_profile(&draft("a"), None).unwrap_err().code, ErrorCode::ProfileExists);

        let renamed = e.update_profile("a", &draft("b"), &PasswordChange::Keep).unwrap();
        assert_eq!(renamed.id, p.id);
        assert!(renamed.has_password);
        assert_eq!(e.password(&renamed).unwrap().unwrap().expose(), "pw1");

        let cleared = e.update_profile("b", &draft("b"), &PasswordChange::Clear).unwrap();
        assert!(!cleared.has_password);
        assert!(secrets.get(&account).unwrap().is_none());

        e.update_profile("b", &draft("b"), &PasswordChange::Set { password: Secret::new("pw2") }).unwrap();
        e.remove_profile("b").unwrap();
        assert!(secrets.get(&account).unwrap().is_none());
        assert_eq!(e.profile("b").unwrap_err().code, ErrorCode::ProfileMissing);
    }

    #[test]
    fn catalog_file_never_contains_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(dir.path());
        e.add_profile(&draft("x"), Some(&Secret::new("Zebra-Password-991"))).unwrap();
        drop(e);
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains("Zebra-Password-991"));
        }
    }

    #[test]
    fn invalid_drafts_are_refused_before_anything_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (e, _) = engine(dir.path());
        let mut d = draft("");
        assert_eq!(e.add_profile(&d, Some(&Secret::new("pw"))).unwrap_err().code, ErrorCode::InvalidInput);
        d.name = "ok".into();
        d.sslcert = Some("/c.pem".into());
        assert_eq!(e.add_profile(&d, None).unwrap_err().code, ErrorCode::InvalidInput);
        assert!(e.profiles().unwrap().is_empty());
    }
}

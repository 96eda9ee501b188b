//! `repo key rotate NAME`: a new key for everything written from now on. The old keys are
//! kept, wrapped with the new one in the keychain and in the new recovery kit, so every file
//! already there still opens and none is encrypted again. The new kit is written first, so no
//! key ever exists that could be lost. Then the keychain, the record, the repository's marker
//! (what a second installation checks a kit against) and the archive_command configs Tideline
//! wrote for this repository take the new key. An installation that imported an older kit can
//! no longer read what is written from now on: it needs the new kit.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::repo::key;
use crate::repo::named::KitFile;
use crate::repo::store::s3::Patience;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RotatedKey {
    pub repository: String,
    /// The recipient files are encrypted to from now on.
    pub recipient: String,
    /// How many keys the new kit holds (this one and every one it replaced).
    pub keys: u32,
    /// archive_command configs rewritten with the new recipient.
    pub wal_configs: Vec<String>,
}

impl Engine {
    pub async fn rotate_repository_key(&self, name: &str, kit: &KitFile) -> Result<RotatedKey> {
        let mut record = self.named_repository(name)?;
        if record.recipient.is_none() {
            return Err(Error::invalid_input(
                format!("repository '{name}' is not encrypted: it has no key to rotate"),
                "Nothing to rotate.",
            ));
        }
        let rotated = self.repository_identity(&record)?.rotated();
        let about = format!("repository {} ({})", record.name, record.location());
        key::write_kit(&kit.path, &rotated, &kit.passphrase, &about)?;
        self.secrets.set(&key::identity_account(&record.id), &rotated.to_secret())?;
        record.recipient = Some(rotated.recipient());
        self.catalog().save_repository(&record)?;
        let store = self.open_store(&record, Patience::Job)?;
        crate::repo::named::set_marker_recipient(store.as_ref(), &rotated.recipient()).await?;
        let wal_configs = self.rewrite_wal_configs(&record.id, &record.name)?;
        tracing::info!(repository = %record.name, configs = wal_configs.len(), "repository key rotated");
        Ok(RotatedKey {
            repository: record.name,
            recipient: rotated.recipient(),
            keys: rotated.to_secret().expose().lines().count() as u32,
            wal_configs,
        })
    }
}

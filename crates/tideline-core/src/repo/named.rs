//! Named repositories: `repo add | list | show | remove` and the keys of each. A repository
//! describes itself with a marker object (`tideline-repository.json`: its id and, when
//! encrypted, its recipient), so a second installation adding the same bucket finds it is not
//! new and asks for the recovery kit instead of making a new key.

use crate::catalog::repositories::{RepositoryPlace, RepositoryRecord};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::key::{self, Identity};
use crate::repo::store::dir::DirStore;
use crate::repo::store::s3::{Patience, S3Location, S3Store};
use crate::repo::store::{put_once, Store};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

pub const MARKER: &str = "tideline-repository.json";

/// What `repo add` was given.
pub struct NewRepository {
    pub name: String,
    pub place: NewPlace,
    /// Encrypt (a new repository) or open (an encrypted one) with this kit and passphrase.
    pub kit: Option<KitFile>,
    /// Encryption was asked for; a new repository without a kit is refused.
    pub encrypt: bool,
}

pub enum NewPlace {
    Dir(PathBuf),
    S3 { location: S3Location, access_key_id: String, secret: Secret },
}

pub struct KitFile {
    pub path: PathBuf,
    pub passphrase: Secret,
}

/// What the app's form and the CLI's flags describe; secrets travel beside it, never in it.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct RepositoryRequest {
    pub name: String,
    pub place: RequestedPlace,
    /// Encrypt a new repository (the default for buckets).
    pub encrypt: bool,
    /// Where a new encrypted repository's kit is written, or the kit of an existing one.
    pub recovery_kit: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum RequestedPlace {
    Dir { path: String },
    S3 { url: String, endpoint: Option<String>, region: String, path_style: bool, access_key_id: String },
}

impl RepositoryRequest {
    /// With the bucket's secret access key and the kit's passphrase, when they are needed.
    pub fn resolve(self, secret_access_key: Option<Secret>, passphrase: Option<Secret>) -> Result<NewRepository> {
        let place = match self.place {
            RequestedPlace::Dir { path } => NewPlace::Dir(PathBuf::from(path)),
            RequestedPlace::S3 { url, endpoint, region, path_style, access_key_id } => {
                let (bucket, prefix) = S3Location::parse_url(&url)?;
                let endpoint = endpoint.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
                let secret = secret_access_key.filter(|s| !s.is_empty()).ok_or_else(|| {
                    Error::invalid_input(
                        "a bucket repository needs its secret access key",
                        "Give the secret that goes with the access key id.",
                    )
                })?;
                if access_key_id.trim().is_empty() {
                    return Err(Error::invalid_input(
                        "a bucket repository needs an access key id",
                        "Create a key in the provider's console and give its id.",
                    ));
                }
                let location = S3Location { bucket, prefix, endpoint, region, path_style };
                NewPlace::S3 { location, access_key_id: access_key_id.trim().to_string(), secret }
            }
        };
        let kit = match (self.recovery_kit.filter(|k| !k.trim().is_empty()), passphrase) {
            (Some(path), Some(passphrase)) => Some(KitFile { path: PathBuf::from(path), passphrase }),
            (Some(_), None) => {
                return Err(Error::invalid_input(
                    "the recovery kit needs its passphrase",
                    "Choose a passphrase (at least 8 characters) and keep it apart from the kit.",
                ))
            }
            (None, _) => None,
        };
        Ok(NewRepository { name: self.name, place, kit, encrypt: self.encrypt })
    }
}

/// The marker every Tideline repository holds at its root.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    format: u32,
    id: String,
    recipient: Option<String>,
    created_at: String,
}

fn missing(name: &str) -> Error {
    Error::new(
        ErrorCode::RepositoryMissing,
        format!("no repository named '{name}'"),
        "`tideline repo list` shows the repositories; `tideline repo add` makes one (Settings → Repositories in the app).",
    )
}

impl Engine {
    pub fn repositories(&self) -> Result<Vec<RepositoryRecord>> {
        self.catalog().repositories()
    }

    pub fn named_repository(&self, name: &str) -> Result<RepositoryRecord> {
        self.catalog().repository_named(name)?.ok_or_else(|| missing(name))
    }

    /// The store a repository's files are in; a bucket's secret comes from the keychain.
    pub fn open_store(&self, record: &RepositoryRecord, patience: Patience) -> Result<Box<dyn Store>> {
        match &record.place {
            RepositoryPlace::Dir { path } => Ok(Box::new(DirStore::at(path))),
            RepositoryPlace::S3 { location, access_key_id } => {
                Ok(Box::new(S3Store::open(location, access_key_id, &self.bucket_secret(record)?, patience)?))
            }
        }
    }

    /// A bucket repository's secret access key, from the keychain.
    pub(crate) fn bucket_secret(&self, record: &RepositoryRecord) -> Result<Secret> {
        self.secrets.get(&key::secret_key_account(&record.id))?.ok_or_else(|| {
            Error::new(
                ErrorCode::PasswordMissing,
                format!("the secret access key of repository '{}' is not in the keychain", record.name),
                format!("Remove the repository and add it again with its secret: `tideline repo remove {0}` then `tideline repo add {0} …`.", record.name),
            )
        })
    }

    /// The identity of an encrypted repository, from the keychain.
    pub fn repository_identity(&self, record: &RepositoryRecord) -> Result<Identity> {
        match self.secrets.get(&key::identity_account(&record.id))? {
            Some(secret) => Identity::from_secret(&secret),
            None => Err(Error::new(
                ErrorCode::RepositoryKeyMissing,
                format!("repository '{}' is encrypted and its key is not in this computer's keychain", record.name),
                format!("Import the recovery kit saved when the repository was made: `tideline repo key import {} --from KIT` (Settings → Repositories → Import key in the app).", record.name),
            )),
        }
    }

    /// Adds a repository: a new one gets a marker (and, encrypted, a key whose recovery kit is
    /// written before anything is recorded); an existing one is recognised by its marker.
    pub async fn add_repository(&self, new: NewRepository) -> Result<RepositoryRecord> {
        check_name(&new.name)?;
        if self.catalog().repository_named(&new.name)?.is_some() {
            return Err(Error::new(
                ErrorCode::RepositoryExists,
                format!("a repository named '{}' exists", new.name),
                "Choose another name, or `tideline repo remove` the old one first.",
            ));
        }
        let (place, secret) = match new.place {
            NewPlace::Dir(path) => {
                let path =
                    std::path::absolute(&path).map_err(|e| Error::io("resolving the repository directory", e))?;
                crate::home::ensure_private_dir(&path)?;
                (RepositoryPlace::Dir { path: path.display().to_string() }, None)
            }
            NewPlace::S3 { location, access_key_id, secret } => {
                (RepositoryPlace::S3 { location, access_key_id }, Some(secret))
            }
        };
        let mut record = RepositoryRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: new.name.clone(),
            place,
            recipient: None,
            honours_conditional_create: None,
            created_at: self.clock.now_rfc3339(),
        };
        let store: Box<dyn Store> = match (&record.place, &secret) {
            (RepositoryPlace::S3 { location, access_key_id }, Some(secret)) => {
                // The addressing the store answers is the one recorded.
                let reached = crate::repo::store::addressing::reach(location, access_key_id, secret).await?;
                let store = reached.store;
                record.place =
                    RepositoryPlace::S3 { location: store.location().clone(), access_key_id: access_key_id.clone() };
                Box::new(store)
            }
            (RepositoryPlace::Dir { path }, _) => Box::new(DirStore::at(path)),
            _ => return Err(Error::internal("a bucket without its secret")),
        };
        let identity = match read_marker(store.as_ref()).await? {
            Some(marker) => adopt(&mut record, marker, new.kit.as_ref())?,
            None => create(&mut record, store.as_ref(), new.kit.as_ref(), new.encrypt).await?,
        };
        if let Some(secret) = &secret {
            self.secrets.set(&key::secret_key_account(&record.id), secret)?;
        }
        if let Some(identity) = &identity {
            self.secrets.set(&key::identity_account(&record.id), &identity.to_secret())?;
        }
        self.catalog().save_repository(&record)?;
        tracing::info!(name = %record.name, location = %record.location(), encrypted = record.recipient.is_some(), "repository added");
        Ok(record)
    }

    /// Forgets a repository on this computer: its record and keychain entries. The files in it
    /// are not touched (another installation may use them).
    pub fn remove_repository(&self, name: &str) -> Result<RepositoryRecord> {
        let record = self.named_repository(name)?;
        let keeping = self.catalog().profiles_keeping_in(&record.id)?;
        if !keeping.is_empty() {
            return Err(Error::invalid_input(
                format!("profile(s) {} keep their backups and WAL in '{name}'", keeping.join(", ")),
                "Keep them elsewhere first (the profile's \"Keep backups in\" setting, or `profile edit PROFILE --repo local`), then remove it.",
            ));
        }
        self.secrets.delete(&key::secret_key_account(&record.id))?;
        self.secrets.delete(&key::identity_account(&record.id))?;
        self.catalog().remove_repository(&record.id)?;
        Ok(record)
    }

    /// Writes a new recovery kit for an encrypted repository (the old one stays valid).
    pub fn export_repository_key(&self, name: &str, kit: &KitFile) -> Result<()> {
        let record = self.named_repository(name)?;
        if record.recipient.is_none() {
            return Err(Error::invalid_input(
                format!("repository '{name}' is not encrypted: it has no key"),
                "Nothing to export.",
            ));
        }
        let identity = self.repository_identity(&record)?;
        key::write_kit(
            &kit.path,
            &identity,
            &kit.passphrase,
            &format!("repository {} ({})", record.name, record.location()),
        )
    }

    /// Puts an encrypted repository's identity into this computer's keychain from its kit.
    pub fn import_repository_key(&self, name: &str, kit: &KitFile) -> Result<()> {
        let record = self.named_repository(name)?;
        let identity = key::read_kit(&kit.path, &kit.passphrase)?;
        if record.recipient.as_deref() != Some(identity.recipient().as_str()) {
            return Err(other_kit(&record.name));
        }
        self.secrets.set(&key::identity_account(&record.id), &identity.to_secret())
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(Error::invalid_input(
            format!("'{name}' cannot name a repository"),
            "Use up to 64 characters, without '/' or control characters.",
        ));
    }
    Ok(())
}

fn other_kit(name: &str) -> Error {
    Error::new(
        ErrorCode::RecoveryKitInvalid,
        format!("that recovery kit opens another repository, or an older key of '{name}'"),
        "Each repository has its own kit, and `repo key rotate` writes a new one: use the newest kit saved for this repository.",
    )
}

/// The marker with a new recipient (`repo key rotate`): the one object Tideline replaces.
pub(crate) async fn set_marker_recipient(store: &dyn Store, recipient: &str) -> Result<()> {
    let Some(mut marker) = read_marker(store).await? else {
        return Err(Error::new(
            ErrorCode::RepositoryMissing,
            format!("{} holds no {MARKER}", store.describe()),
            "Check the repository's bucket and prefix: `tideline repo test`.",
        ));
    };
    marker.recipient = Some(recipient.to_string());
    let json = serde_json::to_vec_pretty(&marker).map_err(|e| Error::internal(e.to_string()))?;
    store.put(MARKER, json.into()).await
}

async fn read_marker(store: &dyn Store) -> Result<Option<Marker>> {
    let Some(bytes) = store.get(MARKER).await? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::new(
            ErrorCode::ManifestInvalid,
            format!("{}/{MARKER} is not a Tideline repository marker: {e}", store.describe()),
            "Use another prefix for Tideline, or remove the file if nothing else uses it.",
        )
    })
}

/// A repository another installation made: its id, and its key from the kit.
fn adopt(record: &mut RepositoryRecord, marker: Marker, kit: Option<&KitFile>) -> Result<Option<Identity>> {
    record.id = marker.id;
    record.recipient = marker.recipient.clone();
    let Some(recipient) = marker.recipient else { return Ok(None) };
    let Some(kit) = kit else {
        return Err(Error::new(
            ErrorCode::RepositoryKeyMissing,
            format!("{} is an encrypted Tideline repository and no recovery kit was given", record.location()),
            "Give the recovery kit saved when it was made, with its passphrase: --recovery-kit FILE (the passphrase on stdin's second line).",
        ));
    };
    let identity = key::read_kit(&kit.path, &kit.passphrase)?;
    if identity.recipient() != recipient {
        return Err(other_kit(&record.name));
    }
    Ok(Some(identity))
}

/// A new repository: the recovery kit is saved first, then the marker; only then is anything
/// recorded, so a repository whose key could be lost never exists.
async fn create(
    record: &mut RepositoryRecord,
    store: &dyn Store,
    kit: Option<&KitFile>,
    encrypt: bool,
) -> Result<Option<Identity>> {
    let identity = match (encrypt, kit) {
        (false, _) => None,
        (true, None) => {
            return Err(Error::invalid_input(
                "an encrypted repository needs a recovery kit file",
                "Give --recovery-kit FILE (where the key is saved, wrapped by a passphrase you choose), or --no-encryption.",
            ))
        }
        (true, Some(kit)) => {
            let identity = Identity::generate();
            key::write_kit(&kit.path, &identity, &kit.passphrase, &format!("repository {} ({})", record.name, record.location()))?;
            Some(identity)
        }
    };
    record.recipient = identity.as_ref().map(Identity::recipient);
    let marker = Marker {
        format: 1,
        id: record.id.clone(),
        recipient: record.recipient.clone(),
        created_at: record.created_at.clone(),
    };
    let json = serde_json::to_vec_pretty(&marker).map_err(|e| Error::internal(e.to_string()))?;
    put_once(store, MARKER, json.into(), false).await?;
    Ok(identity)
}

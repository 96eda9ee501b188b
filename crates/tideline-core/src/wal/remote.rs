//! `wal-push` and `wal-fetch` into a bucket, as archive_command and restore_command. They run
//! as the server's OS user, with no keychain, catalog or HOME, so what they need is in a
//! repository config file that user alone may read (`RemoteConfig`, written by `tideline repo
//! wal-config`): the bucket, an access key (give it put and get only — the user guide has the
//! policy), and the recipient, since encrypting needs no secret. Fetching from an encrypted
//! repository needs the identity too, which only configs written with `--with-identity` (for a
//! recovery Tideline runs) hold.
//!
//!   clusters/<sysid>/wal/<name>.zst    the file, one zstd frame (then age, when encrypted)
//!   clusters/<sysid>/wal/<name>.b3     BLAKE3 of the file as PostgreSQL wrote it
//!   clusters/<sysid>/wal/<seg>.json    the segment's summary (encrypted like the file)
//!
//! Never overwrite: an object already there succeeds when its `.b3` matches (PostgreSQL
//! retrying a push it did not see succeed) and fails otherwise. The `.b3` is written first and
//! read back last, so on a store that ignores If-None-Match a second writer racing this one
//! is still caught.

use super::archive::{FetchOutcome, PushOutcome};
use super::file_names::{classify, WalFileKind};
use super::push::read_for_archive;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::key::{encrypt_to, Identity};
use crate::repo::store::s3::{Patience, S3Location, S3Store};
use crate::repo::store::Store;
use crate::secret::Secret;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct RemoteConfig {
    pub format: u32,
    pub repository: String,
    pub location: S3Location,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub recipient: Option<String>,
    /// Only for restore_command of an encrypted repository.
    pub identity: Option<Secret>,
    pub honours_conditional_create: bool,
}

impl RemoteConfig {
    /// Reads the config, refusing one that another user could read or change: it holds a
    /// secret key, and what it names is where the server's WAL goes.
    pub fn read(path: &Path) -> Result<RemoteConfig> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.mode() & 0o077 != 0 || meta.uid() != me {
            return Err(Error::new(
                ErrorCode::AccessDenied,
                format!("{} is mode {:o}, owned by uid {}: only its own user (uid {me}) may read it", path.display(), meta.mode() & 0o777, meta.uid()),
                "It holds a secret key. Write it again with `tideline repo wal-config` for the server's OS user, or `chmod 600` and `chown` it to that user.",
            ));
        }
        let text = std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        serde_json::from_slice(&text).map_err(|e| {
            Error::invalid_input(
                format!("{} is not a repository config: {e}", path.display()),
                "Write it with `tideline repo wal-config`.",
            )
        })
    }

    fn store(&self, patience: Patience) -> Result<S3Store> {
        S3Store::open(&self.location, &self.access_key_id, &self.secret_access_key, patience)
    }
}

/// Secrets written to a config file: `Secret` refuses to serialise, so the file format has
/// its own spelling of them.
pub fn config_json(config: &RemoteConfig) -> Result<Vec<u8>> {
    let mut value = serde_json::json!({
        "format": config.format,
        "repository": config.repository,
        "location": config.location,
        "access_key_id": config.access_key_id,
        "secret_access_key": config.secret_access_key.expose(),
        "recipient": config.recipient,
        "honours_conditional_create": config.honours_conditional_create,
    });
    if let Some(identity) = &config.identity {
        value["identity"] = serde_json::json!(identity.expose());
    }
    serde_json::to_vec_pretty(&value).map_err(|e| Error::internal(e.to_string()))
}

fn wal_key(sysid: u64, name: &str) -> String {
    format!("clusters/{sysid}/wal/{name}")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("starting the async runtime: {e}")))
}

/// archive_command: stores the file at `path` for the cluster of `pgdata` in the bucket.
pub fn remote_push(config: &Path, path: &Path, pgdata: &Path) -> Result<PushOutcome> {
    let config = std::sync::Arc::new(RemoteConfig::read(config)?);
    let file = read_for_archive(path, pgdata)?;
    let store = config.store(Patience::Archive)?;
    let key = wal_key(file.sysid, &file.name);
    let (name, kind) = (file.name.clone(), file.kind);
    let content = std::sync::Arc::new(file.content);
    let digest = blake3::hash(&content).to_hex().to_string();
    let (stored, side) = (format!("{key}.zst"), format!("{key}.b3"));
    runtime()?.block_on(async {
        // The look, the compression and encryption, and the summary overlap: archive_command
        // must keep up with the server's WAL.
        let sealing = blocking({
            let (config, content) = (config.clone(), content.clone());
            move || seal(&config, &content)
        });
        let summarising = blocking({
            let (config, content, name, beside) =
                (config.clone(), content.clone(), name.clone(), path.parent().map(Path::to_path_buf));
            move || match kind {
                WalFileKind::Segment => summary_bytes(&config, &name, &content, beside.as_deref()).map(Some),
                _ => Ok(None),
            }
        });
        let (there, body, summary) = tokio::join!(store.head(&stored), sealing, summarising);
        if there?.is_some() {
            return same_or_refused(&store, &side, &digest, &name).await;
        }
        // The record of the content first: an object is never there without it.
        store.put(&side, digest.clone().into_bytes().into()).await?;
        if config.honours_conditional_create {
            if !store.put_if_absent(&stored, body?.into()).await? {
                return same_or_refused(&store, &side, &digest, &name).await;
            }
        } else {
            store.put(&stored, body?.into()).await?;
        }
        // A second writer of this name between our look and our write shows in the read-back.
        let summary_key = format!("{key}.json");
        let put_summary = async {
            match summary {
                Ok(Some(json)) => store.put(&summary_key, json.into()).await,
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            }
        };
        let (back, summarised) = tokio::join!(store.get(&side), put_summary);
        if back?.as_deref() != Some(digest.as_bytes()) {
            return Err(refused(&name, "another writer stored it at the same moment"));
        }
        if let Err(e) = summarised {
            // The segment is safe already; a summary that fails is written later by `wal index`.
            eprintln!("tideline wal-push: {name} archived, but not summarised: {}", e.message);
        }
        Ok(PushOutcome::Stored)
    })
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::internal(format!("a worker stopped: {e}")))?
}

/// The file as stored: one zstd frame, encrypted to the recipient when there is one.
fn seal(config: &RemoteConfig, content: &[u8]) -> Result<Vec<u8>> {
    let body = zstd::bulk::compress(content, 1).map_err(|e| Error::io("compressing", e))?;
    match &config.recipient {
        Some(recipient) => encrypt_to(recipient, &body),
        None => Ok(body),
    }
}

async fn same_or_refused(store: &S3Store, side: &str, digest: &str, name: &str) -> Result<PushOutcome> {
    match store.get(side).await? {
        Some(there) if there == digest.as_bytes() => Ok(PushOutcome::AlreadyArchived),
        Some(_) => Err(refused(name, "with different content")),
        None => Err(refused(name, "without a record of its content (copied there by a sync?)")),
    }
}

fn refused(name: &str, how: &str) -> Error {
    Error::new(
        ErrorCode::WalConflict,
        format!("{name} is already in the bucket {how}; nothing was overwritten"),
        "Two servers may be archiving into one place, or a restored copy of this cluster was started without a new timeline. Stop the second server's archiving and check which one is the real cluster before removing anything.",
    )
}

/// The segment's summary, from the segment and the one before it in pg_wal (what it leaves
/// unfinished runs into this one). Open transactions carried from earlier segments are not
/// known here (the previous summary may be encrypted); `wal index` fills them in.
fn summary_bytes(config: &RemoteConfig, name: &str, content: &[u8], beside: Option<&Path>) -> Result<Vec<u8>> {
    let segment_bytes = super::control::segment_header(content)?.segment_bytes as u64;
    let previous = super::file_names::segment(name, segment_bytes).filter(|s| s.number > 0).and_then(|s| {
        let prev =
            super::file_names::SegmentName { timeline: s.timeline, number: s.number - 1 }.file_name(segment_bytes);
        std::fs::read(beside?.join(prev)).ok().filter(|b| b.len() as u64 == segment_bytes)
    });
    let mut summary = super::summary::summarize(name, content, previous.as_deref(), None)?;
    summary.digest = Some(summary.digest_of());
    let json = serde_json::to_vec(&summary).map_err(|e| Error::internal(e.to_string()))?;
    match &config.recipient {
        Some(recipient) => encrypt_to(recipient, &json),
        None => Ok(json),
    }
}

/// restore_command: writes `name` from the bucket to `dest` for the cluster of `pgdata`.
pub fn remote_fetch(config: &Path, name: &str, dest: &Path, pgdata: &Path) -> Result<FetchOutcome> {
    fetch_from_bucket(&RemoteConfig::read(config)?, Patience::Archive, name, dest, pgdata)
}

/// restore_command of a recovery Tideline runs for a profile kept in a bucket: this
/// computer's copy first, the bucket's when the file is not here or the copy here is damaged.
/// The window was drawn from this computer's WAL, so the bucket is a second source, not the
/// authority: out of reach, it leaves a missing file missing (recovery asks for files past
/// the end and for history files that never existed, and must not wait on a store for each),
/// while a damaged copy here that the bucket cannot replace still stops the recovery.
pub fn fetch_here_or_there(repo: &Path, config: &Path, name: &str, dest: &Path, pgdata: &Path) -> Result<FetchOutcome> {
    let here = super::push::wal_fetch(repo, name, dest, pgdata);
    if matches!(here, Ok(FetchOutcome::Restored)) {
        return here;
    }
    let there = RemoteConfig::read(config).and_then(|c| fetch_from_bucket(&c, Patience::Probe, name, dest, pgdata));
    match (here, there) {
        (Err(e), Ok(FetchOutcome::Restored)) => {
            eprintln!("tideline wal-fetch: {name} came from the bucket: the copy here is damaged ({})", e.message);
            Ok(FetchOutcome::Restored)
        }
        (_, Ok(FetchOutcome::Restored)) => Ok(FetchOutcome::Restored),
        (here, Ok(_)) => here,
        (here, Err(e)) => {
            eprintln!("tideline wal-fetch: the bucket did not give {name}: {}", e.message);
            here
        }
    }
}

/// `name` from the bucket, checked against the `.b3` recorded when it was pushed (an
/// unencrypted object has no other check: its zstd frame carries no checksum).
fn fetch_from_bucket(
    config: &RemoteConfig,
    patience: Patience,
    name: &str,
    dest: &Path,
    pgdata: &Path,
) -> Result<FetchOutcome> {
    classify(name)?;
    let sysid = super::control::data_dir_system_identifier(pgdata)?;
    let dest = if dest.is_absolute() { dest.to_path_buf() } else { pgdata.join(dest) };
    let store = config.store(patience)?;
    let key = wal_key(sysid, name);
    let (stored, side) = (format!("{key}.zst"), format!("{key}.b3"));
    let (body, recorded) = runtime()?.block_on(async {
        let (body, recorded) = tokio::join!(store.get(&stored), store.get(&side));
        Ok::<_, Error>((body?, recorded?))
    })?;
    let Some(body) = body else { return Ok(FetchOutcome::Missing) };
    let compressed = match (&config.recipient, &config.identity) {
        (None, _) => body.to_vec(),
        (Some(_), Some(identity)) => Identity::from_secret(identity)?.decrypt(&body)?,
        (Some(_), None) => {
            return Err(Error::new(
                ErrorCode::RepositoryKeyMissing,
                format!("{} is encrypted and this config holds no key to open it", config.repository),
                "Write a config for recovery with `tideline repo wal-config NAME --with-identity`; keep it only as long as the recovery runs.",
            ))
        }
    };
    let damaged = |why: String| {
        Error::new(
            ErrorCode::ChecksumMismatch,
            format!("{name} in the bucket {why}"),
            "The copy in the bucket is damaged; use another copy of this WAL.",
        )
    };
    let content =
        zstd::stream::decode_all(&compressed[..]).map_err(|e| damaged(format!("does not decompress: {e}")))?;
    if let Some(recorded) = recorded {
        if blake3::hash(&content).to_hex().as_bytes() != &recorded[..] {
            return Err(damaged("is not what was archived (its BLAKE3 differs from its .b3)".into()));
        }
    }
    let tmp = dest.with_extension("tideline-fetch");
    std::fs::write(&tmp, &content).map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
    Ok(FetchOutcome::Restored)
}

impl crate::engine::Engine {
    /// Writes the config `wal-push --repo-config` reads for a bucket repository: 0600, owned by
    /// `owner` (the server's OS user; the current user when None), written under a temporary
    /// name and renamed, so a reader never sees half of it. `with_identity` adds the key that
    /// opens an encrypted repository, for restore_command.
    pub fn write_wal_config(&self, name: &str, out: &Path, owner: Option<&str>, with_identity: bool) -> Result<()> {
        use crate::catalog::repositories::RepositoryPlace;
        let record = self.named_repository(name)?;
        let RepositoryPlace::S3 { location, access_key_id } = &record.place else {
            return Err(Error::invalid_input(
                format!("repository '{name}' is a folder: wal-push writes there with --repo DIR"),
                "A config file is for bucket repositories only.",
            ));
        };
        let identity = match (with_identity, &record.recipient) {
            (true, Some(_)) => Some(self.repository_identity(&record)?.to_secret()),
            _ => None,
        };
        let config = RemoteConfig {
            format: 1,
            repository: record.name.clone(),
            location: location.clone(),
            access_key_id: access_key_id.clone(),
            secret_access_key: self.bucket_secret(&record)?,
            recipient: record.recipient.clone(),
            identity,
            honours_conditional_create: record.honours_conditional_create == Some(true),
        };
        let owner = match owner {
            Some(user) => Some(crate::cluster::os_user::OsUser::lookup(user).ok_or_else(|| {
                Error::invalid_input(
                    format!("there is no OS user '{user}'"),
                    "Give the user the server runs as (often postgres).",
                )
            })?),
            None => None,
        };
        write_private(out, &config_json(&config)?, owner.as_ref())
    }
}

fn write_private(out: &Path, bytes: &[u8], owner: Option<&crate::cluster::os_user::OsUser>) -> Result<()> {
    use std::io::Write;
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let io = |e| Error::io(format!("writing {}", out.display()), e);
    // tempfile creates 0600 files; the owner is changed on the open file, never by path.
    let mut tmp = tempfile::Builder::new().prefix(".tideline-config-").tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).and_then(|()| tmp.as_file().sync_all()).map_err(io)?;
    if let Some(user) = owner {
        rustix::fs::fchown(
            tmp.as_file(),
            Some(rustix::fs::Uid::from_raw(user.uid)),
            Some(rustix::fs::Gid::from_raw(user.gid)),
        )
        .map_err(|e| Error::io(format!("giving {} to {}", out.display(), user.name), e.into()))?;
    }
    tmp.persist(out).map_err(|e| io(e.error))?;
    Ok(())
}

//! `repo sync FROM TO`: the second copy (3-2-1). Copies every backup file, WAL file and
//! summary FROM holds and TO lacks, and never deletes. Resumable: files in a repository never
//! change once written, so what TO holds is skipped — except a `.partial` segment, which grows
//! and is copied again. Order: data files, then WAL summaries, then each backup's
//! manifest.json, so at TO a backup is complete only once its files are there.
//!
//! An encrypted TO gets each file encrypted to its recipient (age, streamed), and the profile
//! and database names in logical backups' keys replaced by digests keyed with its identity:
//! the names themselves are kept encrypted under `names/`. An encrypted FROM is decrypted with
//! the identity in this computer's keychain. `local` names the default repository directory.

use crate::catalog::repositories::RepositoryRecord;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::repo::key::Identity;
use crate::repo::named::MARKER;
use crate::repo::store::dir::DirStore;
use crate::repo::store::s3::Patience;
use crate::repo::store::{from_io, Store, Stored};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use ts_rs::TS;

/// The default repository directory, as FROM or TO.
pub const LOCAL: &str = "local";
const NAMES: &str = "names/";

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct SyncReport {
    pub from: String,
    pub to: String,
    #[ts(type = "number")]
    pub copied: u64,
    /// Already at TO.
    #[ts(type = "number")]
    pub skipped: u64,
    #[ts(type = "number")]
    pub bytes_copied: u64,
    /// The backup directories (repository paths) FROM holds a manifest for, of those picked.
    #[serde(skip)]
    #[ts(skip)]
    pub backups_seen: Vec<String>,
}

/// One side of a sync: its store, and its key when encrypted.
struct End {
    label: String,
    store: Box<dyn Store>,
    recipient: Option<String>,
    identity: Option<Identity>,
    /// The key that hides names, for an encrypted repository (derived from its identity).
    names_key: Option<[u8; 32]>,
}

impl End {
    /// `key` read from here, decrypted; None when it is not here. A WAL file's `.b3`
    /// (wal-push's checksum of what PostgreSQL wrote) is never encrypted: archive_command
    /// compares it without the identity. (Hiding names keeps a key's ending.)
    fn open_plain(&self, key: &str, rt: &tokio::runtime::Handle) -> Result<Option<Box<dyn std::io::Read + Send>>> {
        let Some(raw) = self.store.open_read(key, rt)? else { return Ok(None) };
        match &self.identity {
            Some(identity) if !key.ends_with(".b3") => Ok(Some(identity.decrypting(raw)?)),
            _ => Ok(Some(raw)),
        }
    }
}

fn names_key(identity: &Identity) -> [u8; 32] {
    blake3::derive_key("tideline repository names v1", identity.first_secret().expose().as_bytes())
}

impl Engine {
    pub async fn sync_repositories(&self, from: &str, to: &str, job: &Job) -> Result<SyncReport> {
        if from == to {
            return Err(Error::invalid_input(
                "FROM and TO are the same repository",
                "Name two repositories: `tideline repo list` shows them.",
            ));
        }
        let (from_end, to_end) = (self.sync_end(from)?, self.sync_end(to)?);
        let rt = tokio::runtime::Handle::current();
        // Files stream through blocking readers and writers (age, std::io::copy); this thread
        // becomes a blocking one meanwhile, and `rt` runs the stores' requests.
        let report = tokio::task::block_in_place(|| copy_missing(&from_end, &to_end, Select::All, &rt, job))?;
        if from == LOCAL {
            // Every backup here is now whole there: the backups list says so.
            self.record_copies_in(to, &report.backups_seen)?;
        }
        Ok(report)
    }

    /// Copies the files under `prefixes` (repository paths, e.g. one backup's directory) that
    /// TO lacks: what a profile's second repository gets after each backup.
    pub(crate) async fn sync_prefixes(
        &self,
        from: &str,
        to: &str,
        prefixes: &[String],
        job: &Job,
    ) -> Result<SyncReport> {
        self.sync_selected(from, to, Select::Under(prefixes), job).await
    }

    pub(crate) async fn sync_selected(
        &self,
        from: &str,
        to: &str,
        select: Select<'_>,
        job: &Job,
    ) -> Result<SyncReport> {
        self.sync_with(from, to, select, Patience::Job, job).await
    }

    /// A sync that gives up on a store that does not answer within seconds (`Patience::Probe`):
    /// for what a screen waits on, and can do without.
    pub(crate) async fn sync_with(
        &self,
        from: &str,
        to: &str,
        select: Select<'_>,
        patience: Patience,
        job: &Job,
    ) -> Result<SyncReport> {
        let (from, to) = (self.sync_end_with(from, patience)?, self.sync_end_with(to, patience)?);
        let rt = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| copy_missing(&from, &to, select, &rt, job))
    }

    fn sync_end(&self, name: &str) -> Result<End> {
        self.sync_end_with(name, Patience::Job)
    }

    fn sync_end_with(&self, name: &str, patience: Patience) -> Result<End> {
        if name == LOCAL {
            let root = self.repository()?.root().to_path_buf();
            return Ok(End {
                label: LOCAL.into(),
                store: Box::new(DirStore::at(root)),
                recipient: None,
                identity: None,
                names_key: None,
            });
        }
        let record: RepositoryRecord = self.named_repository(name)?;
        let store = self.open_store(&record, patience)?;
        // Writing needs only the recipient — but hiding names needs the identity, so both do.
        let identity = match &record.recipient {
            Some(_) => Some(self.repository_identity(&record)?),
            None => None,
        };
        let names_key = identity.as_ref().map(names_key);
        Ok(End { label: record.name.clone(), store, recipient: record.recipient.clone(), identity, names_key })
    }
}

/// What is worth copying: backups and WAL, not probes, markers, locks or staging.
fn copied_key(key: &str) -> bool {
    key != MARKER && !key.starts_with(NAMES) && !key.split('/').any(|c| c.starts_with('.'))
}

/// Data first, then summaries, then manifests (see the module comment).
fn rank(key: &str) -> u8 {
    if key.ends_with("/manifest.json") {
        2
    } else if key.starts_with("clusters/") && key.contains("/wal/") && key.ends_with(".json") {
        1
    } else {
        0
    }
}

/// Which of FROM's files a sync copies.
#[derive(Clone, Copy)]
pub(crate) enum Select<'a> {
    All,
    /// Those under these repository paths (a listing each).
    Under(&'a [String]),
    /// Those under one repository path that `keep` picks (one listing, however many it picks).
    Picked {
        under: &'a str,
        keep: &'a (dyn Fn(&str) -> bool + Sync),
    },
    /// What lists backups and draws the timeline: every manifest, and the WAL summaries and
    /// timeline histories. A backup's other files come when something reads it (`Engine::
    /// bring_backup_home`), and WAL when a recovery replays it (`Engine::bring_wal_files_home`).
    Metadata,
}

impl Select<'_> {
    fn wants(&self, plain: &str) -> bool {
        match self {
            Select::All => true,
            Select::Under(prefixes) => prefixes.iter().any(|p| plain.starts_with(p.as_str())),
            Select::Picked { under, keep } => plain.starts_with(under) && keep(plain),
            Select::Metadata => plain.ends_with(&format!("/{}", crate::repo::MANIFEST)) || wal_metadata(plain),
        }
    }

    /// The repository paths to list, or none for everything.
    fn listed(&self) -> Vec<String> {
        match self {
            Select::Under(prefixes) => prefixes.to_vec(),
            Select::Picked { under, .. } => vec![under.to_string()],
            Select::All | Select::Metadata => vec![],
        }
    }
}

/// An archived WAL file's summary, or a timeline's history: small, and all the timeline and
/// events read.
fn wal_metadata(plain: &str) -> bool {
    plain.starts_with("clusters/") && plain.contains("/wal/") && wal_metadata_file(plain)
}

/// A WAL folder's file that is a summary or a timeline's history.
pub(crate) fn wal_metadata_file(name: &str) -> bool {
    name.ends_with(".json") || name.ends_with(".history.zst")
}

/// Copies what TO lacks of what `select` picks at FROM.
fn copy_missing(from: &End, to: &End, select: Select, rt: &tokio::runtime::Handle, job: &Job) -> Result<SyncReport> {
    job.phase("listing");
    let plain_names = read_names(from, rt)?;
    let only = select.listed();
    let wanted = |plain: &str| select.wants(plain);
    let mut scratch = BTreeMap::new();
    let listed = |end: &End, scratch: &mut BTreeMap<String, String>| -> Vec<String> {
        match only.as_slice() {
            [] => vec![String::new()],
            prefixes => prefixes.iter().map(|p| hide(p, end, scratch)).collect(),
        }
    };
    let mut source: Vec<Stored> = Vec::new();
    for prefix in listed(from, &mut scratch) {
        source.extend(rt.block_on(from.store.list(&prefix))?.into_iter().filter(|s| copied_key(&s.key)));
    }
    let mut have = HashSet::new();
    for prefix in listed(to, &mut scratch) {
        have.extend(rt.block_on(to.store.list(&prefix))?.into_iter().map(|s| s.key));
    }
    if !only.is_empty() {
        have.extend(rt.block_on(to.store.list(NAMES))?.into_iter().map(|s| s.key));
    }
    let at_from: HashSet<&str> = source.iter().map(|s| s.key.as_str()).collect();
    let mut plan: Vec<Transfer> = Vec::new();
    let mut new_names = BTreeMap::new();
    let mut skipped = 0;
    let mut backups_seen = Vec::new();
    for s in &source {
        let plain = reveal(&s.key, &plain_names);
        if !wanted(&plain) {
            continue;
        }
        if let Some(dir) = plain.strip_suffix(&format!("/{}", crate::repo::MANIFEST)) {
            backups_seen.push(dir.to_string());
        }
        let dest = hide(&plain, to, &mut new_names);
        if have.contains(&dest) && !plain.ends_with(".partial.zst") {
            skipped += 1;
        } else {
            let sidecar = sidecar_of(&dest).filter(|b3| !have.contains(b3) && !at_from.contains(b3.as_str()));
            plan.push(Transfer { key: s.key.clone(), dest, size: s.size, sidecar });
        }
    }
    plan.sort_by_key(|t| rank(&t.key));
    write_names(to, &new_names, &have, rt)?;
    let total: u64 = plan.iter().map(|t| t.size).sum();
    // Each rank whole before the next starts (see the module comment); within a rank, files
    // travel side by side: one stream waits on the store's round trips.
    for r in 0..=2 {
        let files: Vec<&Transfer> = plan.iter().filter(|t| rank(&t.key) == r).collect();
        copy_side_by_side(from, to, &files, rt, job, total)?;
    }
    job.progress("copying", None, total, Some(total));
    tracing::info!(from = %from.label, to = %to.label, copied = plan.len(), skipped, bytes = total, "repository sync finished");
    Ok(SyncReport {
        from: from.label.clone(),
        to: to.label.clone(),
        copied: plan.len() as u64,
        skipped,
        bytes_copied: total,
        backups_seen,
    })
}

/// One file to copy.
struct Transfer {
    key: String,
    dest: String,
    size: u64,
    /// A WAL file TO has no `.b3` for (it came from a folder, or from the stream): its key,
    /// written from the file's content before the file, as wal-push would. Without it, the
    /// server's archive_command could never push that name there again.
    sidecar: Option<String>,
}

/// The `.b3` key of an archived WAL file's key (`clusters/<sysid>/wal/<name>.zst`), but a
/// `.partial`, which grows. (Summaries end in `.json`, so never match.)
fn sidecar_of(key: &str) -> Option<String> {
    let stem = key.strip_suffix(".zst")?;
    let name = stem.strip_prefix("clusters/")?.split_once("/wal/")?.1;
    let archived = !name.is_empty() && !name.contains('/') && !name.starts_with('.') && !name.ends_with(".partial");
    archived.then(|| format!("{stem}.b3"))
}

/// Files copied at once: a store's latency hides behind the others' transfers.
const SIDE_BY_SIDE: usize = 4;

/// Copies `files` on [`SIDE_BY_SIDE`] threads; the first failure stops the rest.
fn copy_side_by_side(
    from: &End,
    to: &End,
    files: &[&Transfer],
    rt: &tokio::runtime::Handle,
    job: &Job,
    total: u64,
) -> Result<()> {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let (next, done) = (AtomicUsize::new(0), AtomicU64::new(0));
    let failed: Mutex<Option<crate::error::Error>> = Mutex::new(None);
    let stopped = || failed.lock().map(|f| f.is_some()).unwrap_or(true);
    std::thread::scope(|scope| {
        for _ in 0..SIDE_BY_SIDE.min(files.len()) {
            scope.spawn(|| {
                while !stopped() {
                    let Some(transfer) = files.get(next.fetch_add(1, Ordering::SeqCst)).copied() else {
                        break;
                    };
                    let copied = job.check_cancelled().and_then(|_| {
                        job.progress("copying", Some(transfer.key.clone()), done.load(Ordering::SeqCst), Some(total));
                        copy_one(from, to, transfer, rt)
                    });
                    match copied {
                        Ok(()) => done.fetch_add(transfer.size, Ordering::SeqCst),
                        Err(e) => {
                            failed.lock().expect("not poisoned").get_or_insert(e);
                            break;
                        }
                    };
                }
            });
        }
    });
    match failed.into_inner().expect("not poisoned") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Streams one file: decrypted if FROM is encrypted, encrypted if TO is.
fn copy_one(from: &End, to: &End, transfer: &Transfer, rt: &tokio::runtime::Handle) -> Result<()> {
    let (key, dest) = (transfer.key.as_str(), transfer.dest.as_str());
    let Some(reader) = from.open_plain(key, rt)? else {
        // Removed at FROM since the listing (retention): nothing to copy.
        return Ok(());
    };
    let Some(sidecar) = &transfer.sidecar else { return write_to(to, dest, reader, rt) };
    // One WAL file (a segment at most, compressed): read whole to hash what it holds.
    let mut stored = Vec::new();
    let mut reader = reader;
    std::io::Read::read_to_end(&mut reader, &mut stored).map_err(|e| from_io(e, &format!("reading {key}")))?;
    let mut hasher = blake3::Hasher::new();
    let decoder = zstd::stream::read::Decoder::new(&stored[..]).map_err(|e| Error::io(format!("reading {key}"), e))?;
    std::io::copy(&mut std::io::Read::take(decoder, 1 << 30), &mut hasher)
        .map_err(|e| Error::io(format!("decompressing {key}"), e))?;
    rt.block_on(to.store.put(sidecar, hasher.finalize().to_hex().to_string().into_bytes().into()))?;
    write_to(to, dest, std::io::Cursor::new(stored), rt)
}

/// Streams `reader` into `dest` at TO, encrypted if TO is (but a `.b3`).
fn write_to(to: &End, dest: &str, mut reader: impl std::io::Read, rt: &tokio::runtime::Handle) -> Result<()> {
    let doing = format!("writing {dest}");
    let writer = to.store.open_write(dest, rt)?;
    match to.recipient.as_ref().filter(|_| !dest.ends_with(".b3")) {
        Some(recipient) => {
            let mut sealed = crate::repo::key::encrypting(recipient, writer)?;
            std::io::copy(&mut reader, &mut sealed).map_err(|e| from_io(e, &doing))?;
            let writer = sealed.finish().map_err(|e| from_io(e, &doing))?;
            writer.finish()
        }
        None => {
            let mut writer = writer;
            std::io::copy(&mut reader, &mut writer).map_err(|e| from_io(e, &doing))?;
            writer.flush().map_err(|e| from_io(e, &doing))?;
            writer.finish()
        }
    }
}

/// Single files from this computer into a named repository, under their repository paths
/// (hidden and encrypted as `repo sync` would): what a backup uploads while it is still being
/// made. A later sync of the same backup skips what is already there.
pub(crate) struct Uploader {
    to: End,
    rt: tokio::runtime::Handle,
}

impl Uploader {
    /// Uploads `local` as repository path `plain_key`; returns the key it got there.
    pub fn upload(&self, local: &std::path::Path, plain_key: &str) -> Result<String> {
        let file = std::fs::File::open(local).map_err(|e| Error::io(format!("reading {}", local.display()), e))?;
        self.upload_from(std::io::BufReader::with_capacity(1 << 20, file), plain_key)
    }

    /// Uploads what `reader` gives, to its end, as repository path `plain_key`.
    pub fn upload_from(&self, reader: impl std::io::Read, plain_key: &str) -> Result<String> {
        let dest = hide(plain_key, &self.to, &mut BTreeMap::new());
        write_to(&self.to, &dest, reader, &self.rt)?;
        Ok(dest)
    }

    /// Reads repository path `plain_key` back from there, decrypted; None when it is not there.
    pub fn read_back(&self, plain_key: &str) -> Result<Option<Box<dyn std::io::Read + Send>>> {
        self.to.open_plain(&hide(plain_key, &self.to, &mut BTreeMap::new()), &self.rt)
    }

    /// Removes one backup's directory (`plain_dir`, a repository path): its manifest first,
    /// so what is left of a removal that stops half-way is never a backup that looks whole.
    pub fn remove_backup(&self, plain_dir: &str) -> Result<()> {
        let prefix = format!("{}/", hide(plain_dir.trim_end_matches('/'), &self.to, &mut BTreeMap::new()));
        let mut keys: Vec<String> = self.rt.block_on(self.to.store.list(&prefix))?.into_iter().map(|s| s.key).collect();
        keys.sort_by_key(|k| !k.ends_with(&format!("/{}", crate::repo::MANIFEST)));
        for key in &keys {
            self.rt.block_on(self.to.store.delete(key))?;
        }
        Ok(())
    }

    /// The names of the WAL files archived there for cluster `sysid`.
    pub fn wal_names(&self, sysid: &str) -> Result<Vec<String>> {
        let prefix = format!("clusters/{sysid}/wal/");
        let listed = self.rt.block_on(self.to.store.list(&prefix))?;
        Ok(listed
            .iter()
            .filter_map(|s| s.key.strip_prefix(&prefix)?.strip_suffix(".zst").map(str::to_string))
            .collect())
    }

    /// Removes archived WAL files (`clusters/<sysid>/wal/<name>`) with their summary and `.b3`.
    pub fn remove_wal(&self, sysid: &str, names: &[String]) -> Result<()> {
        for name in names {
            for suffix in [".json", ".b3", ".zst"] {
                self.rt.block_on(self.to.store.delete(&format!("clusters/{sysid}/wal/{name}{suffix}")))?;
            }
        }
        Ok(())
    }

    /// Removes what an abandoned backup uploaded.
    pub fn remove(&self, key: &str) {
        if let Err(e) = self.rt.block_on(self.to.store.delete(key)) {
            tracing::warn!(key, error = %e.message, "removing an abandoned upload");
        }
    }
}

#[cfg(test)]
impl Uploader {
    /// Into a plain folder, for tests of what uses one.
    pub fn into_dir(root: std::path::PathBuf, rt: tokio::runtime::Handle) -> Uploader {
        let store = Box::new(DirStore::at(root));
        Uploader { to: End { label: "test".into(), store, recipient: None, identity: None, names_key: None }, rt }
    }
}

impl Engine {
    /// An [`Uploader`] into repository `name`; `rt` runs its requests.
    pub(crate) fn uploader(&self, name: &str, rt: tokio::runtime::Handle) -> Result<Uploader> {
        Ok(Uploader { to: self.sync_end(name)?, rt })
    }
}

/// The digest → name table of an encrypted FROM.
fn read_names(from: &End, rt: &tokio::runtime::Handle) -> Result<BTreeMap<String, String>> {
    let Some(identity) = &from.identity else { return Ok(BTreeMap::new()) };
    let mut names = BTreeMap::new();
    for s in rt.block_on(from.store.list(NAMES))? {
        if let Some(bytes) = rt.block_on(from.store.get(&s.key))? {
            let plain = identity.decrypt(&bytes)?;
            names.insert(s.key[NAMES.len()..].to_string(), String::from_utf8_lossy(&plain).to_string());
        }
    }
    Ok(names)
}

fn write_names(
    to: &End,
    names: &BTreeMap<String, String>,
    have: &HashSet<String>,
    rt: &tokio::runtime::Handle,
) -> Result<()> {
    let Some(recipient) = &to.recipient else { return Ok(()) };
    for (digest, name) in names {
        let key = format!("{NAMES}{digest}");
        if !have.contains(&key) {
            let sealed = crate::repo::key::encrypt_to(recipient, name.as_bytes())?;
            rt.block_on(to.store.put(&key, sealed.into()))?;
        }
    }
    Ok(())
}

/// The profile and database components of a logical backup's key: what hiding replaces.
fn named_components(key: &str) -> Option<(&str, &str, &str)> {
    let rest = key.strip_prefix("logical/")?;
    let mut parts = rest.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next().unwrap_or("")))
}

fn reveal(key: &str, names: &BTreeMap<String, String>) -> String {
    match named_components(key) {
        Some((p, d, rest)) if !names.is_empty() => {
            let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_string());
            format!("logical/{}/{}/{rest}", name(p), name(d))
        }
        _ => key.to_string(),
    }
}

fn hide(key: &str, end: &End, new_names: &mut BTreeMap<String, String>) -> String {
    let (Some(names_key), Some((p, d, rest))) = (end.names_key, named_components(key)) else { return key.to_string() };
    let mut digest = |c: &str| {
        let hidden = format!("n{}", &blake3::keyed_hash(&names_key, c.as_bytes()).to_hex()[..32]);
        new_names.insert(hidden.clone(), c.to_string());
        hidden
    };
    format!("logical/{}/{}/{rest}", digest(p), digest(d))
}

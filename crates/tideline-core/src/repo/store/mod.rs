//! Where a repository's files are kept: a directory on this machine (`DirStore`, today's layout)
//! or a prefix in an S3-compatible bucket (`S3Store`, through `object_store`). Keys are the
//! repository's relative paths (`clusters/<id>/wal/<name>.zst`), the same on both, so a bucket
//! reads like the directory with any S3 tool.

pub mod addressing;
pub mod dir;
pub mod s3;
pub mod s3_uploads;

use crate::error::{Error, ErrorCode, Result};
use bytes::Bytes;

/// One object as the store lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: String,
    pub size: u64,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// What a write that must not overwrite found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The object was not there and is now.
    Created,
    /// The same bytes were already there (a retried archive_command): nothing changed.
    AlreadyThere,
}

#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// For messages: `s3://bucket/prefix` or the directory.
    fn describe(&self) -> String;
    /// Writes `bytes` under `key`, replacing what is there.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()>;
    /// Writes `bytes` under `key` only if nothing is there, in one step the store enforces;
    /// `Ok(false)` when something was. A store that ignores the condition overwrites: see
    /// `put_once`, which never rests on this alone unless the store is known to honour it.
    async fn put_if_absent(&self, key: &str, bytes: Bytes) -> Result<bool>;
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;
    async fn head(&self, key: &str) -> Result<Option<Stored>>;
    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<Stored>>;
    /// Removing what is not there is not an error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// A reader of the object, None when it is not there. Blocking: call it, and read, on a
    /// blocking thread (`spawn_blocking`); `rt` runs the store's requests. Large files stream.
    fn open_read(&self, key: &str, rt: &tokio::runtime::Handle) -> Result<Option<Box<dyn std::io::Read + Send>>>;

    /// A writer whose `finish` stores the object whole (replacing what is there); dropped
    /// unfinished, nothing is stored and nothing is left behind. Blocking, like `open_read`.
    fn open_write(&self, key: &str, rt: &tokio::runtime::Handle) -> Result<Box<dyn ObjectWriter>>;
}

/// An object being written; see `Store::open_write`.
pub trait ObjectWriter: std::io::Write + Send {
    fn finish(self: Box<Self>) -> Result<()>;
}

/// Runs `f`, which blocks on a store's requests, from synchronous code that may be on one of
/// the runtime's threads: that thread's other tasks move on meanwhile. Returns the runtime
/// `f` should send its requests to; None outside any runtime.
pub fn blocking<T>(f: impl FnOnce(tokio::runtime::Handle) -> T) -> Option<T> {
    let handle = tokio::runtime::Handle::try_current().ok()?;
    Some(waiting(|| f(handle)))
}

/// Runs `f`, which waits on work the runtime drives, handing this thread's other tasks on
/// meanwhile when it is one of a multi-thread runtime's workers.
pub fn waiting<T>(f: impl FnOnce() -> T) -> T {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// An I/O error that carries the coded error behind it, and gets it back out: a store's
/// writer fails through `std::io::Write`, and the caller still reports the store's code.
pub fn io_error(e: Error) -> std::io::Error {
    std::io::Error::other(e)
}

pub fn from_io(e: std::io::Error, doing: &str) -> Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(inner) => inner.clone(),
        None => Error::io(doing, e),
    }
}

/// Writes an object that must never be overwritten (a WAL file, a summary, a manifest): the
/// same bytes already there succeed, other bytes fail loudly — PostgreSQL's archive_command
/// contract. `honours_condition` is what `repo test` found: when the store ignores
/// `If-None-Match` (Garage 2.5 does), what is there is read before writing and read back after,
/// so a different file under the same name is still refused.
pub async fn put_once(store: &dyn Store, key: &str, bytes: Bytes, honours_condition: bool) -> Result<Written> {
    if honours_condition {
        if store.put_if_absent(key, bytes.clone()).await? {
            return Ok(Written::Created);
        }
        return same_or_conflict(store, key, &bytes).await;
    }
    if store.head(key).await?.is_some() {
        return same_or_conflict(store, key, &bytes).await;
    }
    store.put(key, bytes.clone()).await?;
    // Another writer between the look and the write would show here: the last write wins on
    // such a store, so ours must be the one read back.
    match store.get(key).await? {
        Some(back) if back == bytes => Ok(Written::Created),
        _ => Err(conflict(store, key)),
    }
}

async fn same_or_conflict(store: &dyn Store, key: &str, bytes: &Bytes) -> Result<Written> {
    match store.get(key).await? {
        Some(there) if there == *bytes => Ok(Written::AlreadyThere),
        _ => Err(conflict(store, key)),
    }
}

fn conflict(store: &dyn Store, key: &str) -> Error {
    Error::new(
        ErrorCode::WalConflict,
        format!("{} already holds {key} with different content; it was not overwritten", store.describe()),
        "Two clusters or two setups may be archiving into the same place. Check archive_command on each server; `tideline wal status` shows what this one archives.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_once_keeps_the_first_writer_with_and_without_the_condition() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir::DirStore::at(dir.path());
        for honours in [true, false] {
            let key = format!("wal/{honours}");
            let first = Bytes::from_static(b"first");
            assert_eq!(put_once(&store, &key, first.clone(), honours).await.unwrap(), Written::Created);
            assert_eq!(put_once(&store, &key, first.clone(), honours).await.unwrap(), Written::AlreadyThere);
            let err = put_once(&store, &key, Bytes::from_static(b"second"), honours).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::WalConflict);
            assert_eq!(store.get(&key).await.unwrap().unwrap(), first);
        }
    }
}

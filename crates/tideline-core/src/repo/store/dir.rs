//! A repository directory on this machine as a `Store`. Writes keep the repository's rules: a
//! temporary name, fsynced, renamed (or hard-linked, where nothing may be replaced), the
//! directory fsynced.

use super::{ObjectWriter, Store, Stored};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn at(root: impl Into<PathBuf>) -> DirStore {
        DirStore { root: root.into() }
    }

    /// The file of `key`; a key that would leave the root is refused.
    fn path(&self, key: &str) -> Result<PathBuf> {
        let relative = Path::new(key);
        if key.is_empty() || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(Error::internal(format!("'{key}' is not a key inside the repository")));
        }
        Ok(self.root.join(relative))
    }

    /// `bytes` in a fsynced temporary file beside `path`.
    fn staged(&self, path: &Path, bytes: &[u8]) -> Result<PathBuf> {
        let parent = path.parent().unwrap_or(&self.root);
        crate::home::ensure_passable_dir(parent)?;
        let tmp = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        Ok(tmp)
    }
}

fn sync_parent(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing {}", parent.display()), e))
}

fn stored(root: &Path, path: &Path, meta: &std::fs::Metadata) -> Stored {
    let key = path.strip_prefix(root).unwrap_or(path).to_string_lossy().to_string();
    let modified = meta.modified().map(chrono::DateTime::<chrono::Utc>::from).unwrap_or_default();
    Stored { key, size: meta.len(), modified }
}

#[async_trait::async_trait]
impl Store for DirStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        let path = self.path(key)?;
        let tmp = self.staged(&path, &bytes)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(format!("renaming into {}", path.display()), e))?;
        sync_parent(&path)
    }

    async fn put_if_absent(&self, key: &str, bytes: Bytes) -> Result<bool> {
        let path = self.path(key)?;
        let tmp = self.staged(&path, &bytes)?;
        // A hard link fails when the name exists: the no-overwrite check and the write are one step.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => sync_parent(&path).map(|()| true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(Error::io(format!("linking {}", path.display()), e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let path = self.path(key)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<Stored>> {
        let path = self.path(key)?;
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(stored(&self.root, &path, &meta))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Stored>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    continue;
                }
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.is_file() {
                    let s = stored(&self.root, &path, &meta);
                    if s.key.starts_with(prefix) {
                        out.push(s);
                    }
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => sync_parent(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
        }
    }

    fn open_read(&self, key: &str, _: &tokio::runtime::Handle) -> Result<Option<Box<dyn std::io::Read + Send>>> {
        let path = self.path(key)?;
        match std::fs::File::open(&path) {
            Ok(file) => Ok(Some(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    fn open_write(&self, key: &str, _: &tokio::runtime::Handle) -> Result<Box<dyn ObjectWriter>> {
        let path = self.path(key)?;
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        crate::home::ensure_passable_dir(&parent)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&parent)
            .map_err(|e| Error::io(format!("writing in {}", parent.display()), e))?;
        Ok(Box::new(DirWriter { tmp, path }))
    }
}

/// A file written under a temporary name (removed if dropped), fsynced and renamed on finish.
struct DirWriter {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl std::io::Write for DirWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

impl ObjectWriter for DirWriter {
    fn finish(self: Box<Self>) -> Result<()> {
        let DirWriter { tmp, path } = *self;
        tmp.as_file().sync_all().map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        tmp.persist(&path).map_err(|e| Error::io(format!("storing {}", path.display()), e.error))?;
        sync_parent(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_stay_inside_the_root_and_list_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::at(dir.path());
        for bad in ["../x", "/etc/passwd", "a/../../b", ""] {
            assert!(store.put(bad, Bytes::from_static(b"x")).await.is_err(), "{bad}");
        }
        store.put("b/2", Bytes::from_static(b"22")).await.unwrap();
        store.put("b/1", Bytes::from_static(b"1")).await.unwrap();
        store.put("c", Bytes::from_static(b"3")).await.unwrap();
        let keys: Vec<_> = store.list("b/").await.unwrap().into_iter().map(|s| (s.key, s.size)).collect();
        assert_eq!(keys, vec![("b/1".to_string(), 1), ("b/2".to_string(), 2)]);
        store.delete("c").await.unwrap();
        store.delete("c").await.unwrap();
        assert_eq!(store.head("c").await.unwrap(), None);
    }
}

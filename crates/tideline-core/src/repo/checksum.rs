//! SHA-256 of every file in a backup, recorded in the manifest and checked by `verify`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FileEntry {
    /// Relative to the backup directory, with `/` separators.
    pub path: String,
    #[ts(type = "number")]
    pub size_bytes: u64,
    pub sha256: String,
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Every file below `root` except those named in `skip`, sorted by path. Files are hashed on
/// as many threads as there are cores (a directory-format dump is one file per table).
pub fn inventory(root: &Path, skip: &[&str]) -> Result<Vec<FileEntry>> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?.flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            if !skip.contains(&rel.as_str()) {
                let size_bytes = entry.metadata().map_err(|e| Error::io(format!("stat {}", path.display()), e))?.len();
                files.push((path, rel, size_bytes));
            }
        }
    }
    // Largest first, so one big file does not start last.
    files.sort_by_key(|f| std::cmp::Reverse(f.2));
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Vec<FileEntry>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((path, rel, size_bytes)) = files.get(i) else { return Ok(out) };
                        out.push(FileEntry { sha256: sha256_file(path)?, path: rel.clone(), size_bytes: *size_bytes });
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(Error::internal("a hashing thread panicked"))))
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_and_hashes_every_file_but_the_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/a.dat"), b"abc").unwrap();
        std::fs::write(dir.path().join("b"), b"").unwrap();
        std::fs::write(dir.path().join("manifest.json"), b"{}").unwrap();
        let files = super::inventory(dir.path(), &["manifest.json"]).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, vec!["b", "d/a.dat"]);
        assert_eq!(files[1].sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(files[1].size_bytes, 3);
    }
}

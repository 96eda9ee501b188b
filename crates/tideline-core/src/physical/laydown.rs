//! Laying a base backup down as a data directory: a plain backup is copied, a tar backup is
//! unpacked (base.tar with its compression, each tablespace's tar, and pg_wal.tar into
//! pg_wal). What sandboxes and in-place restores start from; `dest` must not exist yet.
//!
//! Every file is checked against the manifest's checksum as it is read, not in a second pass:
//! pg_basebackup's zstd frames carry no checksum, and one flipped byte in `base.tar.zst` gave a
//! sandbox whose data was silently wrong.

use super::basebackup::DATA_DIR;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::checksum::FileEntry;
use crate::repo::manifest::Manifest;
use crate::repo::options::BaseFormat;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing { inner, hasher: blake3::Hasher::new() }
    }

    /// Reads what is left (a decompressor or tar may stop before the end) and gives the hash.
    fn finish(mut self) -> std::io::Result<String> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(self.hasher.finalize().to_hex().to_string())
    }
}

/// The manifest's entries by their path in the backup directory.
type Entries<'a> = HashMap<&'a str, &'a FileEntry>;

/// A file that is not what the manifest says: the lay-down stops, naming it.
fn damaged(file: &str, why: &str) -> Error {
    Error::new(
        ErrorCode::ChecksumMismatch,
        format!("{file} in the base backup {why}; nothing was started from it"),
        "The backup is damaged: choose another with --from-backup (`tideline backups list`), run `tideline verify ID`, and check the disk the repository is on.",
    )
}

/// Checks the hash of `relative` (a path in the backup directory) against the manifest.
fn check(entries: &Entries, relative: &str, blake3: &str) -> Result<()> {
    match entries.get(relative) {
        None => Err(damaged(relative, "is not in its manifest")),
        Some(FileEntry { blake3: Some(want), .. }) if want != blake3 => {
            Err(damaged(relative, "does not match its checksum"))
        }
        // Format 1 manifests carry SHA-256 only: `verify` checks those.
        Some(_) => Ok(()),
    }
}

/// A reader of `file` that undoes the compression `name` says.
fn decompressed<'a>(file: impl Read + 'a, name: &str) -> Result<Box<dyn Read + 'a>> {
    let path = Path::new(name);
    Ok(if name.ends_with(".zst") {
        Box::new(zstd::stream::Decoder::new(file).map_err(|e| Error::io(format!("reading {}", path.display()), e))?)
    } else if name.ends_with(".gz") {
        // Multi: a gzip file may hold several members, and all of them are the content.
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else if name.ends_with(".lz4") {
        Box::new(lz4_flex::frame::FrameDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Unpacks `archive` (`relative` in the backup directory) into `into`, hashing it as it is read.
fn unpack(archive: &Path, relative: &str, into: &Path, entries: &Entries) -> Result<()> {
    std::fs::create_dir_all(into).map_err(|e| Error::io(format!("creating {}", into.display()), e))?;
    let file = File::open(archive).map_err(|e| Error::io(format!("reading {}", archive.display()), e))?;
    let (ahead, producer) = read_ahead(file, relative.to_string());
    let mut tar = tar::Archive::new(ahead);
    tar.set_preserve_permissions(true);
    tar.unpack(into).map_err(|e| damaged(relative, &format!("cannot be unpacked ({e})")))?;
    // The rest of the stream (the tar's end blocks, the frame's end) is part of the file.
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink())
        .map_err(|e| damaged(relative, &format!("cannot be read to its end ({e})")))?;
    let hash = producer.join().unwrap_or_else(|_| Err(std::io::Error::other("the reading thread panicked")));
    check(entries, relative, &hash.map_err(|e| damaged(relative, &format!("cannot be read ({e})")))?)
}

/// Chunks of decompressed content, made ahead on a thread of their own.
type Chunks = std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>;

/// What a tar is read from: the chunks `read_ahead`'s thread sends.
struct Ahead {
    chunks: Chunks,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Ahead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => (self.chunk, self.at) = (chunk, 0),
                Ok(Err(e)) => return Err(e),
                // The thread sent everything and ended.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads, hashes and decompresses `file` on a thread of its own while the caller unpacks
/// what it sends: decompressing and writing files overlap (a base.tar.zst laid down in one
/// thread was slower than `pgbackrest restore --process-max=2`, bench/incident.sh). The
/// thread ends with the hash of the whole file; a caller that stops reading stops it.
fn read_ahead(file: File, relative: String) -> (Ahead, std::thread::JoinHandle<std::io::Result<String>>) {
    const CHUNK: usize = 1 << 20;
    let (tx, rx) = std::sync::mpsc::sync_channel(8);
    let producer = std::thread::spawn(move || {
        let mut hashing = Hashing::new(file);
        {
            let mut reader = decompressed(&mut hashing, &relative).map_err(|e| std::io::Error::other(e.message))?;
            loop {
                let mut chunk = vec![0u8; CHUNK];
                let mut filled = 0;
                while filled < CHUNK {
                    match reader.read(&mut chunk[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Err(std::io::Error::new(e.kind(), e.to_string())));
                            return Err(e);
                        }
                    }
                }
                if filled == 0 {
                    break;
                }
                chunk.truncate(filled);
                if tx.send(Ok(chunk)).is_err() {
                    return Err(std::io::Error::other("the unpacking stopped"));
                }
            }
        }
        drop(tx);
        hashing.finish()
    });
    (Ahead { chunks: rx, chunk: Vec::new(), at: 0 }, producer)
}

/// Copies `src` to `dst` (a new file) and gives the hash of what was copied.
fn copy_hashed(src: &Path, dst: &Path) -> std::io::Result<String> {
    let mut from = Hashing::new(File::open(src)?);
    let mut to = std::fs::OpenOptions::new().write(true).create_new(true).open(dst)?;
    std::io::copy(&mut from, &mut to)?;
    to.flush()?;
    let mode = std::fs::metadata(src)?.permissions();
    std::fs::set_permissions(dst, mode)?;
    from.finish()
}

/// Copies a directory tree: directories and links first, then the files on every core
/// (a data directory is thousands of files; one thread leaves the disk idle between them),
/// each checked against the manifest (`relative_root` is `from` in the backup directory).
fn copy_tree(from: &Path, to: &Path, relative_root: &str, entries: &Entries) -> Result<()> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src_dir, dst_dir)) = stack.pop() {
        std::fs::create_dir_all(&dst_dir).map_err(|e| Error::io(format!("creating {}", dst_dir.display()), e))?;
        for entry in std::fs::read_dir(&src_dir).map_err(|e| Error::io(format!("reading {}", src_dir.display()), e))? {
            let entry = entry.map_err(|e| Error::io(format!("reading {}", src_dir.display()), e))?;
            let (src, dst) = (entry.path(), dst_dir.join(entry.file_name()));
            let kind = entry.file_type().map_err(|e| Error::io(format!("reading {}", src.display()), e))?;
            if kind.is_dir() {
                stack.push((src, dst));
            } else if kind.is_symlink() {
                let target =
                    std::fs::read_link(&src).map_err(|e| Error::io(format!("reading {}", src.display()), e))?;
                std::os::unix::fs::symlink(target, &dst)
                    .map_err(|e| Error::io(format!("linking {}", dst.display()), e))?;
            } else {
                files.push((src, dst));
            }
        }
    }
    files.par_iter().try_for_each(|(src, dst)| {
        let hash = copy_hashed(src, dst).map_err(|e| Error::io(format!("copying {}", src.display()), e))?;
        let inside = src.strip_prefix(from).unwrap_or(src).to_string_lossy();
        check(entries, &format!("{relative_root}/{inside}"), &hash)
    })?;
    // What the manifest lists that the copy did not meet is missing (a tablespace's files,
    // behind a link the copy keeps as a link, are not met).
    let prefix = format!("{relative_root}/");
    let copied: std::collections::HashSet<String> = files
        .iter()
        .map(|(src, _)| format!("{prefix}{}", src.strip_prefix(from).unwrap_or(src).to_string_lossy()))
        .collect();
    let expected = |p: &&&str| p.starts_with(&prefix) && !p.contains("/pg_tblspc/");
    match entries.keys().filter(expected).find(|p| !copied.contains(**p)) {
        Some(missing) => Err(damaged(missing, "is missing")),
        None => Ok(()),
    }
}

/// Where a laid-down data directory's tablespaces go: `<dest>.tablespaces/<oid>`.
pub fn tablespace_root(dest: &Path) -> std::path::PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".tablespaces");
    dest.with_file_name(name)
}

/// Lays the base backup in `backup_dir` (described by `manifest`) down at `dest`, mode 0700.
pub fn lay_down(backup_dir: &Path, manifest: &Manifest, dest: &Path) -> Result<()> {
    let physical = manifest.physical.as_ref().ok_or_else(|| {
        Error::invalid_input(format!("backup {} is not a base backup", manifest.id), "Choose a base backup.")
    })?;
    if dest.exists() {
        return Err(Error::invalid_input(
            format!("{} exists; a backup is only laid down into a new directory", dest.display()),
            "Choose a directory that does not exist yet.",
        ));
    }
    let src = backup_dir.join(DATA_DIR);
    let entries: Entries = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    match physical.format {
        BaseFormat::Plain => copy_tree(&src, dest, DATA_DIR, &entries)?,
        BaseFormat::Tar => {
            let mut tars: Vec<_> = std::fs::read_dir(&src)
                .map_err(|e| Error::io(format!("reading {}", src.display()), e))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".tar")))
                .collect();
            tars.sort();
            let mut tablespaces = Vec::new();
            let mut jobs = Vec::new();
            for tar in tars {
                let name = tar.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                let into = if name.starts_with("base.tar") {
                    dest.to_path_buf()
                } else if name.starts_with("pg_wal.tar") {
                    dest.join("pg_wal")
                } else {
                    // A tablespace (<oid>.tar): beside the data directory, never at the
                    // source's own tablespace path; its pg_tblspc link is pointed there below.
                    let oid = name.split('.').next().unwrap_or_default().to_string();
                    tablespaces.push(oid.clone());
                    tablespace_root(dest).join(oid)
                };
                jobs.push((tar, format!("{DATA_DIR}/{name}"), into));
            }
            let unpacked: Vec<&str> = jobs.iter().map(|(_, relative, _)| relative.as_str()).collect();
            let tar_entry = |p: &&&str| p.starts_with(&format!("{DATA_DIR}/")) && p.contains(".tar");
            if let Some(missing) = entries.keys().filter(tar_entry).find(|p| !unpacked.contains(p)) {
                return Err(damaged(missing, "is missing"));
            }
            // Each archive (base, WAL, every tablespace) decompresses on its own core.
            use rayon::prelude::*;
            jobs.par_iter().try_for_each(|(tar, relative, into)| unpack(tar, relative, into, &entries))?;
            // What is not unpacked (pg's own backup_manifest) is checked too: damage anywhere
            // in a backup means its disk is failing, and the backup is not used as if whole.
            let rest: Vec<_> = manifest
                .files
                .iter()
                .filter(|f| f.path.starts_with(&format!("{DATA_DIR}/")) && !unpacked.contains(&f.path.as_str()))
                .cloned()
                .collect();
            if let Some(problem) = crate::repo::checksum::damaged(backup_dir, &rest).first() {
                return Err(Error::new(
                    ErrorCode::ChecksumMismatch,
                    format!("{problem} in the base backup; nothing was started from it"),
                    "The backup is damaged: choose another with --from-backup (`tideline backups list`), run `tideline verify ID`, and check the disk the repository is on.",
                ));
            }
            for oid in tablespaces {
                let link = dest.join("pg_tblspc").join(&oid);
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(tablespace_root(dest).join(&oid), &link)
                    .map_err(|e| Error::io(format!("linking {}", link.display()), e))?;
            }
            std::fs::create_dir_all(dest.join("pg_wal")).map_err(|e| Error::io("creating pg_wal", e))?;
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("restricting {}", dest.display()), e))
}

//! The WAL archive of one cluster in the repository: `<repo>/clusters/<sysid>/wal/<name>.zst`.
//!
//! Safety ordering of a push: the compressed file is written under a temporary name in the same
//! directory and fsynced; then hard-linked to its final name (a link never replaces an existing
//! file, so two pushes of one name cannot clobber each other); then the directory is fsynced
//! and the temporary name removed. A crash at any point leaves either no `<name>.zst` or a
//! whole one. Only then does wal-push exit 0, which is when PostgreSQL may recycle the segment.

use super::file_names::{classify, WalFileKind};
use crate::error::{Error, ErrorCode, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// zstd level for WAL: 1 compresses a 16 MB segment at several hundred MB/s on one core, and
/// archive_command must keep up with the server's WAL rate.
const LEVEL: i32 = 1;
const TEMP_PREFIX: &str = super::temp_files::PREFIX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Stored,
    /// The same name with the same content was already there (PostgreSQL retries a push whose
    /// success it did not see; the contract says to succeed).
    AlreadyArchived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchOutcome {
    Restored,
    /// Served from the `.partial` pg_receivewal was writing: the newest WAL there is.
    RestoredPartial,
    Missing,
}

#[derive(Debug, Clone)]
pub struct WalArchive {
    dir: PathBuf,
}

pub fn cluster_dir(repo: &Path, system_identifier: u64) -> PathBuf {
    repo.join("clusters").join(system_identifier.to_string())
}

fn sync_dir(dir: &Path) -> Result<()> {
    crate::repo::sync_dir(dir)
}

impl WalArchive {
    pub fn open(repo: &Path, system_identifier: u64) -> Self {
        WalArchive { dir: cluster_dir(repo, system_identifier).join("wal") }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.zst"))
    }

    fn ensure_dir(&self) -> Result<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        crate::home::ensure_passable_dir(&self.dir)?;
        // The new directories must survive a crash too, or the file inside them would not.
        for dir in self.dir.ancestors().take(3) {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Stores `content` as `name`: see the module comment for the ordering.
    pub fn push(&self, name: &str, content: &[u8]) -> Result<PushOutcome> {
        classify(name)?;
        // First, so a push that finds its segment archived still clears what a killed one left.
        super::temp_files::remove_abandoned(&self.dir);
        let target = self.path_of(name);
        if let Some(outcome) = self.compare_existing(name, &target, content)? {
            return Ok(outcome);
        }
        self.ensure_dir()?;
        // Removed when dropped: after the link, on a failed write, and on a cancel.
        let tmp = write_compressed(&self.dir, name, content)?;
        let linked = std::fs::hard_link(tmp.path(), &target);
        drop(tmp);
        match linked {
            Ok(()) => {}
            // Another push of the same name won the race: it is the one to compare against.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return self
                    .compare_existing(name, &target, content)?
                    .ok_or_else(|| Error::internal(format!("{} vanished while being compared", target.display())));
            }
            Err(e) => return Err(Error::io(format!("storing {}", target.display()), e)),
        }
        sync_dir(&self.dir)?;
        Ok(PushOutcome::Stored)
    }

    fn compare_existing(&self, name: &str, target: &Path, content: &[u8]) -> Result<Option<PushOutcome>> {
        if !target.exists() {
            return Ok(None);
        }
        let existing = read_compressed(target);
        match existing {
            Ok(existing) if existing == content => Ok(Some(PushOutcome::AlreadyArchived)),
            Ok(_) => Err(Error::new(
                ErrorCode::WalConflict,
                format!("{name} is already in the archive at {} with different content; nothing was overwritten", target.display()),
                "Two servers are archiving into one place, or a restored copy of this cluster was started without a new timeline. Keep both copies, stop the second server's archiving, and check which one is the real cluster before removing anything.",
            )),
            Err(e) => Err(Error::new(
                ErrorCode::WalConflict,
                format!("{name} is already in the archive at {} but cannot be read back: {}", target.display(), e.message),
                "The archived copy is damaged. Move it aside (do not delete it) so the server can archive its copy again, and check the disk.",
            )),
        }
    }

    /// Stores (or replaces) the `.partial` segment pg_receivewal is writing: unlike a finished
    /// segment it grows, so the newer copy replaces the older — written whole under a
    /// temporary name, fsynced, then renamed over it.
    pub fn store_partial(&self, name: &str, content: &[u8]) -> Result<()> {
        if classify(name)? != WalFileKind::Partial {
            return Err(Error::internal(format!("{name} is not a .partial segment")));
        }
        self.ensure_dir()?;
        super::temp_files::remove_abandoned(&self.dir);
        let tmp = write_compressed(&self.dir, name, content)?;
        let target = self.path_of(name);
        tmp.persist(&target).map_err(|e| Error::io(format!("storing {}", target.display()), e.error))?;
        sync_dir(&self.dir)
    }

    /// Drops the `.partial` of a segment once the whole segment is stored.
    pub fn remove_partial(&self, segment: &str) -> Result<()> {
        let path = self.path_of(&format!("{segment}.partial"));
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
        }
    }

    /// Writes `name` to `dest` for restore_command. A segment that only exists as the
    /// `.partial` pg_receivewal kept is served from that.
    pub fn fetch(&self, name: &str, dest: &Path) -> Result<FetchOutcome> {
        let kind = classify(name)?;
        let mut outcome = FetchOutcome::Restored;
        let mut source = self.path_of(name);
        if !source.exists() && kind == WalFileKind::Segment {
            source = self.path_of(&format!("{name}.partial"));
            outcome = FetchOutcome::RestoredPartial;
        }
        if !source.exists() {
            return Ok(FetchOutcome::Missing);
        }
        // Streamed, not read whole first: a segment grown in a Vec was copied over and over,
        // and restore_command runs once per segment of a recovery (bench/incident.sh).
        let written = decompress_into(&source, dest);
        if written.is_err() {
            // PostgreSQL stops on the error; no half-written file is left for anything else.
            let _ = std::fs::remove_file(dest);
        }
        written.map(|_| outcome)
    }

    /// The names held (without `.zst`), sorted; temporary files of pushes in flight are not.
    /// The segment size, from the first stored segment's long header (16 MB when none is).
    pub fn segment_bytes(&self, names: &[String]) -> u64 {
        names
            .iter()
            .find(|n| n.len() == 24)
            .and_then(|n| read_compressed(&self.path_of(n)).ok())
            .and_then(|b| super::control::segment_header(&b).ok())
            .map(|h| h.segment_bytes as u64)
            .unwrap_or(16 << 20)
    }

    pub fn names(&self) -> Result<Vec<String>> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Ok(vec![]) };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !n.starts_with(TEMP_PREFIX))
            .filter_map(|n| n.strip_suffix(".zst").map(str::to_string))
            .filter(|n| classify(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// `content` compressed into a new temporary file in `dir`, fsynced.
fn write_compressed(dir: &Path, name: &str, content: &[u8]) -> Result<tempfile::NamedTempFile> {
    let tmp = super::temp_files::create(dir, name)?;
    let io = |e| Error::io(format!("writing {}", tmp.path().display()), e);
    let mut encoder = zstd::stream::Encoder::new(tmp.as_file(), LEVEL).map_err(io)?;
    encoder.include_checksum(true).map_err(io)?;
    encoder.set_pledged_src_size(Some(content.len() as u64)).map_err(io)?;
    encoder.write_all(content).map_err(io)?;
    encoder.finish().map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    Ok(tmp)
}

/// The most an archived file may hold: the largest WAL segment PostgreSQL allows (1 GiB).
/// A file that decompresses to more is not ours (a zstd bomb would fill memory).
const MAX_CONTENT: u64 = 1 << 30;

/// Decompresses `path` into a new file `dest`, bounded like [`read_compressed`]: a frame that
/// does not decode, or content that is not what its `.b3` records, is a damaged file; failing
/// to write is the destination's fault.
fn decompress_into(path: &Path, dest: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut decoder = zstd::stream::Decoder::new(file).map_err(|e| damaged(path, &e))?;
    let mut out = File::create(dest).map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    let recorded = recorded_digest(path);
    let mut hasher = recorded.as_ref().map(|_| blake3::Hasher::new());
    loop {
        let n = decoder.read(&mut buf).map_err(|e| damaged(path, &e))?;
        if n == 0 {
            return match (recorded, hasher) {
                (Some(recorded), Some(hasher)) => matches(path, &recorded, hasher.finalize()),
                _ => Ok(()),
            };
        }
        total += n as u64;
        if total > MAX_CONTENT {
            return Err(damaged(path, &std::io::Error::other("it holds more than any WAL file can")));
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&buf[..n]);
        }
        out.write_all(&buf[..n]).map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
    }
}

/// A file brought from a bucket has its BLAKE3 beside it (`<name>.b3`, as wal-push stored it)
/// and, compressed there without zstd's content checksum, no other check. A file archived
/// here has none, and its frame's checksum.
fn recorded_digest(path: &Path) -> Option<Vec<u8>> {
    let sidecar = format!("{}.b3", path.to_str()?.strip_suffix(".zst")?);
    std::fs::read(sidecar).ok().map(|b| b.trim_ascii().to_vec())
}

fn matches(path: &Path, recorded: &[u8], digest: blake3::Hash) -> Result<()> {
    if recorded == digest.to_hex().as_bytes() {
        return Ok(());
    }
    let why = "its content is not what was archived (its BLAKE3 differs from its .b3)";
    Err(damaged(path, &std::io::Error::other(why)))
}

fn damaged(path: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::ChecksumMismatch,
        format!("{} is damaged: {e}", path.display()),
        "The archive holds a damaged copy of this file; recovery cannot use it. Check the disk, and make a new base backup.",
    )
}

/// The content of an archived file; a damaged frame (zstd's content checksum or the `.b3`
/// beside it), or content larger than any WAL segment, is an error.
pub fn read_compressed(path: &Path) -> Result<Vec<u8>> {
    let content = read_bounded(path, MAX_CONTENT)?;
    match recorded_digest(path) {
        Some(recorded) => matches(path, &recorded, blake3::hash(&content)).map(|()| content),
        None => Ok(content),
    }
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut out = Vec::new();
    let read = zstd::stream::Decoder::new(file).and_then(|d| d.take(max + 1).read_to_end(&mut out));
    let read = read.and_then(|n| match n as u64 > max {
        true => Err(std::io::Error::other("it holds more than any WAL file can")),
        false => Ok(n),
    });
    read.map_err(|e| damaged(path, &e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEG: &str = "000000010000000000000003";

    #[test]
    fn a_file_that_decompresses_past_the_bound_is_refused_not_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let bomb = dir.path().join("bomb.zst");
        std::fs::write(&bomb, zstd::encode_all(&vec![0u8; 4096][..], 19).unwrap()).unwrap();
        assert_eq!(read_bounded(&bomb, 4096).unwrap().len(), 4096);
        let e = read_bounded(&bomb, 1000).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChecksumMismatch, "{}", e.message);
        assert!(e.message.contains("more than any WAL file"), "{}", e.message);
    }

    #[test]
    fn the_same_file_twice_is_fine_and_a_different_one_is_refused() {
        let repo = tempfile::tempdir().unwrap();
        let wal = WalArchive::open(repo.path(), 42);
        assert_eq!(wal.push(SEG, b"one").unwrap(), PushOutcome::Stored);
        assert_eq!(wal.push(SEG, b"one").unwrap(), PushOutcome::AlreadyArchived);
        let e = wal.push(SEG, b"two").unwrap_err();
        assert_eq!(e.code, ErrorCode::WalConflict);
        assert_eq!(read_compressed(&wal.path_of(SEG)).unwrap(), b"one");
        assert_eq!(wal.names().unwrap(), vec![SEG.to_string()]);
        assert!(repo.path().join("clusters/42/wal").join(format!("{SEG}.zst")).is_file());
    }

    #[test]
    fn a_temporary_file_left_by_a_crash_is_invisible() {
        let repo = tempfile::tempdir().unwrap();
        let wal = WalArchive::open(repo.path(), 42);
        wal.push("00000002.history", b"1\t0/3000000\tno recovery target specified\n").unwrap();
        // What a push killed between write and link leaves behind.
        std::fs::write(wal.dir().join(format!("{TEMP_PREFIX}{SEG}.999")), b"half").unwrap();
        assert_eq!(wal.names().unwrap(), vec!["00000002.history".to_string()]);
        let dest = repo.path().join("out");
        assert_eq!(wal.fetch(SEG, &dest).unwrap(), FetchOutcome::Missing);
        assert!(!dest.exists());
        assert_eq!(wal.push(SEG, b"whole").unwrap(), PushOutcome::Stored);
        assert_eq!(wal.fetch(SEG, &dest).unwrap(), FetchOutcome::Restored);
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_missing_one() {
        let repo = tempfile::tempdir().unwrap();
        let wal = WalArchive::open(repo.path(), 1);
        wal.push(SEG, &vec![7u8; 100_000]).unwrap();
        let path = wal.path_of(SEG);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF; // the content checksum
        std::fs::write(&path, bytes).unwrap();
        let e = wal.fetch(SEG, &repo.path().join("out")).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChecksumMismatch);
    }

    #[test]
    fn a_file_from_a_bucket_is_held_to_its_recorded_blake3() {
        let repo = tempfile::tempdir().unwrap();
        let wal = WalArchive::open(repo.path(), 1);
        // As a bucket stores it: one zstd frame without a content checksum, its BLAKE3 beside.
        std::fs::create_dir_all(wal.dir()).unwrap();
        std::fs::write(wal.path_of(SEG), zstd::bulk::compress(b"archived", 1).unwrap()).unwrap();
        let sidecar = wal.dir().join(format!("{SEG}.b3"));
        std::fs::write(&sidecar, blake3::hash(b"archived").to_hex().as_bytes()).unwrap();
        let dest = repo.path().join("out");
        assert_eq!(wal.fetch(SEG, &dest).unwrap(), FetchOutcome::Restored);
        assert_eq!(read_compressed(&wal.path_of(SEG)).unwrap(), b"archived");
        // Rot that still decodes: only the recorded BLAKE3 tells.
        std::fs::write(wal.path_of(SEG), zstd::bulk::compress(b"archiveD", 1).unwrap()).unwrap();
        let e = wal.fetch(SEG, &dest).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChecksumMismatch, "{}", e.message);
        assert!(!dest.exists(), "no half-checked file is left for the server");
        assert_eq!(read_compressed(&wal.path_of(SEG)).unwrap_err().code, ErrorCode::ChecksumMismatch);
    }

    #[test]
    fn a_partial_segment_answers_for_its_segment() {
        let repo = tempfile::tempdir().unwrap();
        let wal = WalArchive::open(repo.path(), 1);
        wal.push(&format!("{SEG}.partial"), b"newest").unwrap();
        let dest = repo.path().join("out");
        assert_eq!(wal.fetch(SEG, &dest).unwrap(), FetchOutcome::RestoredPartial);
        assert_eq!(std::fs::read(&dest).unwrap(), b"newest");
        assert!(wal.push("not-a-wal-name", b"x").is_err());
    }
}

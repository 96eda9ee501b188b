//! Checksums taken while the backup is still being written, so that its end does not wait for
//! the files to be read back. A parallel pg_dump names each table's data file when it has
//! finished it ("finished item"), and writes every data file from start to end without going
//! back: the bytes written so far can be hashed as they land, and once the file is named only
//! its last few hundred kilobytes are left. Reading the last table back after pg_dump exited
//! cost 60–90 ms of a 3.3 s backup (docs/benchmarks.md).

use super::checksum::{blake3_file, Hashed, Prehashed};
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often files still being written are read up to their current end: at most this long
/// of a dump's output is left to read when the file is named finished.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);

/// At most this many files followed at once (each holds a file handle). pg_dump writes one
/// per job; the rest are files finished but not yet named (its log is read every 250 ms),
/// which a dump of many small tables makes plenty of, and which are hashed when named.
const FOLLOW_AT_MOST: usize = 16;

/// Files hashed and fsynced on one background thread: those named finished (pg_dump's
/// "finished item") at once, and, with a directory to follow, those still growing in it as
/// they grow. The inventory re-hashes any file whose size or time changed since.
pub struct EarlyHashes {
    queue: Option<mpsc::Sender<PathBuf>>,
    worker: Option<std::thread::JoinHandle<HashMap<PathBuf, Hashed>>>,
}

impl EarlyHashes {
    /// `follow`: a directory whose data files (`<digits>.dat…`, pg_dump's directory format)
    /// are written only by appending, and will each be named with [`EarlyHashes::add`] when
    /// finished. Other files in it are left alone.
    pub fn start(follow: Option<PathBuf>) -> Self {
        let (queue, paths) = mpsc::channel::<PathBuf>();
        let worker = std::thread::spawn(move || {
            let mut done = HashMap::new();
            let mut growing: HashMap<PathBuf, Following> = HashMap::new();
            let mut buf = vec![0u8; 256 << 10];
            let mut caught_up = Instant::now();
            loop {
                // By the clock, not by quiet spells: many small tables finishing in a row must
                // not keep a big one from being followed.
                match paths.recv_timeout(FOLLOW_EVERY.saturating_sub(caught_up.elapsed())) {
                    Ok(path) => {
                        if let Some(hashed) = finish(&path, growing.remove(&path), &mut buf) {
                            done.insert(path, hashed);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if caught_up.elapsed() >= FOLLOW_EVERY {
                    if let Some(dir) = &follow {
                        catch_up(dir, &mut growing, &done, &mut buf);
                    }
                    caught_up = Instant::now();
                }
            }
            done
        });
        EarlyHashes { queue: Some(queue), worker: Some(worker) }
    }

    /// Queues a finished file; a path that does not exist is skipped.
    pub fn add(&self, path: PathBuf) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(path);
        }
    }

    /// Waits for the queued files and returns what was hashed (files followed but never named
    /// finished are left to the inventory).
    pub fn finish(mut self) -> Prehashed {
        drop(self.queue.take());
        let done = self.worker.take().and_then(|w| w.join().ok()).unwrap_or_default();
        let early: u64 = done.values().map(|h| h.read_early).sum();
        tracing::info!(files = done.len(), bytes_read_while_written = early, "checksums taken during the run");
        Prehashed(done)
    }
}

/// A file being hashed as it is written: the bytes up to `read` are in `hasher`.
struct Following {
    file: File,
    hasher: blake3::Hasher,
    read: u64,
}

impl Following {
    fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Following { file: File::open(path)?, hasher: blake3::Hasher::new(), read: 0 })
    }

    /// Hashes what has been appended since the last call, up to the file's current end.
    fn read_to_end(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        loop {
            let n = self.file.read(buf)?;
            if n == 0 {
                return Ok(());
            }
            self.hasher.update(&buf[..n]);
            self.read += n as u64;
        }
    }
}

fn is_followed_data_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with(|c: char| c.is_ascii_digit()) && name.contains(".dat")
}

/// Reads every growing data file in `dir` up to its current end.
fn catch_up(dir: &Path, growing: &mut HashMap<PathBuf, Following>, done: &HashMap<PathBuf, Hashed>, buf: &mut [u8]) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.flatten().map(|e| e.path()) {
        if !is_followed_data_file(&path) || done.contains_key(&path) {
            continue;
        }
        if !growing.contains_key(&path) {
            if growing.len() >= FOLLOW_AT_MOST {
                continue;
            }
            let Ok(following) = Following::open(&path) else { continue };
            growing.insert(path.clone(), following);
        }
        if growing.get_mut(&path).is_some_and(|f| f.read_to_end(buf).is_err()) {
            // Read again from the start when it is named finished.
            growing.remove(&path);
        }
    }
}

/// The checksum of a file its writer has closed, reading only what `following` has not, and
/// the fsync the commit would do anyway, done while the disk has time.
fn finish(path: &Path, following: Option<Following>, buf: &mut [u8]) -> Option<Hashed> {
    // Size and time before the last read: a write after it shows in the inventory's check.
    let before = std::fs::metadata(path).ok()?;
    let (blake3, read_early) = match following {
        Some(mut f) => {
            let early = f.read;
            f.read_to_end(buf).ok()?;
            // All of it, and the file at that path (not one put in its place).
            if f.read != before.len() || !same_file(&f.file, &before) {
                return None;
            }
            let _ = f.file.sync_all();
            (f.hasher.finalize().to_hex().to_string(), early)
        }
        None => {
            let blake3 = blake3_file(path).ok()?;
            let _ = File::open(path).and_then(|f| f.sync_all());
            (blake3, 0)
        }
    };
    Some(Hashed { blake3, size: before.len(), modified: before.modified().ok(), read_early })
}

#[cfg(unix)]
fn same_file(open: &File, at_path: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    open.metadata().is_ok_and(|m| m.dev() == at_path.dev() && m.ino() == at_path.ino())
}

#[cfg(not(unix))]
fn same_file(_open: &File, _at_path: &std::fs::Metadata) -> bool {
    // Windows does not let a file held open be replaced.
    true
}

#[cfg(test)]
mod tests {
    use super::EarlyHashes;
    use crate::repo::checksum::inventory_with;
    use std::io::Write;

    // BLAKE3 of "abc" and of "abcd" (as the reference implementation and `b3sum` give them).
    const ABC: &str = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";
    const ABCD: &str = "8c9c9881805d1a847102d7a42e58b990d088dd88a84f7314d71c838107571f2b";

    #[test]
    fn early_hashes_are_used_only_for_files_unchanged_since() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"abc").unwrap();
        std::fs::write(&b, b"abc").unwrap();
        let early = EarlyHashes::start(None);
        early.add(a.clone());
        early.add(b.clone());
        early.add(dir.path().join("gone"));
        let mut done = early.finish();
        assert_eq!(done.0.len(), 2);
        assert_eq!(done.0[&a].blake3, ABC);
        // A planted hash for the unchanged file proves the early result is taken as is …
        done.0.get_mut(&a).unwrap().blake3 = "early".into();
        // … and a file changed since it was hashed is hashed again.
        std::fs::write(&b, b"abcd").unwrap();
        let files = inventory_with(dir.path(), &[], done).unwrap();
        assert_eq!(files[0].blake3.as_deref(), Some("early"));
        assert_eq!(files[1].blake3.as_deref(), Some(ABCD));
    }

    #[test]
    fn files_followed_while_written_hash_as_a_whole() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("2599.dat.zst");
        let other = dir.path().join("toc.dat");
        let early = EarlyHashes::start(Some(dir.path().to_path_buf()));
        let mut file = std::fs::File::create(&data).unwrap();
        let mut whole = Vec::new();
        // Written in pieces, with time between them for the follower to read each.
        for piece in 0..6u8 {
            let chunk: Vec<u8> = (0..100_000u32).map(|i| (i as u8).wrapping_mul(piece + 1)).collect();
            file.write_all(&chunk).unwrap();
            whole.extend_from_slice(&chunk);
            std::thread::sleep(super::FOLLOW_EVERY + std::time::Duration::from_millis(20));
        }
        file.write_all(b"end").unwrap();
        whole.extend_from_slice(b"end");
        drop(file);
        std::fs::write(&other, b"abc").unwrap();
        early.add(data.clone());
        let done = early.finish();
        assert_eq!(done.0[&data].blake3, blake3::hash(&whole).to_hex().to_string());
        assert_eq!(done.0[&data].size, whole.len() as u64);
        // Read while it grew, not only once named.
        assert!(done.0[&data].read_early >= 500_000, "{}", done.0[&data].read_early);
        // Not a data file, never named finished: left to the inventory.
        assert!(!done.0.contains_key(&other));
        let files = inventory_with(dir.path(), &[], done).unwrap();
        assert_eq!(files[1].path, "toc.dat");
        assert_eq!(files[1].blake3.as_deref(), Some(ABC));
    }

    #[test]
    fn a_followed_file_replaced_before_it_is_named_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("8.dat");
        std::fs::write(&data, b"xyz").unwrap();
        let early = EarlyHashes::start(Some(dir.path().to_path_buf()));
        std::thread::sleep(super::FOLLOW_EVERY * 3);
        // Another file put in its place, as long as what was read.
        let new = dir.path().join("new");
        std::fs::write(&new, b"abc").unwrap();
        std::fs::rename(&new, &data).unwrap();
        early.add(data.clone());
        let done = early.finish();
        assert!(!done.0.contains_key(&data));
        let files = inventory_with(dir.path(), &[], done).unwrap();
        assert_eq!(files[0].blake3.as_deref(), Some(ABC));
    }

    #[test]
    fn a_followed_file_cut_short_before_it_is_named_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("7.dat");
        std::fs::write(&data, b"abcdef").unwrap();
        let early = EarlyHashes::start(Some(dir.path().to_path_buf()));
        std::thread::sleep(super::FOLLOW_EVERY * 3);
        // Shorter than what was read: the followed hash no longer describes it.
        std::fs::write(&data, b"abcd").unwrap();
        early.add(data.clone());
        let done = early.finish();
        assert!(!done.0.contains_key(&data));
        let files = inventory_with(dir.path(), &[], done).unwrap();
        assert_eq!(files[0].blake3.as_deref(), Some(ABCD));
    }
}

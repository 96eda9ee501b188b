//! Where a restarted pg_receivewal begins. It begins at the newest segment in its directory;
//! with none there (the supervisor moved the last finished one into the repository, and
//! pg_receivewal was stopped before it opened the next), a server of 15 or later tells it where
//! the slot stands (READ_REPLICATION_SLOT), but a 13 or 14 server cannot, and pg_receivewal
//! begins at the server's current position — silently skipping every segment since the last one
//! stored: a gap in the repository. For those servers the directory is given an empty,
//! full-size `.partial` of the segment after the newest stored one, which pg_receivewal resumes
//! from its start (overwriting it), as it resumes its own.

use super::archive::WalArchive;
use super::names::{classify, segment, WalFileKind};
use std::path::Path;

/// The `.partial` to place in `dir` before pg_receivewal starts, if one is needed: the server
/// is older than 15, `dir` holds no segment, the repository holds some, and the slot still
/// reaches back to the next one (`restart_lsn`, when the slot has one) — past that, the server
/// has removed it, and the gap is real and shown as such.
pub(crate) fn resume_partial(
    dir: &Path,
    archive: &WalArchive,
    server_major: u32,
    restart_lsn: Option<u64>,
    segment_bytes: u64,
) -> Option<String> {
    if server_major >= 15 {
        return None;
    }
    let streaming =
        std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
            matches!(classify(&e.file_name().to_string_lossy()), Ok(WalFileKind::Segment | WalFileKind::Partial))
        });
    if streaming {
        return None;
    }
    let names = archive.names().ok()?;
    let newest = names
        .iter()
        .filter(|n| classify(n).ok() == Some(WalFileKind::Segment))
        .filter_map(|n| segment(n, segment_bytes))
        .max()?;
    let next = super::names::SegmentName { number: newest.number + 1, ..newest };
    if restart_lsn.is_some_and(|lsn| lsn >= next.start_lsn(segment_bytes) + segment_bytes) {
        return None;
    }
    Some(format!("{}.partial", next.file_name(segment_bytes)))
}

/// Makes `name` in `dir`: all zeros, `segment_bytes` long (sparse), as pg_receivewal pads its own.
pub(crate) fn place_partial(dir: &Path, name: &str, segment_bytes: u64) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).create_new(true).open(dir.join(name))?;
    f.set_len(segment_bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEG: u64 = 16 << 20;

    fn archive_with(names: &[&str]) -> (tempfile::TempDir, WalArchive) {
        let repo = tempfile::tempdir().unwrap();
        let archive = WalArchive::open(repo.path(), 7);
        for n in names {
            archive.push(n, &[0u8; 64]).unwrap();
        }
        (repo, archive)
    }

    #[test]
    fn a_13_or_14_server_resumes_after_the_newest_stored_segment() {
        let (_repo, archive) = archive_with(&["000000010000000000000066", "000000010000000000000065"]);
        let dir = tempfile::tempdir().unwrap();
        let next = resume_partial(dir.path(), &archive, 14, Some(0x6700_0010), SEG);
        assert_eq!(next.as_deref(), Some("000000010000000000000067.partial"));
        place_partial(dir.path(), next.as_deref().unwrap(), SEG).unwrap();
        assert_eq!(std::fs::metadata(dir.path().join(next.unwrap())).unwrap().len(), SEG);
        // pg_receivewal's own file is there now: nothing more to place.
        assert_eq!(resume_partial(dir.path(), &archive, 14, Some(0x6700_0010), SEG), None);
    }

    #[test]
    fn nothing_is_placed_where_it_is_not_needed_or_the_server_has_moved_on() {
        let (_repo, archive) = archive_with(&["000000010000000000000066"]);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resume_partial(dir.path(), &archive, 15, None, SEG), None, "15 reads the slot itself");
        // The slot has moved past segment 67: the server no longer holds it.
        assert_eq!(resume_partial(dir.path(), &archive, 13, Some(0x6800_0000), SEG), None);
        let (_empty_repo, empty) = archive_with(&[]);
        assert_eq!(resume_partial(dir.path(), &empty, 13, None, SEG), None, "a first start needs no point");
    }
}

//! Where a restarted pg_receivewal begins. It begins at the newest segment in its directory;
//! with none there (the supervisor moved the last finished one into the repository, and
//! pg_receivewal was stopped before it opened the next), a server of 15 or later tells it where
//! the slot stands (READ_REPLICATION_SLOT), but a 13 or 14 server cannot, and pg_receivewal
//! begins at the server's current position — silently skipping every segment since the last one
//! stored, or, on a first start, every segment since the slot was made: a gap in the repository.
//! For those servers the directory is given an empty, full-size `.partial` of the segment to
//! begin with, which pg_receivewal resumes from its start (overwriting it), as it resumes its own.

use super::archive::WalArchive;
use super::file_names::{classify, segment, SegmentName, WalFileKind};
use std::path::Path;

/// Where the profile's slot stands on the server: the oldest WAL it still holds for us
/// (`restart_lsn`, when it has one) and the server's timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotPosition {
    pub restart_lsn: Option<u64>,
    pub timeline: u32,
}

/// The `.partial` to place in `dir` before pg_receivewal starts, if one is needed: the server
/// is older than 15 and `dir` holds no segment. It begins after the newest stored segment, or
/// where the slot stands when that is later (the server removed what lies between: a gap the
/// recovery window shows) or nothing is stored yet — as pg_receivewal 15+ begins.
pub(crate) fn resume_partial(
    dir: &Path,
    archive: &WalArchive,
    server_major: u32,
    slot: SlotPosition,
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
    let after_stored = names
        .iter()
        .filter(|n| classify(n).ok() == Some(WalFileKind::Segment))
        .filter_map(|n| segment(n, segment_bytes))
        .max()
        .map(|newest| SegmentName { number: newest.number + 1, ..newest });
    let held = slot.restart_lsn.map(|lsn| SegmentName { timeline: slot.timeline, number: lsn / segment_bytes });
    let begin = match (after_stored, held) {
        (Some(next), Some(held)) if held.number > next.number => held,
        (Some(next), _) => next,
        (None, held) => held?,
    };
    Some(format!("{}.partial", begin.file_name(segment_bytes)))
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

    fn at(restart_lsn: Option<u64>) -> SlotPosition {
        SlotPosition { restart_lsn, timeline: 1 }
    }

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
        let next = resume_partial(dir.path(), &archive, 14, at(Some(0x6700_0010)), SEG);
        assert_eq!(next.as_deref(), Some("000000010000000000000067.partial"));
        place_partial(dir.path(), next.as_deref().unwrap(), SEG).unwrap();
        assert_eq!(std::fs::metadata(dir.path().join(next.unwrap())).unwrap().len(), SEG);
        // pg_receivewal's own file is there now: nothing more to place.
        assert_eq!(resume_partial(dir.path(), &archive, 14, at(Some(0x6700_0010)), SEG), None);
    }

    #[test]
    fn nothing_is_placed_where_it_is_not_needed() {
        let (_repo, archive) = archive_with(&["000000010000000000000066"]);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resume_partial(dir.path(), &archive, 15, at(None), SEG), None, "15 reads the slot itself");
        let (_empty_repo, empty) = archive_with(&[]);
        assert_eq!(resume_partial(dir.path(), &empty, 13, at(None), SEG), None, "no slot position, nothing stored");
    }

    #[test]
    fn a_slot_past_the_stored_segments_or_a_first_start_begins_where_the_slot_stands() {
        let (_repo, archive) = archive_with(&["000000010000000000000066"]);
        let dir = tempfile::tempdir().unwrap();
        // The server removed 67 and 68; 69 is the oldest it still holds for the slot.
        let next = resume_partial(dir.path(), &archive, 13, at(Some(0x6900_0028)), SEG);
        assert_eq!(next.as_deref(), Some("000000010000000000000069.partial"));
        // Nothing stored yet: the slot's segment, not the server's current one.
        let (_empty_repo, empty) = archive_with(&[]);
        let first = resume_partial(dir.path(), &empty, 14, at(Some(0x0100_1f20)), SEG);
        assert_eq!(first.as_deref(), Some("000000010000000000000001.partial"));
        let promoted = SlotPosition { restart_lsn: Some(0x0300_0000), timeline: 2 };
        let first = resume_partial(dir.path(), &empty, 14, promoted, SEG);
        assert_eq!(first.as_deref(), Some("000000020000000000000003.partial"));
    }
}

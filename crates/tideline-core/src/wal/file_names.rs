//! The names of the files PostgreSQL archives: segments (`000000010000000A000000FF`), timeline
//! history files (`00000002.history`), backup history files (`…000000FF.00000028.backup`), and
//! the segment pg_receivewal is still writing (`….partial`).

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalFileKind {
    Segment,
    Partial,
    History,
    BackupHistory,
}

/// A segment's place: its timeline and its number counted from the start of WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegmentName {
    pub timeline: u32,
    /// `log * segments_per_xlog_id + seg`: consecutive segments differ by one.
    pub number: u64,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// What kind of archived file `name` is; anything else (a path, a temporary name) is refused,
/// so nothing but PostgreSQL's own names ever becomes a file in the repository.
pub fn classify(name: &str) -> Result<WalFileKind> {
    let kind = if is_hex(name, 24) {
        Some(WalFileKind::Segment)
    } else if let Some(seg) = name.strip_suffix(".partial") {
        is_hex(seg, 24).then_some(WalFileKind::Partial)
    } else if let Some(tli) = name.strip_suffix(".history") {
        is_hex(tli, 8).then_some(WalFileKind::History)
    } else if let Some(rest) = name.strip_suffix(".backup") {
        rest.split_once('.').filter(|(seg, off)| is_hex(seg, 24) && is_hex(off, 8)).map(|_| WalFileKind::BackupHistory)
    } else {
        None
    };
    kind.ok_or_else(|| {
        Error::invalid_input(
            format!("'{name}' is not the name of a WAL segment, .history, .backup or .partial file"),
            "wal-push and wal-fetch take the names PostgreSQL passes as %f (and %p for the path).",
        )
    })
}

/// Parses a segment name (or the segment part of a `.partial`) for a server with segments of
/// `segment_bytes`.
pub fn segment(name: &str, segment_bytes: u64) -> Option<SegmentName> {
    let name = name.strip_suffix(".partial").unwrap_or(name);
    if !is_hex(name, 24) {
        return None;
    }
    let timeline = u32::from_str_radix(&name[0..8], 16).ok()?;
    let log = u64::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u64::from_str_radix(&name[16..24], 16).ok()?;
    let per_log = 0x1_0000_0000 / segment_bytes;
    Some(SegmentName { timeline, number: log * per_log + seg })
}

impl SegmentName {
    pub fn file_name(&self, segment_bytes: u64) -> String {
        let per_log = 0x1_0000_0000 / segment_bytes;
        format!("{:08X}{:08X}{:08X}", self.timeline, self.number / per_log, self.number % per_log)
    }

    /// The first LSN this segment holds.
    pub fn start_lsn(&self, segment_bytes: u64) -> u64 {
        self.number * segment_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB16: u64 = 16 * 1024 * 1024;

    #[test]
    fn classifies_what_postgres_archives_and_nothing_else() {
        assert_eq!(classify("000000010000000A000000FF").unwrap(), WalFileKind::Segment);
        assert_eq!(classify("000000010000000A000000FF.partial").unwrap(), WalFileKind::Partial);
        assert_eq!(classify("00000002.history").unwrap(), WalFileKind::History);
        assert_eq!(classify("000000010000000000000002.00000028.backup").unwrap(), WalFileKind::BackupHistory);
        for bad in ["../000000010000000A000000FF", "000000010000000a000000ff", "x.history", "", ".tmp-1"] {
            assert_eq!(classify(bad).unwrap_err().code, crate::error::ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn segment_numbers_are_consecutive_across_log_boundaries() {
        let a = segment("0000000100000001000000FF", MB16).unwrap();
        let b = segment("000000010000000200000000", MB16).unwrap();
        assert_eq!(b.number, a.number + 1);
        assert_eq!(b.file_name(MB16), "000000010000000200000000");
        assert_eq!(b.start_lsn(MB16), 0x2_0000_0000);
        // 64 MB segments: 64 per 4 GB "log".
        let c = segment("000000030000000100000003", 64 * 1024 * 1024).unwrap();
        assert_eq!((c.timeline, c.number), (3, 67));
    }
}

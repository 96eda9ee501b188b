//! Which cluster a file belongs to: the system identifier, read from `global/pg_control` of a
//! data directory and from the long header on a segment's first page (PostgreSQL's
//! `pg_control.h` and `xlog_internal.h`; little-endian, as on every platform it runs on here).

use crate::error::{Error, ErrorCode, Result};
use std::io::Read;
use std::path::Path;

/// `xlp_magic` of each major's WAL pages.
const PAGE_MAGIC: [(u16, u32); 6] =
    [(0xD106, 13), (0xD10D, 14), (0xD110, 15), (0xD113, 16), (0xD116, 17), (0xD118, 18)];
const XLP_LONG_HEADER: u16 = 0x0002;

/// What the first page of a segment says about the cluster that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub major: u32,
    pub timeline: u32,
    pub page_lsn: u64,
    pub system_identifier: u64,
    pub segment_bytes: u32,
    pub block_bytes: u32,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The long page header at the start of a segment (40 bytes).
pub fn segment_header(first_page: &[u8]) -> Result<SegmentHeader> {
    let invalid = |why: &str| {
        Error::new(
            ErrorCode::WalInvalid,
            format!("this is not a WAL segment PostgreSQL 13–18 wrote: {why}"),
            "Pass the segment PostgreSQL names in %p; a file from another program, or a damaged one, is not archived.",
        )
    };
    if first_page.len() < 40 {
        return Err(invalid("it is shorter than a page header"));
    }
    let magic = u16_at(first_page, 0);
    let major = PAGE_MAGIC
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, major)| *major)
        .ok_or_else(|| invalid(&format!("unknown page magic 0x{magic:04X}")))?;
    if u16_at(first_page, 2) & XLP_LONG_HEADER == 0 {
        return Err(invalid("its first page has no long header"));
    }
    let header = SegmentHeader {
        major,
        timeline: u32_at(first_page, 4),
        page_lsn: u64_at(first_page, 8),
        system_identifier: u64_at(first_page, 24),
        segment_bytes: u32_at(first_page, 32),
        block_bytes: u32_at(first_page, 36),
    };
    if !header.segment_bytes.is_power_of_two() || header.segment_bytes < 1 << 20 {
        return Err(invalid(&format!("segment size {} is not a power of two of 1 MB or more", header.segment_bytes)));
    }
    Ok(header)
}

/// The system identifier in `<data_dir>/global/pg_control` (its first field).
pub fn data_dir_system_identifier(data_dir: &Path) -> Result<u64> {
    let path = data_dir.join("global").join("pg_control");
    let mut first = [0u8; 8];
    std::fs::File::open(&path).and_then(|mut f| f.read_exact(&mut first)).map_err(|e| {
        Error::new(
            ErrorCode::InvalidInput,
            format!("cannot read the cluster's identity from {}: {e}", path.display()),
            "wal-push and wal-fetch run in the data directory (PostgreSQL starts archive_command and restore_command there); elsewhere give --pgdata DIR.",
        )
    })?;
    Ok(u64::from_le_bytes(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn long_header(magic: u16, sysid: u64, seg: u32) -> Vec<u8> {
        let mut page = vec![0u8; 8192];
        page[0..2].copy_from_slice(&magic.to_le_bytes());
        page[2..4].copy_from_slice(&XLP_LONG_HEADER.to_le_bytes());
        page[4..8].copy_from_slice(&1u32.to_le_bytes());
        page[8..16].copy_from_slice(&0x3000000u64.to_le_bytes());
        page[24..32].copy_from_slice(&sysid.to_le_bytes());
        page[32..36].copy_from_slice(&seg.to_le_bytes());
        page[36..40].copy_from_slice(&8192u32.to_le_bytes());
        page
    }

    #[test]
    fn reads_the_long_header_of_each_major() {
        for (magic, major) in PAGE_MAGIC {
            let h = segment_header(&long_header(magic, 7_000_000_000_000_000_001, 16 << 20)).unwrap();
            assert_eq!(
                (h.major, h.system_identifier, h.segment_bytes, h.timeline),
                (major, 7_000_000_000_000_000_001, 16 << 20, 1)
            );
        }
        assert_eq!(segment_header(&long_header(0xBEEF, 1, 16 << 20)).unwrap_err().code, ErrorCode::WalInvalid);
        assert_eq!(segment_header(&long_header(0xD116, 1, 3000)).unwrap_err().code, ErrorCode::WalInvalid);
        assert_eq!(segment_header(&[0u8; 10]).unwrap_err().code, ErrorCode::WalInvalid);
    }
}

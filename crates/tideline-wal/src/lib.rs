//! A reader of PostgreSQL WAL segment files (13 to 18), with no PostgreSQL code or library:
//! page headers (the long one gives segment and page size, the magic gives the major),
//! records whose bodies and even headers cross page and segment boundaries, XLOG SWITCH, the
//! end of valid WAL, an optional CRC-32C check per record; and what Tideline needs from the
//! records: commits and aborts (prepared ones too) with their times, restore points, row
//! changes, and relation files created (with the pages a rewrite writes into them).
//!
//! It streams: a [`Reader`] is fed one segment at a time and keeps only the record that spans
//! into the next one, so memory does not grow with the number of segments.
//! Formats follow PostgreSQL's `xlog_internal.h`, `xlogrecord.h` and `xact.h`.

pub mod crc;
pub mod decode;
pub mod error;
pub mod heap;
pub mod page;
mod partial;
pub mod reader;
pub mod rmgrs;
pub mod segment;
pub mod storage;
pub mod xact;
pub mod xlog;

pub use error::WalError;
pub use reader::{Reader, Record, SegmentEnd};

/// Records start at 8-byte boundaries (MAXALIGN on every platform PostgreSQL builds for).
pub(crate) fn maxalign(n: u64) -> u64 {
    (n + 7) & !7
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// `X/Y` as PostgreSQL writes an LSN.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

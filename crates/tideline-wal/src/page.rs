//! Page headers (`XLogPageHeaderData`, `XLogLongPageHeaderData`). Every page starts with the
//! short header; the first page of a segment with the long one, which also names the system
//! identifier, the segment size and the page size.

use crate::{u16_at, u32_at, u64_at};

/// `xlp_info`: the page starts with the rest of a record begun on an earlier page.
pub const FIRST_IS_CONTRECORD: u16 = 0x0001;
pub const LONG_HEADER: u16 = 0x0002;
/// PG 14+: the record continued here was abandoned (its writer crashed); a new one follows.
pub const FIRST_IS_OVERWRITE_CONTRECORD: u16 = 0x0008;

pub const SHORT_HEADER_SIZE: usize = 24;
pub const LONG_HEADER_SIZE: usize = 40;

/// The page magic of each major this reader knows.
pub fn major_of_magic(magic: u16) -> Option<u32> {
    Some(match magic {
        0xD106 => 13,
        0xD10D => 14,
        0xD110 => 15,
        0xD113 => 16,
        0xD116 => 17,
        0xD118 => 18,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHeader {
    pub major: u32,
    pub info: u16,
    pub timeline: u32,
    /// The LSN of the page's first byte.
    pub page_addr: u64,
    /// With FIRST_IS_CONTRECORD: how many bytes of the continued record remain.
    pub rem_len: u32,
    pub long: Option<LongHeader>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongHeader {
    pub system_identifier: u64,
    pub segment_size: u32,
    pub page_size: u32,
}

impl PageHeader {
    pub fn size(&self) -> usize {
        if self.long.is_some() {
            LONG_HEADER_SIZE
        } else {
            SHORT_HEADER_SIZE
        }
    }

    /// Parses the header at the start of `page`; None when it is not a valid WAL page header
    /// (zeroes past the end of WAL, or garbage).
    pub fn parse(page: &[u8]) -> Option<PageHeader> {
        let magic = u16_at(page, 0)?;
        let major = major_of_magic(magic)?;
        let info = u16_at(page, 2)?;
        let long = if info & LONG_HEADER != 0 {
            let segment_size = u32_at(page, 32)?;
            let page_size = u32_at(page, 36)?;
            // Powers of two in PostgreSQL's ranges: 1 MB..1 GB segments, 1..64 kB pages.
            let sane = segment_size.is_power_of_two()
                && (1 << 20..=1 << 30).contains(&segment_size)
                && page_size.is_power_of_two()
                && (1024..=65536).contains(&page_size);
            if !sane {
                return None;
            }
            Some(LongHeader { system_identifier: u64_at(page, 24)?, segment_size, page_size })
        } else {
            None
        };
        Some(PageHeader {
            major,
            info,
            timeline: u32_at(page, 4)?,
            page_addr: u64_at(page, 8)?,
            rem_len: u32_at(page, 16)?,
            long,
        })
    }
}

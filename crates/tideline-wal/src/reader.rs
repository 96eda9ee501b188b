//! Walking the records of consecutive segments. A record is found at an 8-byte aligned
//! position; its length is in its first four bytes; it may continue over any number of pages
//! (each starting with FIRST_IS_CONTRECORD and the bytes still missing) and into the next
//! segment. A zero length, a bad page header, a page from an older cycle of a recycled file,
//! or (when checked) a CRC mismatch is the end of valid WAL, as PostgreSQL itself reads it.

use crate::page::{PageHeader, FIRST_IS_CONTRECORD, FIRST_IS_OVERWRITE_CONTRECORD};
use crate::{maxalign, u32_at, u64_at, WalError};

/// `SizeOfXLogRecord`.
pub const RECORD_HEADER_SIZE: usize = 24;
/// `XLogRecordMaxSize`: a longer length is garbage, not a record.
const MAX_RECORD_SIZE: usize = 1020 * 1024 * 1024;
const RM_XLOG_ID: u8 = 0;
const XLOG_SWITCH: u8 = 0x40;

/// Records checked together (a multiple of the four whose CRCs interleave).
const BATCH: usize = 16;

/// Records of one page waiting for their CRC check: (offset in the page, length).
#[derive(Default)]
struct Batch {
    at: [(usize, usize); BATCH],
    len: usize,
}

impl Batch {
    fn items(&self) -> &[(usize, usize)] {
        &self.at[..self.len]
    }
}

fn is_switch(bytes: &[u8]) -> bool {
    bytes.len() >= RECORD_HEADER_SIZE && bytes[17] == RM_XLOG_ID && bytes[16] & 0xF0 == XLOG_SWITCH
}

/// One WAL record: its position and its bytes, header included.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub lsn: u64,
    /// The first byte after the record (before alignment).
    pub end_lsn: u64,
    pub timeline: u32,
    pub major: u32,
    pub bytes: &'a [u8],
}

impl Record<'_> {
    pub fn total_len(&self) -> u32 {
        u32_at(self.bytes, 0).unwrap_or(0)
    }
    pub fn xid(&self) -> u32 {
        u32_at(self.bytes, 4).unwrap_or(0)
    }
    pub fn prev(&self) -> u64 {
        u64_at(self.bytes, 8).unwrap_or(0)
    }
    /// `xl_info`: the low four bits are the record machinery's, the high four the rmgr's.
    pub fn info(&self) -> u8 {
        self.bytes[16]
    }
    pub fn rmgr(&self) -> u8 {
        self.bytes[17]
    }
    pub fn crc(&self) -> u32 {
        u32_at(self.bytes, 20).unwrap_or(0)
    }

    /// CRC-32C over the body, then the header up to the CRC field, as PostgreSQL computes it.
    pub fn crc_ok(&self) -> bool {
        crate::crc::record_ok(self.bytes)
    }

    pub fn is_switch(&self) -> bool {
        self.rmgr() == RM_XLOG_ID && self.info() & 0xF0 == XLOG_SWITCH
    }
}

/// How a segment's reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentEnd {
    /// Every page was read; the last record may continue in the next segment.
    Complete,
    /// An XLOG SWITCH: the rest of the segment is padding.
    Switched,
    /// Valid WAL stops inside this segment (the end of a `.partial`, or of what was written).
    EndOfWal { at: u64 },
}

#[derive(Debug, Default)]
pub struct Reader {
    check_crc: bool,
    major: Option<u32>,
    /// The next segment's expected start, once one was read.
    next_segment: Option<u64>,
    /// A record begun in an earlier page: its start, its length, the bytes so far.
    partial: Option<(u64, usize, Vec<u8>)>,
}

impl Reader {
    pub fn new(check_crc: bool) -> Reader {
        Reader { check_crc, ..Reader::default() }
    }

    /// The major of the WAL read so far.
    pub fn major(&self) -> Option<u32> {
        self.major
    }

    /// Reads one whole segment (or a `.partial`'s bytes) and calls `on_record` for each
    /// complete, valid record, in order.
    pub fn feed_segment(&mut self, segment: &[u8], on_record: &mut dyn FnMut(&Record)) -> Result<SegmentEnd, WalError> {
        let first = PageHeader::parse(segment).ok_or_else(|| WalError::NotWal("no valid first page header".into()))?;
        let long = first.long.ok_or_else(|| WalError::NotWal("the first page has no long header".into()))?;
        if let Some(expected) = self.major {
            if expected != first.major {
                return Err(WalError::VersionChanged { expected, found: first.major });
            }
        }
        let seg_start = first.page_addr;
        // A segment starts at a multiple of its size, far below the end of the LSN space
        // (records may run 1 GB past it).
        if seg_start % long.segment_size as u64 != 0 || seg_start > u64::MAX / 2 {
            return Err(WalError::NotWal(format!("a first page at {seg_start:#x}")));
        }
        self.major = Some(first.major);
        if self.next_segment.is_some_and(|n| n != seg_start) {
            // Not the next segment: whatever was pending cannot continue here.
            self.partial = None;
        }
        self.next_segment = Some(seg_start + long.segment_size as u64);
        let page_size = long.page_size as usize;
        let len = segment.len().min(long.segment_size as usize);
        let mut page_off = 0;
        while page_off + page_size <= len {
            let page = &segment[page_off..page_off + page_size];
            let lsn_of = |pos: usize| seg_start + (page_off + pos) as u64;
            let header = match PageHeader::parse(page) {
                Some(h) if h.page_addr == lsn_of(0) && h.major == first.major => h,
                _ => return Ok(self.ended(lsn_of(0))),
            };
            let mut pos = header.size();
            if header.info & FIRST_IS_CONTRECORD != 0 {
                let rem = header.rem_len as usize;
                let here = rem.min(page_size - pos);
                if header.info & FIRST_IS_OVERWRITE_CONTRECORD != 0 {
                    self.partial = None;
                } else if let Some((start, total, mut bytes)) = self.partial.take() {
                    if bytes.len() + rem != total {
                        return Ok(self.ended(lsn_of(0)));
                    }
                    bytes.extend_from_slice(&page[pos..pos + here]);
                    if bytes.len() == total {
                        let end = lsn_of(pos + here);
                        if !self.emit(start, end, header.timeline, first.major, &bytes, on_record) {
                            return Ok(self.ended(start));
                        }
                        if self.last_was_switch(&bytes) {
                            return Ok(SegmentEnd::Switched);
                        }
                    } else {
                        self.partial = Some((start, total, bytes));
                    }
                }
                // (With nothing pending, the record began in a segment we were not given: its
                // rest is skipped, page by page.)
                if here < rem {
                    page_off += page_size;
                    continue;
                }
                pos = maxalign((pos + here) as u64) as usize;
            } else if self.partial.take().is_some() {
                // The continuation is missing: this page is not part of the same WAL stream.
                return Ok(self.ended(lsn_of(0)));
            }
            // Records wholly inside the page are checked in batches (their CRCs interleave),
            // then handed over in order; the first bad one is the end of WAL.
            let mut batch = Batch::default();
            let mut flush = |batch: &mut Batch| -> Option<u64> {
                let bad = if self.check_crc {
                    let mut slices: [&[u8]; BATCH] = [&[]; BATCH];
                    for (slot, &(p, t)) in slices.iter_mut().zip(batch.items()) {
                        *slot = &page[p..p + t];
                    }
                    crate::crc::first_bad(&slices[..batch.len])
                } else {
                    None
                };
                for (i, &(p, t)) in batch.items().iter().enumerate() {
                    if bad == Some(i) {
                        batch.len = 0;
                        return Some(lsn_of(p));
                    }
                    let start = lsn_of(p);
                    let record = Record {
                        lsn: start,
                        end_lsn: start + t as u64,
                        timeline: header.timeline,
                        major: first.major,
                        bytes: &page[p..p + t],
                    };
                    on_record(&record);
                }
                batch.len = 0;
                None
            };
            while pos + 4 <= page_size {
                let total = u32_at(page, pos).unwrap_or(0) as usize;
                if !(RECORD_HEADER_SIZE..=MAX_RECORD_SIZE).contains(&total) {
                    let at = flush(&mut batch).unwrap_or(lsn_of(pos));
                    return Ok(self.ended(at));
                }
                if pos + total <= page_size {
                    batch.at[batch.len] = (pos, total);
                    batch.len += 1;
                    if is_switch(&page[pos..pos + total]) {
                        if let Some(bad) = flush(&mut batch) {
                            return Ok(self.ended(bad));
                        }
                        self.partial = None;
                        return Ok(SegmentEnd::Switched);
                    }
                    if batch.len == BATCH {
                        if let Some(bad) = flush(&mut batch) {
                            return Ok(self.ended(bad));
                        }
                    }
                    pos = maxalign((pos + total) as u64) as usize;
                } else {
                    if let Some(bad) = flush(&mut batch) {
                        return Ok(self.ended(bad));
                    }
                    // Continues on the next page (perhaps in the next segment).
                    // Grown as pages arrive: a length read from damaged WAL must not allocate.
                    let mut bytes = Vec::with_capacity(total.min(1 << 16));
                    bytes.extend_from_slice(&page[pos..]);
                    self.partial = Some((pos as u64 + lsn_of(0), total, bytes));
                    break;
                }
            }
            if let Some(bad) = flush(&mut batch) {
                return Ok(self.ended(bad));
            }
            page_off += page_size;
        }
        if len < long.segment_size as usize {
            // A truncated file: what it has was read; nothing after it can be trusted.
            return Ok(self.ended(seg_start + len as u64));
        }
        Ok(SegmentEnd::Complete)
    }

    fn ended(&mut self, at: u64) -> SegmentEnd {
        self.partial = None;
        self.next_segment = None;
        SegmentEnd::EndOfWal { at }
    }

    fn last_was_switch(&mut self, bytes: &[u8]) -> bool {
        let switch = is_switch(bytes);
        if switch {
            self.partial = None;
        }
        switch
    }

    /// Hands a complete record over; false when it is not valid (the end of WAL).
    fn emit(
        &self,
        lsn: u64,
        end_lsn: u64,
        timeline: u32,
        major: u32,
        bytes: &[u8],
        on_record: &mut dyn FnMut(&Record),
    ) -> bool {
        let record = Record { lsn, end_lsn, timeline, major, bytes };
        if self.check_crc && !record.crc_ok() {
            return false;
        }
        on_record(&record);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 8192;
    const SEG: usize = 1 << 20;

    /// A segment of `pages` pages whose records are `records` (lengths ≥ 24), laid out as
    /// PostgreSQL does: aligned, continued across pages with FIRST_IS_CONTRECORD.
    fn segment(start: u64, records: &[usize]) -> Vec<u8> {
        let mut stream = Vec::new();
        for (i, &len) in records.iter().enumerate() {
            let mut r = vec![0u8; len];
            r[0..4].copy_from_slice(&(len as u32).to_le_bytes());
            r[4..8].copy_from_slice(&(i as u32 + 3).to_le_bytes());
            r[17] = 1; // any rmgr but XLOG, so no switch
            let crc = crc32c::crc32c_append(crc32c::crc32c(&r[24..]), &r[..20]);
            r[20..24].copy_from_slice(&crc.to_le_bytes());
            stream.push(r);
        }
        let mut seg = vec![0u8; SEG];
        let (mut page, mut pos) = (0usize, 40usize);
        let header = |seg: &mut Vec<u8>, page: usize, rem: usize| {
            let p = page * PAGE;
            seg[p..p + 2].copy_from_slice(&0xD110u16.to_le_bytes());
            let info: u16 = (if page == 0 { 2 } else { 0 }) | u16::from(rem > 0);
            seg[p + 2..p + 4].copy_from_slice(&info.to_le_bytes());
            seg[p + 4..p + 8].copy_from_slice(&1u32.to_le_bytes());
            seg[p + 8..p + 16].copy_from_slice(&(start + p as u64).to_le_bytes());
            seg[p + 16..p + 20].copy_from_slice(&(rem as u32).to_le_bytes());
            if page == 0 {
                seg[p + 32..p + 36].copy_from_slice(&(SEG as u32).to_le_bytes());
                seg[p + 36..p + 40].copy_from_slice(&(PAGE as u32).to_le_bytes());
            }
        };
        header(&mut seg, 0, 0);
        for r in &stream {
            let mut written = 0;
            while written < r.len() {
                if pos == PAGE {
                    page += 1;
                    header(&mut seg, page, r.len() - written);
                    pos = 24;
                }
                let n = (r.len() - written).min(PAGE - pos);
                seg[page * PAGE + pos..page * PAGE + pos + n].copy_from_slice(&r[written..written + n]);
                written += n;
                pos += n;
            }
            pos = ((pos + 7) & !7).min(PAGE);
        }
        // Later pages carry valid headers with nothing in them: the end of WAL is a zero length.
        for p in page + 1..SEG / PAGE {
            header(&mut seg, p, 0);
        }
        seg
    }

    fn lengths(seg: &[u8], check: bool) -> (Vec<usize>, SegmentEnd) {
        let mut out = Vec::new();
        let end = Reader::new(check).feed_segment(seg, &mut |r| out.push(r.bytes.len())).unwrap();
        (out, end)
    }

    #[test]
    fn records_and_record_headers_that_cross_pages_are_reassembled() {
        // 8192 - 40 = 8152 bytes on the first page: a 8140-byte record leaves 12, so the next
        // record's 24-byte header is split across the page boundary.
        let records = [8140, 100, 20_000, 24, 300];
        let seg = segment(0x100_0000, &records);
        let (got, end) = lengths(&seg, true);
        assert_eq!(got, records);
        assert!(matches!(end, SegmentEnd::EndOfWal { .. }));
    }

    #[test]
    fn a_damaged_record_ends_the_wal_when_crcs_are_checked() {
        let mut seg = segment(0x100_0000, &[100, 100, 100]);
        seg[40 + 104 + 50] ^= 0xFF; // inside the second record's body
        assert_eq!(lengths(&seg, true).0, [100]);
        assert_eq!(lengths(&seg, false).0, [100, 100, 100]);
    }

    #[test]
    fn garbage_is_not_wal_and_a_recycled_page_ends_it() {
        assert!(Reader::new(false).feed_segment(&[0u8; 100], &mut |_| {}).is_err());
        let mut seg = segment(0x100_0000, &[9000, 100, 8000]);
        // The third page (where the third record ends) claims an address from an older cycle.
        seg[2 * PAGE + 8..2 * PAGE + 16].copy_from_slice(&0u64.to_le_bytes());
        let (got, end) = lengths(&seg, true);
        assert_eq!(got, [9000, 100]);
        assert_eq!(end, SegmentEnd::EndOfWal { at: 0x100_0000 + 2 * PAGE as u64 });
    }
}

//! Walking the records of consecutive segments. A record is found at an 8-byte aligned
//! position; its length is in its first four bytes; it may continue over any number of pages
//! (each starting with FIRST_IS_CONTRECORD and the bytes still missing) and into the next
//! segment. A zero length, a bad page header, a page from an older cycle of a recycled file,
//! or (when checked) a CRC mismatch is the end of valid WAL, as PostgreSQL itself reads it.

use crate::page::{PageHeader, FIRST_IS_CONTRECORD, FIRST_IS_OVERWRITE_CONTRECORD};
use crate::partial::Partial;
pub use crate::rmgrs::Rmgrs;
use crate::xlog::RM_XLOG_ID;
use crate::{maxalign, u32_at, u64_at, WalError};
use std::cell::Cell;
use std::io::Read;

/// `SizeOfXLogRecord`.
pub const RECORD_HEADER_SIZE: usize = 24;
/// `XLogRecordMaxSize`: a longer length is garbage, not a record.
const MAX_RECORD_SIZE: usize = 1020 * 1024 * 1024;
const XLOG_SWITCH: u8 = 0x40;

/// Bytes read at a time by [`Reader::feed_read`]: a multiple of every page size, well inside
/// the CPU's L2 cache.
const CHUNK: usize = 512 * 1024;

/// Records checked together: as many as a page holds of a bulk load's short records, so that few
/// are left over from the groups of eight whose CRCs interleave.
const BATCH: usize = 64;

/// Records of one page waiting for their CRC check: (offset in the page, length).
struct Batch {
    at: [(usize, usize); BATCH],
    len: usize,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch { at: [(0, 0); BATCH], len: 0 }
    }
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

/// What a segment's first page said.
struct SegmentStart {
    start: u64,
    major: u32,
    page_size: usize,
    segment_size: usize,
}

/// Reads until `buf` is full or the source ends; how much was read.
fn fill(source: &mut dyn Read, buf: &mut [u8]) -> Result<usize, WalError> {
    let mut n = 0;
    while n < buf.len() {
        match source.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WalError::Unreadable(e.to_string())),
        }
    }
    Ok(n)
}

#[derive(Debug, Default)]
pub struct Reader {
    check_crc: bool,
    wanted: Rmgrs,
    /// Valid records read, and their bytes.
    records: Cell<u64>,
    record_bytes: Cell<u64>,
    major: Option<u32>,
    /// The next segment's expected start, once one was read.
    next_segment: Option<u64>,
    /// A record begun in an earlier page, gathered as its pages arrive.
    partial: Option<Partial>,
}

/// What the start of a page leaves to read on it.
enum Continued {
    /// The page's own records begin here.
    At(usize),
    /// The whole page continues a record: on to the next.
    NextPage,
    Ended(SegmentEnd),
}

impl Reader {
    pub fn new(check_crc: bool) -> Reader {
        Reader { check_crc, ..Reader::default() }
    }

    /// Hands over only the records of `wanted` from now on.
    pub fn hand_over(&mut self, wanted: Rmgrs) {
        self.wanted = wanted;
    }

    /// Valid records read so far (handed over or not), and their bytes.
    pub fn counted(&self) -> (u64, u64) {
        (self.records.get(), self.record_bytes.get())
    }

    /// The major of the WAL read so far.
    pub fn major(&self) -> Option<u32> {
        self.major
    }

    /// Reads one whole segment (or a `.partial`'s bytes) and calls `on_record` for each
    /// complete, valid record, in order.
    pub fn feed_segment(&mut self, segment: &[u8], on_record: &mut dyn FnMut(&Record)) -> Result<SegmentEnd, WalError> {
        let seg = self.begin(segment)?;
        let len = segment.len().min(seg.segment_size);
        if let Some(end) = self.feed_pages(&seg, 0, &segment[..len], on_record) {
            return Ok(end);
        }
        Ok(self.finish(&seg, len))
    }

    /// Reads one segment from `source` (a file, or a zstd decoder over one) a chunk at a time
    /// into `buf`, as [`Reader::feed_segment`] reads a whole one. Chunks stay in the CPU's
    /// cache while their records are parsed; a whole 16 MB segment would be copied out to
    /// memory and read back from it (measured: half the reading time on two cores).
    pub fn feed_read(
        &mut self,
        source: &mut dyn Read,
        buf: &mut Vec<u8>,
        on_record: &mut dyn FnMut(&Record),
    ) -> Result<SegmentEnd, WalError> {
        self.feed_read_in(source, buf, CHUNK, on_record)
    }

    fn feed_read_in(
        &mut self,
        source: &mut dyn Read,
        buf: &mut Vec<u8>,
        chunk: usize,
        on_record: &mut dyn FnMut(&Record),
    ) -> Result<SegmentEnd, WalError> {
        buf.resize(chunk, 0);
        let mut n = fill(source, buf)?;
        let seg = self.begin(&buf[..n])?;
        // `chunk` and the segment size are powers of two, each a multiple of the page size.
        let mut offset = 0;
        loop {
            let n_in = n.min(seg.segment_size - offset);
            if let Some(end) = self.feed_pages(&seg, offset, &buf[..n_in], on_record) {
                return Ok(end);
            }
            offset += n_in;
            if n < chunk || offset == seg.segment_size {
                return Ok(self.finish(&seg, offset));
            }
            n = fill(source, buf)?;
        }
    }

    /// Checks a segment's first page against what was read before.
    fn begin(&mut self, first_bytes: &[u8]) -> Result<SegmentStart, WalError> {
        let first =
            PageHeader::parse(first_bytes).ok_or_else(|| WalError::NotWal("no valid first page header".into()))?;
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
        Ok(SegmentStart {
            start: seg_start,
            major: first.major,
            page_size: long.page_size as usize,
            segment_size: long.segment_size as usize,
        })
    }

    /// After the last page: a file shorter than its segment ends the WAL where it stops.
    fn finish(&mut self, seg: &SegmentStart, len: usize) -> SegmentEnd {
        if len < seg.segment_size {
            // A truncated file: what it has was read; nothing after it can be trusted.
            return self.ended(seg.start + len as u64);
        }
        SegmentEnd::Complete
    }

    /// The whole pages of `segment`, which starts `base` bytes into the segment; Some when the
    /// segment's reading ends among them.
    fn feed_pages(
        &mut self,
        seg: &SegmentStart,
        base: usize,
        segment: &[u8],
        on_record: &mut dyn FnMut(&Record),
    ) -> Option<SegmentEnd> {
        let (seg_start, page_size, len) = (seg.start + base as u64, seg.page_size, segment.len());
        let mut page_off = 0;
        while page_off + page_size <= len {
            let page = &segment[page_off..page_off + page_size];
            let lsn_of = |pos: usize| seg_start + (page_off + pos) as u64;
            let header = match PageHeader::parse(page) {
                Some(h) if h.page_addr == lsn_of(0) && h.major == seg.major => h,
                _ => return Some(self.ended(lsn_of(0))),
            };
            let mut pos = match self.continue_record(seg, page, &header, lsn_of(0), on_record) {
                Continued::At(pos) => pos,
                Continued::NextPage => {
                    page_off += page_size;
                    continue;
                }
                Continued::Ended(end) => return Some(end),
            };
            // Records wholly inside the page are checked in batches (their CRCs interleave),
            // then handed over in order; the first bad one is the end of WAL.
            let mut batch = Batch::default();
            let (wanted, records, record_bytes) = (self.wanted, &self.records, &self.record_bytes);
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
                let good = &batch.items()[..bad.unwrap_or(batch.len)];
                records.set(records.get() + good.len() as u64);
                record_bytes.set(record_bytes.get() + good.iter().map(|&(_, t)| t as u64).sum::<u64>());
                for &(p, t) in good {
                    if !wanted.has(page[p + 17]) {
                        continue;
                    }
                    let start = lsn_of(p);
                    let record = Record {
                        lsn: start,
                        end_lsn: start + t as u64,
                        timeline: header.timeline,
                        major: seg.major,
                        bytes: &page[p..p + t],
                    };
                    on_record(&record);
                }
                let bad_at = bad.map(|i| lsn_of(batch.at[i].0));
                batch.len = 0;
                bad_at
            };
            while pos + 4 <= page_size {
                let total = u32_at(page, pos).unwrap_or(0) as usize;
                if !(RECORD_HEADER_SIZE..=MAX_RECORD_SIZE).contains(&total) {
                    let at = flush(&mut batch).unwrap_or(lsn_of(pos));
                    return Some(self.ended(at));
                }
                if pos + total <= page_size {
                    batch.at[batch.len] = (pos, total);
                    batch.len += 1;
                    if is_switch(&page[pos..pos + total]) {
                        if let Some(bad) = flush(&mut batch) {
                            return Some(self.ended(bad));
                        }
                        self.partial = None;
                        return Some(SegmentEnd::Switched);
                    }
                    if batch.len == BATCH {
                        if let Some(bad) = flush(&mut batch) {
                            return Some(self.ended(bad));
                        }
                    }
                    pos = maxalign((pos + total) as u64) as usize;
                } else {
                    if let Some(bad) = flush(&mut batch) {
                        return Some(self.ended(bad));
                    }
                    // Continues on the next page (perhaps in the next segment).
                    let first = &page[pos..];
                    let keep = first.len() > 17 && self.wanted.has(first[17]);
                    self.partial = Some(Partial::begin(lsn_of(pos), total, first, keep, self.check_crc));
                    break;
                }
            }
            if let Some(bad) = flush(&mut batch) {
                return Some(self.ended(bad));
            }
            page_off += page_size;
        }
        None
    }

    /// The start of a page at `page_lsn`: the rest of a record begun on an earlier page, if
    /// one was; where the page's own records begin.
    fn continue_record(
        &mut self,
        seg: &SegmentStart,
        page: &[u8],
        header: &PageHeader,
        page_lsn: u64,
        on_record: &mut dyn FnMut(&Record),
    ) -> Continued {
        let mut pos = header.size();
        if header.info & FIRST_IS_CONTRECORD != 0 {
            let rem = header.rem_len as usize;
            let here = rem.min(seg.page_size - pos);
            if header.info & FIRST_IS_OVERWRITE_CONTRECORD != 0 {
                self.partial = None;
            } else if let Some(mut partial) = self.partial.take() {
                if partial.got + rem != partial.total {
                    return Continued::Ended(self.ended(page_lsn));
                }
                partial.add(&page[pos..pos + here], self.check_crc);
                if partial.got == partial.total {
                    let end = page_lsn + (pos + here) as u64;
                    if !self.emit(&partial, end, header.timeline, seg.major, on_record) {
                        return Continued::Ended(self.ended(partial.start));
                    }
                    if self.last_was_switch(partial.head()) {
                        return Continued::Ended(SegmentEnd::Switched);
                    }
                } else {
                    self.partial = Some(partial);
                }
            }
            // (With nothing pending, the record began in a segment we were not given: its
            // rest is skipped, page by page.)
            if here < rem {
                return Continued::NextPage;
            }
            pos = maxalign((pos + here) as u64) as usize;
        } else if self.partial.take().is_some() {
            // The continuation is missing: this page is not part of the same WAL stream.
            return Continued::Ended(self.ended(page_lsn));
        }
        Continued::At(pos)
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

    /// Counts a record that spanned pages and hands it over when wanted; false when it is not
    /// valid (the end of WAL).
    fn emit(
        &self,
        partial: &Partial,
        end_lsn: u64,
        timeline: u32,
        major: u32,
        on_record: &mut dyn FnMut(&Record),
    ) -> bool {
        let head = partial.head();
        if self.check_crc {
            let ok = match &partial.bytes {
                Some(bytes) => crate::crc::record_ok(bytes),
                None => crate::crc::header_ok(partial.body_crc, head),
            };
            if !ok {
                return false;
            }
        }
        self.records.set(self.records.get() + 1);
        self.record_bytes.set(self.record_bytes.get() + partial.total as u64);
        if let (Some(bytes), true) = (&partial.bytes, self.wanted.has(head[17])) {
            on_record(&Record { lsn: partial.start, end_lsn, timeline, major, bytes });
        }
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
    fn reading_in_chunks_finds_what_one_whole_segment_holds() {
        // Records crossing the two-page chunks' edges; the file whole and cut short.
        let seg = segment(0x100_0000, &[8140, 100, 20_000, 24, 300, 16_000, 40]);
        for len in [SEG, 5 * PAGE, 3 * PAGE + 100, 30] {
            let whole = Reader::new(true).feed_segment(&seg[..len], &mut |_| {}).map(|_| lengths(&seg[..len], true));
            let mut got = Vec::new();
            let mut buf = Vec::new();
            let end =
                Reader::new(true).feed_read_in(&mut &seg[..len], &mut buf, 2 * PAGE, &mut |r| got.push(r.bytes.len()));
            match whole {
                Ok((records, whole_end)) => assert_eq!((got, end.unwrap()), (records, whole_end), "{len} bytes"),
                Err(e) => assert_eq!(end.unwrap_err(), e),
            }
        }
    }

    #[test]
    fn records_not_handed_over_are_still_checked_and_counted() {
        // The second record's header is split across pages; the third spans three pages.
        let records = [8140, 100, 20_000, 24, 300];
        let seg = segment(0x100_0000, &records);
        let read = |seg: &[u8]| {
            let mut reader = Reader::new(true);
            reader.hand_over(Rmgrs::of(&[2]));
            let mut handed = 0;
            let end = reader.feed_segment(seg, &mut |_| handed += 1).unwrap();
            (handed, reader.counted(), end)
        };
        let (handed, counted, _) = read(&seg);
        assert_eq!((handed, counted), (0, (5, records.iter().sum::<usize>() as u64)));
        // A byte of the third record on its middle page: the WAL ends where that record begins.
        let mut damaged = seg.clone();
        damaged[2 * PAGE + 100] ^= 0xFF;
        let third = 0x100_0000 + PAGE as u64 + 120;
        assert_eq!(read(&damaged), (0, (2, 8240), SegmentEnd::EndOfWal { at: third }));
        let mut reader = Reader::new(true);
        reader.hand_over(Rmgrs::of(&[1]));
        let mut lengths = Vec::new();
        reader.feed_segment(&seg, &mut |r| lengths.push(r.bytes.len())).unwrap();
        assert_eq!(lengths, records);
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

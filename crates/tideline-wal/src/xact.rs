//! Transaction records (`xl_xact_commit`, `xl_xact_abort` and their prepared-transaction
//! variants, as `ParseCommitRecord` reads them): the time, the transaction that ended, its
//! subtransactions, and the relations whose files it drops.

use crate::decode::{decode, RelFileLocator};
use crate::reader::Record;
use crate::{u32_at, u64_at};

pub const RM_XACT_ID: u8 = 1;
const OPMASK: u8 = 0x70;
const HAS_INFO: u8 = 0x80;
const COMMIT: u8 = 0x00;
const PREPARE: u8 = 0x10;
const ABORT: u8 = 0x20;
const COMMIT_PREPARED: u8 = 0x30;
const ABORT_PREPARED: u8 = 0x40;

const XINFO_HAS_DBINFO: u32 = 1 << 0;
const XINFO_HAS_SUBXACTS: u32 = 1 << 1;
const XINFO_HAS_RELFILELOCATORS: u32 = 1 << 2;
const XINFO_HAS_INVALS: u32 = 1 << 3;
const XINFO_HAS_TWOPHASE: u32 = 1 << 4;
const XINFO_HAS_DROPPED_STATS: u32 = 1 << 8;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
pub const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Commit,
    Abort,
    /// PREPARE TRANSACTION: neither yet.
    Prepare,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XactEnd {
    pub outcome: Outcome,
    /// The transaction that ended: the record's own, or the prepared one's for
    /// COMMIT PREPARED / ROLLBACK PREPARED.
    pub xid: u32,
    pub prepared: bool,
    pub lsn: u64,
    pub end_lsn: u64,
    /// Microseconds since 2000-01-01 UTC.
    pub time: i64,
    pub subxacts: Vec<u32>,
    /// Relation files removed when this transaction commits (DROP, TRUNCATE's old files).
    pub dropped: Vec<RelFileLocator>,
}

impl XactEnd {
    /// Microseconds since the Unix epoch.
    pub fn unix_micros(&self) -> i64 {
        self.time + PG_EPOCH_UNIX_MICROS
    }
}

/// The size of one dropped-statistics item: 12 bytes until 17, 16 from 18 (64-bit object ids).
fn stats_item_size(major: u32) -> usize {
    if major >= 18 {
        16
    } else {
        12
    }
}

/// Reads a commit, abort or prepare record; None for other records or a damaged one.
#[inline]
pub fn parse(record: &Record) -> Option<XactEnd> {
    // Checked here, inlined: most records are of another kind.
    if record.rmgr() != RM_XACT_ID {
        return None;
    }
    parse_record(record)
}

fn parse_record(record: &Record) -> Option<XactEnd> {
    if record.rmgr() != RM_XACT_ID {
        return None;
    }
    let info = record.info();
    let (outcome, prepared) = match info & OPMASK {
        COMMIT => (Outcome::Commit, false),
        ABORT => (Outcome::Abort, false),
        COMMIT_PREPARED => (Outcome::Commit, true),
        ABORT_PREPARED => (Outcome::Abort, true),
        PREPARE => (Outcome::Prepare, false),
        _ => return None,
    };
    let decoded = decode(record)?;
    let d = decoded.main_data;
    let mut end = XactEnd {
        outcome,
        xid: record.xid(),
        prepared,
        lsn: record.lsn,
        end_lsn: record.end_lsn,
        time: 0,
        subxacts: Vec::new(),
        dropped: Vec::new(),
    };
    if outcome == Outcome::Prepare {
        // xl_xact_prepare: magic, total_len, xid, database, prepared_at, ...
        end.xid = u32_at(d, 8)?;
        end.time = u64_at(d, 16)? as i64;
        return Some(end);
    }
    end.time = u64_at(d, 0)? as i64;
    let mut at = 8;
    let xinfo = if info & HAS_INFO != 0 {
        at += 4;
        u32_at(d, 8)?
    } else {
        0
    };
    if xinfo & XINFO_HAS_DBINFO != 0 {
        at += 8;
    }
    if xinfo & XINFO_HAS_SUBXACTS != 0 {
        let n = u32_at(d, at)? as usize;
        at += 4;
        for i in 0..n {
            end.subxacts.push(u32_at(d, at + 4 * i)?);
        }
        at += 4 * n;
    }
    if xinfo & XINFO_HAS_RELFILELOCATORS != 0 {
        let n = u32_at(d, at)? as usize;
        at += 4;
        for i in 0..n {
            end.dropped.push(RelFileLocator::at(d, at + 12 * i)?);
        }
        at += 12 * n;
    }
    if xinfo & XINFO_HAS_DROPPED_STATS != 0 {
        let n = u32_at(d, at)? as usize;
        at += 4 + n * stats_item_size(record.major);
    }
    // Invalidation messages are in commits only (aborts never carry the flag).
    if xinfo & XINFO_HAS_INVALS != 0 {
        let n = u32_at(d, at)? as usize;
        at += 4 + n * 16;
    }
    if xinfo & XINFO_HAS_TWOPHASE != 0 {
        end.xid = u32_at(d, at)?;
    }
    Some(end)
}

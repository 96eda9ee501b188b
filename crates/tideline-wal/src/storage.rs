//! Relation files coming into being: `XLOG_SMGR_CREATE` (a new relfilenode, written when a
//! table is created, truncated or rewritten) and the full-page images a rewrite fills it with.
//! Together with the files a commit drops, they tell DROP from TRUNCATE from VACUUM FULL.

use crate::decode::{decode, RelFileLocator};
use crate::reader::Record;
use crate::u32_at;
use crate::xlog::RM_XLOG_ID;

pub const RM_SMGR_ID: u8 = 2;
const XLOG_SMGR_CREATE: u8 = 0x10;
const XLOG_FPI_FOR_HINT: u8 = 0xA0;
const XLOG_FPI: u8 = 0xB0;
const MAIN_FORK: u32 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    pub xid: u32,
    pub rel: RelFileLocator,
}

/// `xl_smgr_create` (locator, fork) for a relation's main fork; None for anything else.
#[inline]
pub fn created(record: &Record) -> Option<Created> {
    // Checked here, inlined: most records are of another kind.
    if record.rmgr() != RM_SMGR_ID {
        return None;
    }
    created_record(record)
}

fn created_record(record: &Record) -> Option<Created> {
    if record.rmgr() != RM_SMGR_ID || record.info() & 0xF0 != XLOG_SMGR_CREATE {
        return None;
    }
    let decoded = decode(record)?;
    let d = decoded.main_data;
    if u32_at(d, 12)? != MAIN_FORK {
        return None;
    }
    Some(Created { xid: record.xid(), rel: RelFileLocator::at(d, 0)? })
}

/// The relation files a full-page-image record (`log_newpage`, as bulk writes and rewrites
/// log their pages) writes to; None for other records.
#[inline]
pub fn page_images(record: &Record) -> Option<Vec<RelFileLocator>> {
    // Checked here, inlined: most records are of another kind.
    if record.rmgr() != RM_XLOG_ID {
        return None;
    }
    page_images_record(record)
}

fn page_images_record(record: &Record) -> Option<Vec<RelFileLocator>> {
    if record.rmgr() != RM_XLOG_ID || !matches!(record.info() & 0xF0, XLOG_FPI | XLOG_FPI_FOR_HINT) {
        return None;
    }
    Some(decode(record)?.blocks.iter().filter(|b| b.fork as u32 == MAIN_FORK).map(|b| b.rel).collect())
}

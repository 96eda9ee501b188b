//! Row changes from heap records: which relation file a change touched (block reference 0)
//! and how many rows it inserted, updated or deleted. COPY's multi-inserts count every tuple.

use crate::decode::{decode, RelFileLocator};
use crate::reader::Record;
use crate::u16_at;

pub const RM_HEAP2_ID: u8 = 9;
pub const RM_HEAP_ID: u8 = 10;
const OPMASK: u8 = 0x70;
const HEAP_INSERT: u8 = 0x00;
const HEAP_DELETE: u8 = 0x10;
const HEAP_UPDATE: u8 = 0x20;
const HEAP_HOT_UPDATE: u8 = 0x40;
const HEAP2_MULTI_INSERT: u8 = 0x50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    Insert,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowChange {
    pub xid: u32,
    pub rel: RelFileLocator,
    pub change: Change,
    pub rows: u32,
}

/// The rows a heap record changes; None for other records (and for heap records that change
/// no rows: locks, in-place updates, page pruning).
#[inline]
pub fn row_change(record: &Record) -> Option<RowChange> {
    // Checked here, inlined: most records are of another kind.
    if !matches!(record.rmgr(), RM_HEAP_ID | RM_HEAP2_ID) {
        return None;
    }
    row_change_record(record)
}

fn row_change_record(record: &Record) -> Option<RowChange> {
    let op = record.info() & OPMASK;
    let (change, multi) = match (record.rmgr(), op) {
        (RM_HEAP_ID, HEAP_INSERT) => (Change::Insert, false),
        (RM_HEAP_ID, HEAP_DELETE) => (Change::Delete, false),
        (RM_HEAP_ID, HEAP_UPDATE | HEAP_HOT_UPDATE) => (Change::Update, false),
        (RM_HEAP2_ID, HEAP2_MULTI_INSERT) => (Change::Insert, true),
        _ => return None,
    };
    let decoded = decode(record)?;
    let block = decoded.blocks.iter().find(|b| b.id == 0)?;
    // xl_heap_multi_insert: flags (1 byte), then ntuples (2 bytes, aligned to 2).
    let rows = if multi { u32::from(u16_at(decoded.main_data, 2)?) } else { 1 };
    Some(RowChange { xid: record.xid(), rel: block.rel, change, rows })
}

//! XLOG records Tideline reads: named restore points (`pg_create_restore_point`) and the
//! records that start a new timeline.

use crate::decode::decode;
use crate::reader::Record;
use crate::u64_at;

pub const RM_XLOG_ID: u8 = 0;
const XLOG_RESTORE_POINT: u8 = 0x70;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePoint {
    pub name: String,
    pub lsn: u64,
    pub end_lsn: u64,
    /// Microseconds since 2000-01-01 UTC.
    pub time: i64,
}

/// `xl_restore_point`: a timestamp, then the name in a 64-byte NUL-padded field.
#[inline]
pub fn restore_point(record: &Record) -> Option<RestorePoint> {
    // Checked here, inlined: most records are of another kind.
    if record.rmgr() != RM_XLOG_ID {
        return None;
    }
    restore_point_record(record)
}

fn restore_point_record(record: &Record) -> Option<RestorePoint> {
    if record.rmgr() != RM_XLOG_ID || record.info() & 0xF0 != XLOG_RESTORE_POINT {
        return None;
    }
    let decoded = decode(record)?;
    let d = decoded.main_data;
    let time = u64_at(d, 0)? as i64;
    let raw = d.get(8..8 + 64)?;
    let name = &raw[..raw.iter().position(|&c| c == 0).unwrap_or(raw.len())];
    Some(RestorePoint {
        name: String::from_utf8_lossy(name).into_owned(),
        lsn: record.lsn,
        end_lsn: record.end_lsn,
        time,
    })
}

const XLOG_CHECKPOINT_SHUTDOWN: u8 = 0x00;
const XLOG_END_OF_RECOVERY: u8 = 0x90;

/// Where a new timeline begins: the first record written on it says which one it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineSwitch {
    pub lsn: u64,
    pub from: u32,
    pub to: u32,
}

/// A timeline switch, from the record recovery writes when it ends: `xl_end_of_recovery`
/// (after a promotion: end time, this timeline, the previous one) or the end-of-recovery
/// shutdown checkpoint (`CheckPoint`: redo, this timeline, the previous one) when no
/// promotion was asked for.
#[inline]
pub fn timeline_switch(record: &Record) -> Option<TimelineSwitch> {
    if record.rmgr() != RM_XLOG_ID {
        return None;
    }
    // Both start with an 8-byte field (a time, a redo pointer), then the two timelines.
    if !matches!(record.info() & 0xF0, XLOG_END_OF_RECOVERY | XLOG_CHECKPOINT_SHUTDOWN) {
        return None;
    }
    let at = 8;
    let decoded = decode(record)?;
    let d = decoded.main_data;
    let (to, from) = (crate::u32_at(d, at)?, crate::u32_at(d, at + 4)?);
    (to != from && from != 0).then_some(TimelineSwitch { lsn: record.lsn, from, to })
}

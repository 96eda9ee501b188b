//! Refusing a `--xid` or `--name` the WAL never had before anything is laid down: without this,
//! a mistyped transaction id cost a full lay-down and replay before PostgreSQL said "recovery
//! ended before configured recovery target was reached". The segments' summaries know every
//! restore point and the range of transaction ids each segment ended; when a segment between
//! the backup and the end of the window has no summary, nothing is known and nothing refused.

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::recovery_target::TargetPoint;
use crate::wal::file_names::SegmentName;
use crate::wal::summary::SegmentSummary;

/// What replay from `from_lsn` to `to_lsn` reads, per segment number: the first summary found
/// on the timelines given (the target's first, then its ancestors), or `None` if one is missing.
fn summaries_for(
    engine: &Engine,
    sysid: &str,
    timelines: &[u32],
    (from_lsn, to_lsn): (u64, u64),
    seg_bytes: u64,
) -> Result<Option<Vec<SegmentSummary>>> {
    let (first, last) = (from_lsn / seg_bytes, to_lsn.saturating_sub(1) / seg_bytes);
    if last < first {
        return Ok(None);
    }
    let mut found: std::collections::BTreeMap<u64, SegmentSummary> = Default::default();
    for &tli in timelines {
        let name = |number| SegmentName { timeline: tli, number }.file_name(seg_bytes);
        let summaries = engine.catalog().wal_summaries_between(sysid, &name(first), &name(last))?;
        for s in summaries {
            if let Some(seg) = crate::wal::file_names::segment(&s.segment, seg_bytes) {
                found.entry(seg.number).or_insert(s);
            }
        }
    }
    let whole = (first..=last).all(|n| found.contains_key(&n));
    Ok(whole.then(|| found.into_values().collect()))
}

impl Engine {
    /// Refuses an xid or name target no summary between `from_lsn` and `to_lsn` knows.
    pub(crate) fn refuse_targets_not_in_wal(
        &self,
        point: &TargetPoint,
        sysid: &str,
        timelines: &[u32],
        range: (u64, u64),
        seg_bytes: u64,
    ) -> Result<()> {
        let (xid, name) = match point {
            TargetPoint::Xid(x) => (x.parse::<u32>().ok(), None),
            TargetPoint::Name(n) => (None, Some(n.as_str())),
            _ => return Ok(()),
        };
        let Some(summaries) = summaries_for(self, sysid, timelines, range, seg_bytes)? else {
            return Ok(());
        };
        let unknown = match (xid, name) {
            (Some(x), _) => {
                let ranges: Option<Vec<[u32; 2]>> = summaries.iter().map(|s| s.ended_xids).collect();
                // Summaries written before ranges were kept know nothing of ids.
                ranges.is_some_and(|r| !r.iter().any(|[lo, hi]| *lo <= x && x <= *hi))
            }
            (None, Some(n)) => !summaries.iter().any(|s| s.restore_points.iter().any(|p| p.xid == n)),
            _ => false,
        };
        if !unknown {
            return Ok(());
        }
        let (what, hint) = match point {
            TargetPoint::Xid(x) => (
                format!("no transaction {x} committed or aborted in the WAL from the base backup on"),
                "Recovery would replay everything and then fail. Check the id (`tideline events PROFILE` lists transactions), or choose a time or an LSN.",
            ),
            _ => (
                format!("there is no restore point '{}' in the WAL from the base backup on", name.unwrap_or_default()),
                "Names are exact; `tideline timeline PROFILE` lists the restore points. A point made before the base backup cannot be a target for it: choose an older backup with --from-backup.",
            ),
        };
        Err(Error::new(ErrorCode::TargetNotInWal, format!("{what}; nothing was laid down"), hint))
    }
}

//! The recovery window (`tideline timeline PROFILE`): per timeline, from which moment to which
//! moment the repository can recover, built from base backups' consistency points and the
//! contiguous runs of archived WAL after them (a missing segment ends a window: replay cannot
//! jump it), with forks read from timeline history files. Later steps call [`RecoveryWindow::
//! check_lsn`] / [`check_time`](RecoveryWindow::check_time) to refuse a target before any server starts.

use super::history;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::lsn::{lsn, lsn_text};
use crate::wal::file_names::{self, WalFileKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WalRun {
    pub timeline: u32,
    pub first_segment: String,
    pub last_segment: String,
    pub start_lsn: String,
    /// The end of the last whole segment (a `.partial` after it is reported separately).
    pub end_lsn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Gap {
    pub timeline: u32,
    /// The first and last missing segments.
    pub first_missing: String,
    pub last_missing: String,
    pub start_lsn: String,
    pub end_lsn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BasePoint {
    pub id: String,
    pub timeline: u32,
    pub start_lsn: String,
    /// The consistency point: the earliest moment this backup recovers to.
    pub stop_lsn: String,
    pub finished_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Reach {
    pub lsn: String,
    /// The moment: a backup's end for the earliest point, the last commit in the WAL for the
    /// latest (when pg_waldump could read it).
    pub time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimelineWindow {
    pub timeline: u32,
    pub parent: Option<u32>,
    pub switch_lsn: Option<String>,
    pub earliest: Option<Reach>,
    pub latest: Option<Reach>,
    /// The backup that reaches `latest`.
    pub from_backup: Option<String>,
    /// The newest WAL is also in a `.partial` pg_receivewal kept past `latest`.
    pub partial_segment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RecoveryWindow {
    pub system_identifier: String,
    #[ts(type = "number")]
    pub segment_bytes: u64,
    pub timelines: Vec<TimelineWindow>,
    pub runs: Vec<WalRun>,
    pub gaps: Vec<Gap>,
    pub base_backups: Vec<BasePoint>,
    /// Archived files that do not read back whole: left out of the runs, so a window ends
    /// before one as at a gap.
    #[serde(default)]
    pub damaged: Vec<crate::wal::check::DamagedWal>,
}

/// How far a backup gets on its timeline: its consistency point, then every contiguous
/// segment after it.
fn reach_of(b: &BasePoint, seg_bytes: u64, segments: &[u64]) -> u64 {
    let stop = lsn(&b.stop_lsn).unwrap_or(0);
    let mut end = stop;
    // Replay past the consistency point needs the segment holding it, and each one after.
    let mut next = stop / seg_bytes;
    while segments.binary_search(&next).is_ok() {
        end = (next + 1) * seg_bytes;
        next += 1;
    }
    end
}

/// Builds the window from what the repository holds: archived file names, the text of its
/// history files, and its base backups. `last_commit` names the last commit time in a segment.
pub fn compute(
    system_identifier: &str,
    segment_bytes: u64,
    archived: &[String],
    histories: &BTreeMap<u32, String>,
    mut base_backups: Vec<BasePoint>,
    last_commit: &dyn Fn(u32, u64) -> Option<String>,
) -> RecoveryWindow {
    let (segments, partials) = archived_segments(archived, segment_bytes);
    let (runs, gaps) = runs_and_gaps(&segments, segment_bytes);
    base_backups.sort_by(|a, b| a.stop_lsn.cmp(&b.stop_lsn));
    let mut timelines_seen: Vec<u32> = segments.keys().copied().chain(histories.keys().copied()).collect();
    timelines_seen.extend(base_backups.iter().map(|b| b.timeline));
    timelines_seen.sort_unstable();
    timelines_seen.dedup();
    let empty = Vec::new();
    let mut windows: Vec<TimelineWindow> = Vec::new();
    // Parents first (timelines ascend): a child continues from its parent's window.
    for &tli in &timelines_seen {
        let archive = TimelineArchive {
            timeline: tli,
            segments: segments.get(&tli).unwrap_or(&empty),
            partial: partials.get(&tli).copied(),
            fork: histories.get(&tli).and_then(|t| history::parse(t).pop()),
            segment_bytes,
        };
        let window = archive.window(&base_backups, &windows, last_commit);
        windows.push(window);
    }
    RecoveryWindow {
        system_identifier: system_identifier.into(),
        segment_bytes,
        timelines: windows,
        runs,
        gaps,
        base_backups,
        damaged: vec![],
    }
}

/// The whole segments archived, by timeline and in order, and each timeline's `.partial`.
fn archived_segments(archived: &[String], segment_bytes: u64) -> (BTreeMap<u32, Vec<u64>>, BTreeMap<u32, u64>) {
    let mut segments: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut partials: BTreeMap<u32, u64> = BTreeMap::new();
    for name in archived {
        match (file_names::classify(name), file_names::segment(name, segment_bytes)) {
            (Ok(WalFileKind::Segment), Some(s)) => segments.entry(s.timeline).or_default().push(s.number),
            (Ok(WalFileKind::Partial), Some(s)) => {
                partials.insert(s.timeline, s.number);
            }
            _ => {}
        }
    }
    segments.values_mut().for_each(|v| v.sort_unstable());
    (segments, partials)
}

/// Unbroken runs of segments, and the gaps between them.
fn runs_and_gaps(segments: &BTreeMap<u32, Vec<u64>>, segment_bytes: u64) -> (Vec<WalRun>, Vec<Gap>) {
    let seg_name = |tli: u32, n: u64| file_names::SegmentName { timeline: tli, number: n }.file_name(segment_bytes);
    let run = |tli: u32, a: u64, b: u64| WalRun {
        timeline: tli,
        first_segment: seg_name(tli, a),
        last_segment: seg_name(tli, b),
        start_lsn: lsn_text(a * segment_bytes),
        end_lsn: lsn_text((b + 1) * segment_bytes),
    };
    let (mut runs, mut gaps) = (Vec::new(), Vec::new());
    for (&tli, numbers) in segments {
        let mut start = numbers[0];
        for pair in numbers.windows(2) {
            if pair[1] != pair[0] + 1 {
                runs.push(run(tli, start, pair[0]));
                gaps.push(Gap {
                    timeline: tli,
                    first_missing: seg_name(tli, pair[0] + 1),
                    last_missing: seg_name(tli, pair[1] - 1),
                    start_lsn: lsn_text((pair[0] + 1) * segment_bytes),
                    end_lsn: lsn_text(pair[1] * segment_bytes),
                });
                start = pair[1];
            }
        }
        runs.push(run(tli, start, *numbers.last().expect("non-empty")));
    }
    (runs, gaps)
}

/// What the repository holds of one timeline.
struct TimelineArchive<'a> {
    timeline: u32,
    segments: &'a [u64],
    partial: Option<u64>,
    /// Where it forked from its parent (its history file's last entry).
    fork: Option<history::Fork>,
    segment_bytes: u64,
}

impl TimelineArchive<'_> {
    /// From the earliest base backup's end to the furthest its WAL (or its parent's) reaches.
    fn window(
        &self,
        base_backups: &[BasePoint],
        parents: &[TimelineWindow],
        last_commit: &dyn Fn(u32, u64) -> Option<String>,
    ) -> TimelineWindow {
        let (tli, segment_bytes) = (self.timeline, self.segment_bytes);
        let mut earliest: Option<(u64, Option<String>)> = None;
        let mut latest: Option<(u64, String)> = None;
        for b in base_backups.iter().filter(|b| b.timeline == tli) {
            let stop = lsn(&b.stop_lsn).unwrap_or(0);
            if earliest.as_ref().is_none_or(|(e, _)| stop < *e) {
                earliest = Some((stop, Some(b.finished_at.clone())));
            }
            let end = reach_of(b, segment_bytes, self.segments);
            if latest.as_ref().is_none_or(|(l, _)| end > *l) {
                latest = Some((end, b.id.clone()));
            }
        }
        self.inherit(parents, &mut earliest, &mut latest);
        let partial = self.partial.filter(|n| latest.as_ref().is_some_and(|(l, _)| *n * segment_bytes == *l));
        // pg_receivewal's current segment is replayable (wal-fetch serves it): the window runs
        // into it, up to the last commit it holds.
        if let (Some(n), Some((l, _))) = (partial, latest.as_mut()) {
            *l = (n + 1) * segment_bytes;
        }
        let seg_name = |n: u64| file_names::SegmentName { timeline: tli, number: n }.file_name(segment_bytes);
        TimelineWindow {
            timeline: tli,
            parent: self.fork.as_ref().map(|f| f.parent),
            switch_lsn: self.fork.as_ref().map(|f| lsn_text(f.switch_lsn)),
            earliest: earliest.map(|(l, time)| Reach { lsn: lsn_text(l), time }),
            latest: latest.as_ref().map(|(l, _)| Reach {
                lsn: lsn_text(*l),
                time: (*l > 0).then(|| last_commit(tli, (*l - 1) / segment_bytes)).flatten(),
            }),
            from_backup: latest.map(|(_, id)| id),
            partial_segment: partial.map(|n| format!("{}.partial", seg_name(n))),
        }
    }

    /// A child timeline continues wherever its parent's window reaches the fork.
    fn inherit(
        &self,
        parents: &[TimelineWindow],
        earliest: &mut Option<(u64, Option<String>)>,
        latest: &mut Option<(u64, String)>,
    ) {
        let Some(f) = &self.fork else { return };
        let Some(p) = parents.iter().find(|w| w.timeline == f.parent) else { return };
        if p.latest.as_ref().is_none_or(|l| lsn(&l.lsn).unwrap_or(0) < f.switch_lsn) {
            return;
        }
        let inherited = BasePoint {
            id: p.from_backup.clone().unwrap_or_default(),
            timeline: self.timeline,
            start_lsn: lsn_text(f.switch_lsn),
            stop_lsn: lsn_text(f.switch_lsn),
            finished_at: String::new(),
        };
        let end = reach_of(&inherited, self.segment_bytes, self.segments);
        if let Some(pe) = p.earliest.as_ref().and_then(|e| lsn(&e.lsn).map(|v| (v, e.time.clone()))) {
            if earliest.as_ref().is_none_or(|(e, _)| pe.0 < *e) {
                *earliest = Some(pe);
            }
        }
        if latest.as_ref().is_none_or(|(l, _)| end > *l) {
            *latest = Some((end, inherited.id));
        }
    }
}

impl RecoveryWindow {
    /// The window of `timeline`, or `target_timeline_unreachable` when nothing reaches it.
    pub fn check_reachable(&self, timeline: u32) -> Result<&TimelineWindow> {
        self.timelines.iter().find(|w| w.timeline == timeline && w.earliest.is_some()).ok_or_else(|| {
            Error::new(
                ErrorCode::TargetTimelineUnreachable,
                format!("no base backup and WAL in the repository reach timeline {timeline}"),
                "`tideline timeline PROFILE` lists the timelines that can be recovered.",
            )
        })
    }

    /// Accepts an LSN target on `timeline`, or says why it cannot be reached.
    pub fn check_lsn(&self, timeline: u32, target: u64) -> Result<()> {
        let w = self.check_reachable(timeline)?;
        let earliest = w.earliest.as_ref().and_then(|e| lsn(&e.lsn)).unwrap_or(0);
        let latest = w.latest.as_ref().and_then(|l| lsn(&l.lsn)).unwrap_or(0);
        if target < earliest {
            return Err(Error::new(
                ErrorCode::TargetBeforeConsistency,
                format!(
                    "{} is before the earliest consistent point on timeline {timeline} ({})",
                    lsn_text(target),
                    lsn_text(earliest)
                ),
                "Choose a later moment: a base backup can only be recovered to points after it finished.",
            ));
        }
        if target > latest {
            self.refuse_past_damage(timeline, latest, &lsn_text(target))?;
            if let Some(g) = self.gaps.iter().find(|g| g.timeline == timeline && lsn(&g.start_lsn) == Some(latest)) {
                return Err(Error::new(
                    ErrorCode::TargetInGap,
                    format!("{} lies after missing WAL ({} to {}) on timeline {timeline}", lsn_text(target), g.first_missing, g.last_missing),
                    "Recovery cannot replay past a missing segment. Choose a moment before the gap, or a base backup taken after it.",
                ));
            }
            return Err(Error::new(
                ErrorCode::TargetBeyondWal,
                format!(
                    "{} is past the end of the archived WAL on timeline {timeline} ({})",
                    lsn_text(target),
                    lsn_text(latest)
                ),
                "Choose an earlier moment, or wait for the server to archive more WAL (`tideline wal status`).",
            ));
        }
        Ok(())
    }

    /// Refuses a target past `end` when a damaged file is what ends the window there.
    fn refuse_past_damage(&self, timeline: u32, end: u64, target: &str) -> Result<()> {
        let at_end = |d: &&crate::wal::check::DamagedWal| {
            file_names::segment(&d.name, self.segment_bytes)
                .is_some_and(|s| s.timeline == timeline && s.number * self.segment_bytes == end)
        };
        match self.damaged.iter().find(at_end) {
            Some(d) => Err(Error::new(
                ErrorCode::ChecksumMismatch,
                format!("{target} lies after a damaged WAL file on timeline {timeline}: {}", d.detail),
                "Recovery cannot replay past a damaged file. Choose a moment before it, or a base backup taken after it; `tideline wal verify PROFILE` checks the whole archive.",
            )),
            None => Ok(()),
        }
    }

    /// Accepts a time target on `timeline` against the window's known moments.
    pub fn check_time(&self, timeline: u32, target: &chrono::DateTime<chrono::FixedOffset>) -> Result<()> {
        let w = self.check_reachable(timeline)?;
        let parse = |t: &Option<String>| t.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if let Some(earliest) = parse(&w.earliest.as_ref().and_then(|e| e.time.clone())) {
            if *target < earliest {
                return Err(Error::new(
                    ErrorCode::TargetBeforeConsistency,
                    format!(
                        "{} is before the earliest recoverable moment on timeline {timeline} ({earliest})",
                        target.to_rfc3339()
                    ),
                    "Choose a later moment: recovery would silently stop at the backup's end instead.",
                ));
            }
        }
        if let Some(latest) = parse(&w.latest.as_ref().and_then(|l| l.time.clone())) {
            if *target > latest {
                let end = w.latest.as_ref().and_then(|l| lsn(&l.lsn)).unwrap_or(0);
                self.refuse_past_damage(timeline, end, &target.to_rfc3339())?;
                return Err(Error::new(
                    ErrorCode::TargetBeyondWal,
                    format!(
                        "{} is after the last commit the archive holds on timeline {timeline} ({latest})",
                        target.to_rfc3339()
                    ),
                    "Choose an earlier moment, or wait for the server to archive more WAL (`tideline wal status`).",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEG: u64 = 16 << 20;

    fn backup(id: &str, tli: u32, start: u64, stop: u64) -> BasePoint {
        BasePoint {
            id: id.into(),
            timeline: tli,
            start_lsn: lsn_text(start),
            stop_lsn: lsn_text(stop),
            finished_at: "2026-11-24T10:00:00+00:00".into(),
        }
    }

    fn names(tli: u32, numbers: &[u64]) -> Vec<String> {
        numbers.iter().map(|n| file_names::SegmentName { timeline: tli, number: *n }.file_name(SEG)).collect()
    }

    #[test]
    fn a_missing_segment_ends_the_window_and_is_reported() {
        let archived = names(1, &[2, 3, 4, 6, 7]);
        let w = compute(
            "1",
            SEG,
            &archived,
            &BTreeMap::new(),
            vec![backup("b", 1, 2 * SEG + 40, 2 * SEG + 400)],
            &|_, _| None,
        );
        assert_eq!(w.gaps.len(), 1);
        assert_eq!(w.gaps[0].first_missing, "000000010000000000000005");
        assert_eq!(w.runs.len(), 2);
        let t = &w.timelines[0];
        assert_eq!(t.earliest.as_ref().unwrap().lsn, lsn_text(2 * SEG + 400));
        assert_eq!(t.latest.as_ref().unwrap().lsn, lsn_text(5 * SEG));
        assert!(w.check_lsn(1, 3 * SEG).is_ok());
        assert_eq!(w.check_lsn(1, 2 * SEG).unwrap_err().code, ErrorCode::TargetBeforeConsistency);
        assert_eq!(w.check_lsn(1, 6 * SEG + 10).unwrap_err().code, ErrorCode::TargetInGap);
        assert_eq!(w.check_lsn(2, 3 * SEG).unwrap_err().code, ErrorCode::TargetTimelineUnreachable);
        let full = names(1, &[2, 3, 4, 5, 6, 7]);
        let w = compute("1", SEG, &full, &BTreeMap::new(), vec![backup("b", 1, 2 * SEG, 2 * SEG + 400)], &|_, _| None);
        assert_eq!(w.check_lsn(1, 9 * SEG).unwrap_err().code, ErrorCode::TargetBeyondWal);
        assert!(w.gaps.is_empty());
    }

    #[test]
    fn a_child_timeline_continues_from_its_parent_and_times_come_from_the_last_segment() {
        let mut archived = names(1, &[2, 3, 4]);
        archived.extend(names(2, &[4, 5]));
        archived.push("00000002.history".into());
        let histories = BTreeMap::from([(2, "1\t0/4000100\tno recovery target specified\n".to_string())]);
        let last = |tli: u32, seg: u64| Some(format!("2026-11-24T11:0{tli}:{seg:02}+00:00"));
        let w = compute("1", SEG, &archived, &histories, vec![backup("b", 1, 2 * SEG, 2 * SEG + 400)], &last);
        let t2 = w.timelines.iter().find(|t| t.timeline == 2).unwrap();
        assert_eq!((t2.parent, t2.switch_lsn.as_deref()), (Some(1), Some("0/4000100")));
        assert_eq!(t2.latest.as_ref().unwrap().lsn, lsn_text(6 * SEG));
        assert_eq!(t2.latest.as_ref().unwrap().time.as_deref(), Some("2026-11-24T11:02:05+00:00"));
        assert_eq!(t2.earliest.as_ref().unwrap().time.as_deref(), Some("2026-11-24T10:00:00+00:00"));
        let late = chrono::DateTime::parse_from_rfc3339("2026-11-24T12:00:00+00:00").unwrap();
        assert_eq!(w.check_time(2, &late).unwrap_err().code, ErrorCode::TargetBeyondWal);
        let early = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00+00:00").unwrap();
        assert_eq!(w.check_time(2, &early).unwrap_err().code, ErrorCode::TargetBeforeConsistency);
        let mid = chrono::DateTime::parse_from_rfc3339("2026-11-24T10:30:00+00:00").unwrap();
        assert!(w.check_time(2, &mid).is_ok());
    }
}

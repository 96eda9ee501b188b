//! Which backups a retention policy keeps, and why — pure, so it is tested over random
//! histories. Only complete backups are ever candidates for deletion; the newest complete one
//! and the newest verified one are always kept, whatever the policy says; a kept incremental
//! keeps its parents; and with no rule at all nothing goes.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use ts_rs::TS;

/// Keep-last-N, keep-for-D-days and grandfather-father-son (the newest backup of each of the
/// last N days, ISO weeks, months and years that have one); a backup any rule keeps is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RetentionPolicy {
    pub keep_last: Option<u32>,
    pub keep_days: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
}

impl RetentionPolicy {
    pub fn is_empty(&self) -> bool {
        *self == RetentionPolicy::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub finished_at: DateTime<Utc>,
    /// Complete (a failed or unfinished backup is never deleted by retention).
    pub complete: bool,
    pub verified: bool,
    /// The backup an incremental one builds on.
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Verdict {
    pub id: String,
    pub keep: bool,
    /// Every rule that keeps it, or why it goes.
    pub reasons: Vec<String>,
}

/// A backup's period (day, ISO week, month, year) as text that sorts in time order.
type PeriodOf = fn(&DateTime<Utc>) -> String;

/// Verdicts for `candidates` (any order), newest first.
pub fn select(candidates: &[Candidate], policy: &RetentionPolicy, now: DateTime<Utc>) -> Vec<Verdict> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| b.finished_at.cmp(&a.finished_at).then(b.id.cmp(&a.id)));
    let mut reasons: HashMap<String, Vec<String>> = HashMap::new();
    let keep = |id: &str, why: String, reasons: &mut HashMap<String, Vec<String>>| {
        reasons.entry(id.to_string()).or_default().push(why);
    };
    let good: Vec<&Candidate> = sorted.iter().copied().filter(|c| c.complete).collect();
    for c in sorted.iter().filter(|c| !c.complete) {
        keep(&c.id, "not complete: retention leaves it alone".into(), &mut reasons);
    }
    if policy.is_empty() {
        for c in &good {
            keep(&c.id, "no retention rule".into(), &mut reasons);
        }
    }
    if let Some(newest) = good.first() {
        keep(&newest.id, "the newest complete backup".into(), &mut reasons);
    }
    if let Some(v) = good.iter().find(|c| c.verified) {
        keep(&v.id, "the newest verified backup".into(), &mut reasons);
    }
    if let Some(n) = policy.keep_last {
        for c in good.iter().take(n as usize) {
            keep(&c.id, format!("one of the newest {n}"), &mut reasons);
        }
    }
    if let Some(d) = policy.keep_days {
        let since = now - Duration::days(i64::from(d));
        for c in good.iter().filter(|c| c.finished_at >= since) {
            keep(&c.id, format!("within {d} days"), &mut reasons);
        }
    }
    let periods: [(Option<u32>, &str, PeriodOf); 4] = [
        (policy.keep_daily, "daily", |t| t.format("%Y-%m-%d").to_string()),
        (policy.keep_weekly, "weekly", |t| format!("{}-W{:02}", t.iso_week().year(), t.iso_week().week())),
        (policy.keep_monthly, "monthly", |t| t.format("%Y-%m").to_string()),
        (policy.keep_yearly, "yearly", |t| t.year().to_string()),
    ];
    for (count, name, period) in periods {
        let Some(n) = count else { continue };
        // The newest backup of each period, for the `n` newest periods that have one.
        let mut newest_of: BTreeMap<String, &Candidate> = BTreeMap::new();
        for c in &good {
            newest_of.entry(period(&c.finished_at)).or_insert(c);
        }
        for (p, c) in newest_of.iter().rev().take(n as usize) {
            keep(&c.id, format!("{name} ({p})"), &mut reasons);
        }
    }
    // A kept incremental needs its whole chain.
    let parents: HashMap<&str, &str> =
        sorted.iter().filter_map(|c| c.parent.as_deref().map(|p| (c.id.as_str(), p))).collect();
    let kept: Vec<String> = reasons.keys().cloned().collect();
    for id in &kept {
        let mut child = id.as_str();
        while let Some(&parent) = parents.get(child) {
            keep(parent, format!("the base of kept incremental {child}"), &mut reasons);
            child = parent;
        }
    }
    sorted
        .iter()
        .map(|c| match reasons.remove(c.id.as_str()) {
            Some(why) => Verdict { id: c.id.clone(), keep: true, reasons: why },
            None => Verdict { id: c.id.clone(), keep: false, reasons: vec!["no rule keeps it".into()] },
        })
        .collect()
}

/// The first WAL segment number still needed: the start segment of the oldest kept base
/// backup (`(timeline, start LSN)`); segments before it, on any timeline, serve no kept
/// backup. None (keep everything) when no base backup is kept.
/// Keeps every backup in `verdicts` that a staying backup of the same cluster builds on. Base
/// backups belong to the cluster, not to one profile: another profile's incremental backup may
/// take this profile's base backup as its parent (through any chain of profiles). `others` are
/// the cluster's backups this run does not decide on, and `parents` maps child to parent over
/// the whole cluster.
pub fn keep_what_the_cluster_builds_on(verdicts: &mut [Verdict], others: &[String], parents: &HashMap<String, String>) {
    let staying: Vec<String> =
        others.iter().cloned().chain(verdicts.iter().filter(|v| v.keep).map(|v| v.id.clone())).collect();
    for start in &staying {
        let mut child = start.as_str();
        while let Some(parent) = parents.get(child) {
            if let Some(v) = verdicts.iter_mut().find(|v| &v.id == parent) {
                let why = format!("the base of kept incremental {child}");
                if !v.keep {
                    *v = Verdict { id: v.id.clone(), keep: true, reasons: vec![] };
                }
                if !v.reasons.contains(&why) {
                    v.reasons.push(why);
                }
            }
            child = parent;
        }
    }
}

pub fn wal_needed_from(kept_bases: &[(u32, u64)], segment_bytes: u64) -> Option<u64> {
    kept_bases.iter().map(|&(_, start)| start / segment_bytes.max(1)).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(days_ago: i64, hour: i64) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 30, 12, 0, 0).unwrap() - Duration::days(days_ago)
            + Duration::hours(hour)
    }

    fn c(id: &str, at: DateTime<Utc>, complete: bool, verified: bool) -> Candidate {
        Candidate { id: id.into(), finished_at: at, complete, verified, parent: None }
    }

    fn kept(v: &[Verdict]) -> Vec<&str> {
        v.iter().filter(|v| v.keep).map(|v| v.id.as_str()).collect()
    }

    #[test]
    fn each_rule_keeps_what_it_says_and_nothing_else_stays() {
        let now = t(0, 0);
        let history: Vec<Candidate> = (0..40).map(|d| c(&format!("b{d:02}"), t(d, 0), true, d == 30)).collect();
        let last3 = select(&history, &RetentionPolicy { keep_last: Some(3), ..Default::default() }, now);
        assert_eq!(kept(&last3), ["b00", "b01", "b02", "b30"]);
        let reasons = &last3.iter().find(|v| v.id == "b30").unwrap().reasons;
        assert_eq!(reasons, &["the newest verified backup"]);
        assert_eq!(last3.iter().find(|v| v.id == "b05").unwrap().reasons, ["no rule keeps it"]);
        let week = select(&history, &RetentionPolicy { keep_days: Some(7), ..Default::default() }, now);
        assert_eq!(kept(&week).len(), 9); // days 0..=7 and the verified one
        let gfs = RetentionPolicy { keep_daily: Some(2), keep_monthly: Some(2), ..Default::default() };
        // Daily: 06-30 and 06-29; monthly: the newest of June (06-30) and of May (05-31).
        assert_eq!(kept(&select(&history, &gfs, now)), ["b00", "b01", "b30"]);
        let gfs = RetentionPolicy { keep_monthly: Some(3), ..Default::default() };
        // Only June and May have backups: two monthly ones, however many months are asked for.
        assert_eq!(kept(&select(&history, &gfs, now)), ["b00", "b30"]);
        // No rule: everything stays.
        assert!(select(&history, &RetentionPolicy::default(), now).iter().all(|v| v.keep));
    }

    #[test]
    fn a_kept_incremental_keeps_its_chain() {
        let now = t(0, 0);
        let mut full = c("full", t(3, 0), true, false);
        full.parent = None;
        let mut inc1 = c("inc1", t(2, 0), true, false);
        inc1.parent = Some("full".into());
        let mut inc2 = c("inc2", t(1, 0), true, false);
        inc2.parent = Some("inc1".into());
        let old = c("old", t(9, 0), true, false);
        let v = select(&[old, full, inc1, inc2], &RetentionPolicy { keep_last: Some(1), ..Default::default() }, now);
        assert_eq!(kept(&v), ["inc2", "inc1", "full"]);
    }

    #[test]
    fn wal_is_needed_from_the_oldest_kept_base_backups_start() {
        let seg = 16 << 20;
        assert_eq!(wal_needed_from(&[(1, 5 * seg + 40), (2, 9 * seg)], seg), Some(5));
        assert_eq!(wal_needed_from(&[], seg), None);
    }

    fn history() -> impl Strategy<Value = Vec<Candidate>> {
        prop::collection::vec((0i64..400, 0i64..24, any::<bool>(), any::<bool>()), 0..40).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (d, h, complete, verified))| c(&format!("b{i}"), t(d, h), complete, verified && complete))
                .collect()
        })
    }

    fn policy() -> impl Strategy<Value = RetentionPolicy> {
        let n = || prop::option::of(0u32..10);
        (n(), n(), n(), n(), n(), n()).prop_map(|(a, b, c, d, e, f)| RetentionPolicy {
            keep_last: a,
            keep_days: b,
            keep_daily: c,
            keep_weekly: d,
            keep_monthly: e,
            keep_yearly: f,
        })
    }

    proptest! {
        #[test]
        fn the_newest_good_backup_always_survives(h in history(), p in policy()) {
            let v = select(&h, &p, t(0, 0));
            prop_assert_eq!(v.len(), h.len());
            let newest = h.iter().filter(|c| c.complete).max_by(|a, b| a.finished_at.cmp(&b.finished_at).then(a.id.cmp(&b.id)));
            if let Some(n) = newest {
                prop_assert!(v.iter().any(|x| x.id == n.id && x.keep));
            }
            let verified = h.iter().filter(|c| c.verified).max_by(|a, b| a.finished_at.cmp(&b.finished_at).then(a.id.cmp(&b.id)));
            if let Some(n) = verified {
                prop_assert!(v.iter().any(|x| x.id == n.id && x.keep));
            }
        }

        #[test]
        fn failures_are_never_deleted_and_a_string_of_them_deletes_nothing(h in history(), p in policy()) {
            let v = select(&h, &p, t(0, 0));
            for c in h.iter().filter(|c| !c.complete) {
                prop_assert!(v.iter().any(|x| x.id == c.id && x.keep));
            }
            let failures: Vec<Candidate> = h.iter().cloned().map(|c| Candidate { complete: false, verified: false, ..c }).collect();
            prop_assert!(select(&failures, &p, t(0, 0)).iter().all(|x| x.keep));
        }

        /// Two profiles on one cluster, incremental backups on either's parents: after one
        /// profile's retention, every backup left has its whole chain.
        #[test]
        fn retention_of_one_profile_never_breaks_anothers_chain(
            rows in prop::collection::vec((any::<bool>(), 0i64..60, prop::option::of(0usize..40), any::<bool>()), 1..40),
            p in policy(),
        ) {
            let ids: Vec<String> = (0..rows.len()).map(|i| format!("b{i:02}")).collect();
            // Each backup's parent is an earlier one, of either profile.
            let parents: HashMap<String, String> = rows
                .iter()
                .enumerate()
                .filter_map(|(i, (_, _, parent, _))| parent.filter(|_| i > 0).map(|p| (ids[i].clone(), ids[p % i].clone())))
                .collect();
            let of_a: Vec<Candidate> = rows
                .iter()
                .enumerate()
                .filter(|(_, (a, ..))| *a)
                .map(|(i, (_, days, _, complete))| Candidate {
                    id: ids[i].clone(),
                    finished_at: t(*days, i as i64 % 24),
                    complete: *complete,
                    verified: false,
                    parent: parents.get(&ids[i]).cloned(),
                })
                .collect();
            let others: Vec<String> =
                rows.iter().enumerate().filter(|(_, (a, ..))| !*a).map(|(i, _)| ids[i].clone()).collect();
            let mut v = select(&of_a, &p, t(0, 0));
            keep_what_the_cluster_builds_on(&mut v, &others, &parents);
            let deleted: Vec<&str> = v.iter().filter(|v| !v.keep).map(|v| v.id.as_str()).collect();
            let left: Vec<&String> = ids.iter().filter(|id| !deleted.contains(&id.as_str())).collect();
            for id in &left {
                let mut child = id.as_str();
                while let Some(parent) = parents.get(child) {
                    prop_assert!(!deleted.contains(&parent.as_str()), "{} builds on deleted {}", id, parent);
                    child = parent;
                }
            }
        }

        #[test]
        fn wal_kept_covers_every_kept_base_backup(starts in prop::collection::vec((1u32..4, 0u64..(1u64 << 40)), 0..20)) {
            let seg = 16u64 << 20;
            match wal_needed_from(&starts, seg) {
                Some(first) => prop_assert!(starts.iter().all(|&(_, s)| s / seg >= first)),
                None => prop_assert!(starts.is_empty()),
            }
        }
    }
}

//! Which base backup a recovery starts from: the newest whose consistency point precedes the
//! target on the target's timeline path (its own timeline, or an ancestor before the fork),
//! with the incremental backups it builds on, oldest (the full one) first.

use super::history::Fork;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::recovery_target::TargetPoint;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub timeline: u32,
    pub stop_lsn: u64,
    pub finished_at: chrono::DateTime<chrono::FixedOffset>,
    pub incremental_of: Option<String>,
}

/// Whether a backup on `timeline` ending at `stop_lsn` lies on the path to `target_timeline`,
/// whose ancestry (oldest first) is `forks`.
fn on_path(timeline: u32, stop_lsn: u64, target_timeline: u32, forks: &[Fork]) -> bool {
    if timeline == target_timeline {
        return true;
    }
    // Each fork says: the parent's history up to switch_lsn belongs to the child's path.
    forks.iter().any(|f| f.parent == timeline && stop_lsn <= f.switch_lsn)
}

/// The target as an LSN or a moment, when it says one (names resolve through the catalog).
pub enum Bound {
    Lsn(u64),
    Time(chrono::DateTime<chrono::FixedOffset>),
    None,
}

pub fn bound_of(point: &TargetPoint, named_lsn: Option<u64>) -> Bound {
    match point {
        TargetPoint::Lsn(l) => crate::pg::lsn::lsn(l).map(Bound::Lsn).unwrap_or(Bound::None),
        TargetPoint::Time(t) => chrono::DateTime::parse_from_rfc3339(t).map(Bound::Time).unwrap_or(Bound::None),
        TargetPoint::Name(_) => named_lsn.map(Bound::Lsn).unwrap_or(Bound::None),
        // Events are LSNs by the time a plan bounds them.
        TargetPoint::Xid(_) | TargetPoint::Immediate | TargetPoint::BeforeEvent(_) => Bound::None,
    }
}

/// The chain to lay down (full backup first), or why none fits.
pub fn choose(
    candidates: &[Candidate],
    bound: &Bound,
    target_timeline: u32,
    forks: &[Fork],
    from_backup: Option<&str>,
) -> Result<Vec<Candidate>> {
    let chosen = match from_backup {
        Some(id) => candidates.iter().find(|c| c.id == id).cloned().ok_or_else(|| {
            Error::new(
                ErrorCode::BackupMissing,
                format!("no base backup {id} of this cluster"),
                "`tideline backups list PROFILE` lists base backups (kind base).",
            )
        })?,
        None => {
            let fits = |c: &&Candidate| {
                on_path(c.timeline, c.stop_lsn, target_timeline, forks)
                    && match bound {
                        Bound::Lsn(l) => c.stop_lsn <= *l,
                        // A backup's end is before it was recorded finished: a safe test.
                        Bound::Time(t) => c.finished_at <= *t,
                        Bound::None => true,
                    }
            };
            candidates.iter().filter(fits).max_by_key(|c| c.stop_lsn).cloned().ok_or_else(|| {
                Error::new(
                    ErrorCode::TargetBeforeConsistency,
                    "no base backup finished before the target on its timeline".to_string(),
                    "Choose a later moment, or take a base backup (`tideline basebackup PROFILE`); recovery cannot go back before the oldest backup.",
                )
            })?
        }
    };
    let mut chain = vec![chosen];
    while let Some(parent) = chain.last().and_then(|c| c.incremental_of.clone()) {
        let found = candidates.iter().find(|c| c.id == parent).cloned().ok_or_else(|| {
            Error::new(
                ErrorCode::BackupMissing,
                format!(
                    "incremental backup {} needs {parent}, which is gone",
                    chain.last().map(|c| c.id.as_str()).unwrap_or("")
                ),
                "Choose another backup with --from-backup, or a full one.",
            )
        })?;
        chain.push(found);
    }
    chain.reverse();
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn c(id: &str, tli: u32, stop: u64, finished: &str, parent: Option<&str>) -> Candidate {
        Candidate {
            id: id.into(),
            timeline: tli,
            stop_lsn: stop,
            finished_at: at(finished),
            incremental_of: parent.map(Into::into),
        }
    }

    #[test]
    fn newest_backup_before_the_target_with_its_incremental_chain() {
        let all = vec![
            c("full", 1, 100, "2026-11-24T10:00:00Z", None),
            c("inc1", 1, 200, "2026-11-24T11:00:00Z", Some("full")),
            c("inc2", 1, 300, "2026-11-24T12:00:00Z", Some("inc1")),
        ];
        let ids = |v: Vec<Candidate>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(choose(&all, &Bound::Lsn(250), 1, &[], None).unwrap()), ["full", "inc1"]);
        assert_eq!(
            ids(choose(&all, &Bound::Time(at("2026-11-24T12:30:00Z")), 1, &[], None).unwrap()),
            ["full", "inc1", "inc2"]
        );
        assert_eq!(ids(choose(&all, &Bound::None, 1, &[], None).unwrap()), ["full", "inc1", "inc2"]);
        assert_eq!(choose(&all, &Bound::Lsn(50), 1, &[], None).unwrap_err().code, ErrorCode::TargetBeforeConsistency);
        assert_eq!(ids(choose(&all, &Bound::Lsn(50), 1, &[], Some("full")).unwrap()), ["full"]);
    }

    #[test]
    fn a_backup_on_the_parent_timeline_counts_only_before_the_fork() {
        let all = vec![c("a", 1, 100, "2026-11-24T10:00:00Z", None), c("b", 1, 500, "2026-11-24T11:00:00Z", None)];
        let forks = [Fork { parent: 1, switch_lsn: 300 }];
        let chain = choose(&all, &Bound::None, 2, &forks, None).unwrap();
        assert_eq!(chain[0].id, "a");
        assert_eq!(choose(&all, &Bound::None, 3, &[], None).unwrap_err().code, ErrorCode::TargetBeforeConsistency);
    }
}

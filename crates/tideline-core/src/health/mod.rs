//! `tideline health [PROFILE]`: each profile at a glance — the age of its newest good backup
//! against a threshold (25 hours by default, as the guide suggests), the WAL archiver's health
//! and replication slots (read from the server, when it answers), and RPO/RTO estimates with
//! their formulas.

pub mod alerts;
pub mod estimate;

use crate::engine::Engine;
use crate::error::Result;
use crate::wal::status::{Archiver, SlotStatus};
use chrono::{DateTime, Utc};
use estimate::Estimate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const DEFAULT_THRESHOLD_HOURS: f64 = 25.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum HealthState {
    Ok,
    Warning,
    Failing,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NewestBackup {
    pub id: String,
    pub kind: crate::repo::manifest::BackupKind,
    pub finished_at: String,
    pub age_hours: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProfileHealth {
    pub profile: String,
    /// The worst of what follows.
    pub state: HealthState,
    pub newest_backup: Option<NewestBackup>,
    pub threshold_hours: f64,
    pub archiver: Option<Archiver>,
    pub slots: Vec<SlotStatus>,
    pub rpo: Estimate,
    pub rto: Estimate,
    /// Each problem in words, worst first.
    pub problems: Vec<String>,
}

/// One line for the tray: how many profiles are healthy, or which need attention.
pub fn summary(health: &[ProfileHealth]) -> String {
    let failing: Vec<&str> =
        health.iter().filter(|h| h.state == HealthState::Failing).map(|h| h.profile.as_str()).collect();
    let warning = health.iter().filter(|h| h.state == HealthState::Warning).count();
    match (health.len(), failing.len(), warning) {
        (0, _, _) => "No profiles yet".into(),
        (n, 0, 0) => format!("All {n} profile{} healthy", if n == 1 { "" } else { "s" }),
        (_, 0, w) => format!("{w} profile{} with warnings", if w == 1 { "" } else { "s" }),
        (_, 1, _) => format!("{} needs attention", failing[0]),
        (_, f, _) => format!("{f} profiles need attention"),
    }
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

impl Engine {
    pub async fn health(&self, profile: Option<&str>, threshold_hours: f64) -> Result<Vec<ProfileHealth>> {
        let profiles = match profile {
            Some(p) => vec![self.profile(p)?],
            None => self.profiles()?,
        };
        let mut out = Vec::new();
        for p in profiles {
            out.push(self.profile_health(&p.name, threshold_hours).await?);
        }
        Ok(out)
    }

    async fn profile_health(&self, name: &str, threshold_hours: f64) -> Result<ProfileHealth> {
        let now = self.clock.now().with_timezone(&Utc);
        let backups = self.catalog().backups(Some(name))?;
        let good: Vec<_> =
            backups.iter().filter(|b| b.status == crate::repo::manifest::BackupStatus::Complete).collect();
        let newest = good.iter().filter_map(|b| parse(&b.finished_at).map(|t| (t, *b))).max_by_key(|(t, _)| *t);
        let mut problems: Vec<(HealthState, String)> = Vec::new();
        let newest_backup = newest.map(|(t, b)| NewestBackup {
            id: b.id.clone(),
            kind: b.kind,
            finished_at: b.finished_at.clone(),
            age_hours: (now - t).num_seconds() as f64 / 3600.0,
        });
        match &newest_backup {
            None => problems.push((HealthState::Failing, "no complete backup".into())),
            Some(n) if n.age_hours > threshold_hours => problems.push((
                HealthState::Failing,
                format!("the newest good backup is {:.1} hours old (threshold {threshold_hours} h)", n.age_hours),
            )),
            Some(_) => {}
        }
        // The server's view: the archiver and slots. Unreachable is a warning, not a failure
        // of the backups themselves.
        let (archiver, slots, to_tideline) = match self.wal_status(name).await {
            Ok(s) => (Some(s.archiver), s.slots, s.archiving_to_tideline),
            Err(e) => {
                problems.push((
                    HealthState::Warning,
                    format!("the server did not answer ({}): {}", e.code.name(), e.message),
                ));
                (None, vec![], false)
            }
        };
        if let Some(a) = &archiver {
            let last_ok = a.last_archived_time.as_deref().and_then(parse);
            let last_failed = a.last_failed_time.as_deref().and_then(parse);
            if last_failed.is_some_and(|f| last_ok.is_none_or(|o| f > o)) {
                problems.push((
                    HealthState::Failing,
                    format!(
                        "the WAL archiver is failing ({} failures, the last on {})",
                        a.failed_count,
                        a.last_failed_wal.as_deref().unwrap_or("?")
                    ),
                ));
            }
        }
        for s in slots.iter().filter(|s| s.retained_bytes.unwrap_or(0) > crate::wal::status::RETAINED_WARN_BYTES) {
            problems.push((
                HealthState::Warning,
                format!("slot {} holds {} MB of WAL", s.name, s.retained_bytes.unwrap_or(0) >> 20),
            ));
        }
        let (newest_here, wal_bytes_after, base_bytes) = self.wal_facts(&backups)?;
        // archive_command into a bucket stores nothing here: the server says when its last
        // push succeeded.
        let pushed =
            archiver.as_ref().filter(|_| to_tideline).and_then(|a| a.last_archived_time.as_deref().and_then(parse));
        let newest_wal = newest_here.max(pushed);
        let rpo = estimate::rpo(now, newest_wal, newest.map(|(t, _)| t));
        let rates = self.catalog().measurements(name)?.first().and_then(|m| {
            (m.laydown_ms > 0 && m.replay_ms > 0).then(|| {
                (
                    m.backup_bytes as f64 * 1000.0 / m.laydown_ms as f64,
                    m.replayed_wal_bytes.max(1) as f64 * 1000.0 / m.replay_ms as f64,
                )
            })
        });
        // The newest usable backup: a base backup when there is one (PITR), else a dump.
        let usable = base_bytes.or_else(|| newest.map(|(_, b)| b.size_bytes));
        let rto = estimate::rto(usable, wal_bytes_after, rates);
        problems.sort_by_key(|p| std::cmp::Reverse(p.0));
        Ok(ProfileHealth {
            profile: name.to_string(),
            state: problems.first().map(|p| p.0).unwrap_or(HealthState::Ok),
            newest_backup,
            threshold_hours,
            archiver,
            slots,
            rpo,
            rto,
            problems: problems.into_iter().map(|p| p.1).collect(),
        })
    }

    /// From the repository: when the newest WAL landed, how much WAL follows the newest base
    /// backup, and that backup's size.
    fn wal_facts(
        &self,
        backups: &[crate::catalog::backups::BackupRecord],
    ) -> Result<(Option<DateTime<Utc>>, u64, Option<u64>)> {
        let base = backups
            .iter()
            .filter(|b| {
                b.kind == crate::repo::manifest::BackupKind::Base
                    && b.status == crate::repo::manifest::BackupStatus::Complete
            })
            .max_by(|a, b| a.finished_at.cmp(&b.finished_at));
        let Some(base) = base else { return Ok((None, 0, None)) };
        let Some(physical) = self.catalog().backup_manifest(&base.id)?.physical else {
            return Ok((None, 0, Some(base.size_bytes)));
        };
        let archive = crate::wal::archive::WalArchive::open(
            self.repository()?.root(),
            physical.system_identifier.parse().unwrap_or(0),
        );
        let names = archive.names()?;
        let segment_bytes = archive.segment_bytes(&names);
        let start = crate::pg::lsn::lsn(&physical.start_lsn).unwrap_or(0) / segment_bytes;
        let mut newest: Option<DateTime<Utc>> = None;
        let mut after = 0u64;
        for name in names {
            let Some(seg) = crate::wal::file_names::segment(&name, segment_bytes) else { continue };
            if let Ok(m) = std::fs::metadata(archive.path_of(&name)).and_then(|m| m.modified()) {
                let t: DateTime<Utc> = m.into();
                newest = Some(newest.map_or(t, |n| n.max(t)));
            }
            if seg.number >= start {
                after += segment_bytes;
            }
        }
        Ok((newest, after, Some(base.size_bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(profile: &str, state: HealthState) -> ProfileHealth {
        let none = Estimate { seconds: None, formula: String::new(), measured: false };
        ProfileHealth {
            profile: profile.into(),
            state,
            newest_backup: None,
            threshold_hours: DEFAULT_THRESHOLD_HOURS,
            archiver: None,
            slots: vec![],
            rpo: none.clone(),
            rto: none,
            problems: vec![],
        }
    }

    #[test]
    fn the_tray_line_names_the_worst() {
        assert_eq!(summary(&[]), "No profiles yet");
        assert_eq!(summary(&[of("a", HealthState::Ok)]), "All 1 profile healthy");
        assert_eq!(summary(&[of("a", HealthState::Ok), of("b", HealthState::Ok)]), "All 2 profiles healthy");
        assert_eq!(summary(&[of("a", HealthState::Ok), of("b", HealthState::Warning)]), "1 profile with warnings");
        assert_eq!(summary(&[of("a", HealthState::Warning), of("b", HealthState::Failing)]), "b needs attention");
        assert_eq!(
            summary(&[of("a", HealthState::Failing), of("b", HealthState::Failing)]),
            "2 profiles need attention"
        );
    }
}

//! `tideline schedule run-due`: every enabled schedule's due occurrence is started (missed ones
//! recorded, one catch-up made up for them), each under the catalog's run lock, at most
//! `limit` at a time across profiles. A run whose runner died (its process is gone, or it has
//! not beaten its heart for an hour) is marked crashed first, so it never blocks forever.
//!
//! The work itself is passed in: the real one takes the backups; tests pass one that waits, to
//! race two runners without sleeping.

use super::due::plan;
use super::when::Timing;
use super::{utc_text, RunKind, ScheduleRun, ScheduleSpec, ScheduleWhat};
use crate::catalog::schedules::Refused;
use crate::engine::Engine;
use crate::error::Result;
use crate::job::Job;
use crate::notify::payload::NotifyEvent;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use ts_rs::TS;

/// How late an occurrence may start and still count as on time (a runner polls each minute).
pub const GRACE_MINUTES: i64 = 10;
/// A running run with no heartbeat for this long is taken for crashed.
pub const STALE_MINUTES: i64 = 60;
/// Runs at a time, across profiles.
pub const DEFAULT_LIMIT: u32 = 2;

pub type WorkFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<String>>> + 'a>>;

/// What a run does; returns the backup it made.
pub trait ScheduledWork {
    fn run<'a>(&'a self, engine: &'a Engine, spec: &'a ScheduleSpec) -> WorkFuture<'a>;
}

/// The real work: the backup the schedule names.
pub struct Backups;

impl ScheduledWork for Backups {
    fn run<'a>(&'a self, engine: &'a Engine, spec: &'a ScheduleSpec) -> WorkFuture<'a> {
        Box::pin(async move {
            let job = Job::silent();
            let record = match &spec.what {
                ScheduleWhat::Database { database } => {
                    let opts =
                        crate::logical::options::DumpOptions { database: database.clone(), ..Default::default() };
                    engine.backup(&spec.profile, &opts, &job).await?
                }
                ScheduleWhat::Globals => {
                    engine.dumpall(&spec.profile, crate::logical::dumpall::DumpallMode::Globals, &job).await?
                }
                ScheduleWhat::Cluster => {
                    engine.dumpall(&spec.profile, crate::logical::dumpall::DumpallMode::Cluster, &job).await?
                }
                ScheduleWhat::BaseBackup => engine.basebackup(&spec.profile, &Default::default(), &job).await?,
            };
            Ok(Some(record.id))
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RunDueReport {
    /// Runs this runner started, as they finished.
    pub ran: Vec<ScheduleRun>,
    /// Occurrences newly recorded as missed: (schedule, occurrence).
    pub missed: Vec<(String, String)>,
    /// Due, but another run holds the schedule or the limit was reached: (schedule, why).
    pub deferred: Vec<(String, String)>,
    /// Runs found running with their runner gone, now marked crashed.
    pub recovered: Vec<ScheduleRun>,
    /// Health alerts sent (stale backups, a failing archiver).
    pub alerts: Vec<crate::notify::payload::Notification>,
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl Engine {
    pub async fn schedule_run_due(&self, runner: &str, work: &dyn ScheduledWork, limit: u32) -> Result<RunDueReport> {
        let now = self.clock.now().with_timezone(&chrono::Utc);
        let now_text = utc_text(now);
        let stale_before = utc_text(now - chrono::Duration::minutes(STALE_MINUTES));
        let me = std::process::id();
        let is_stale = |r: &ScheduleRun| {
            let gone = r.pid.is_some_and(|p| p != me && !process_alive(p));
            let silent = r.heartbeat_at.as_deref().is_some_and(|h| h < stale_before.as_str());
            gone || silent
        };
        let recovered = self.catalog().recover_stale_runs(&is_stale, &now_text)?;
        let mut report = RunDueReport { ran: vec![], missed: vec![], deferred: vec![], recovered, alerts: vec![] };
        // Listed first: a guard taken in the loop's head would be held through the loop.
        let schedules = self.catalog().schedules()?;
        for schedule in schedules.into_iter().filter(|s| s.enabled) {
            let timing = Timing::new(&schedule.spec.when, &schedule.spec.time_zone)?;
            let since = chrono::DateTime::parse_from_rfc3339(&schedule.considered_until)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or(now);
            // Bounded: a year of minutely occurrences is not worth listing one by one.
            let occurrences: Vec<_> =
                timing.between(since, now, 10_000).into_iter().map(|t| t.with_timezone(&chrono::Utc)).collect();
            let due = plan(&occurrences, now, chrono::Duration::minutes(GRACE_MINUTES), schedule.spec.catch_up);
            let missed: Vec<String> = due.missed.iter().map(|t| utc_text(*t)).collect();
            report.missed.extend(missed.iter().map(|m| (schedule.id.clone(), m.clone())));
            let Some((occurrence, catch_up)) = due.run else {
                if !occurrences.is_empty() {
                    self.catalog().consider_schedule_until(&schedule.id, &missed, &now_text, runner)?;
                }
                continue;
            };
            let kind = if catch_up { RunKind::CatchUp } else { RunKind::Scheduled };
            let started = self.catalog().start_schedule_run(
                &schedule.id,
                &utc_text(occurrence),
                kind,
                &missed,
                &now_text,
                runner,
                &now_text,
                limit,
            )?;
            let run_id = match started {
                Ok(id) => id,
                Err(why) => {
                    let why = match why {
                        Refused::AlreadyRunning => "a run of this schedule is going",
                        Refused::Taken => "another runner started it",
                        Refused::AtLimit => "as many runs as allowed are going",
                    };
                    report.deferred.push((schedule.id.clone(), why.to_string()));
                    continue;
                }
            };
            tracing::info!(schedule = %schedule.id, occurrence = %utc_text(occurrence), ?kind, "scheduled run starting");
            let outcome = self.with_heartbeat(run_id, work.run(self, &schedule.spec)).await;
            let done = utc_text(self.clock.now().with_timezone(&chrono::Utc));
            match &outcome {
                Ok(backup) => {
                    self.catalog().finish_schedule_run(run_id, "succeeded", &done, backup.as_deref(), None)?;
                    // Only after a success, and only among the backups of the same series.
                    if let (Some(id), false) = (backup, schedule.spec.retention.is_empty()) {
                        let series = self.catalog().backup(id).map(|b| crate::retention::series_of(&b));
                        let applied = series.and_then(|s| {
                            self.retention(&schedule.spec.profile, &schedule.spec.retention, Some(&s), true)
                        });
                        if let Err(e) = applied {
                            tracing::warn!(schedule = %schedule.id, error = %e.message, "applying retention");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(schedule = %schedule.id, code = ?e.code, error = %e.message, "scheduled run failed");
                    let text = format!("{}: {}", e.code.name(), e.message);
                    self.catalog().finish_schedule_run(run_id, "failed", &done, None, Some(&text))?
                }
            }
            let note = crate::notify::payload::Notification {
                event: if outcome.is_ok() { NotifyEvent::Success } else { NotifyEvent::Failure },
                profile: schedule.spec.profile.clone(),
                message: match &outcome {
                    Ok(b) => format!("scheduled backup {} done", b.as_deref().unwrap_or("")),
                    Err(e) => format!("scheduled backup failed ({}): {}", e.code.name(), e.message),
                },
                backup_id: outcome.as_ref().ok().cloned().flatten(),
                schedule_id: Some(schedule.id.clone()),
                at: done.clone(),
            };
            self.notify(&note, crate::notify::Retry::default()).await;
            if let Some(run) = self.catalog().schedule_runs(&schedule.id)?.into_iter().find(|r| r.id == run_id) {
                report.ran.push(run);
            }
        }
        // Hourly at most: stale backups and a failing archiver reach the hooks that want them.
        match self.health_alerts(crate::notify::Retry::default()).await {
            Ok(sent) => report.alerts = sent,
            Err(e) => tracing::warn!(code = ?e.code, error = %e.message, "checking health for alerts"),
        }
        Ok(report)
    }

    /// Runs `work`, beating the run's heart each minute so other runners see it alive.
    async fn with_heartbeat(&self, run_id: i64, work: super::run::WorkFuture<'_>) -> Result<Option<String>> {
        let mut work = work;
        let mut beat = tokio::time::interval(std::time::Duration::from_secs(60));
        beat.tick().await;
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = beat.tick() => {
                    let now = utc_text(self.clock.now().with_timezone(&chrono::Utc));
                    if let Err(e) = self.catalog().heartbeat_schedule_run(run_id, &now) {
                        tracing::warn!(error = %e.message, "recording a scheduled run's heartbeat");
                    }
                }
            }
        }
    }
}

//! `tideline schedule run-due`: every enabled schedule's due occurrence is started (missed ones
//! recorded, one catch-up made up for them), each under the catalog's run lock, at most
//! `limit` at a time across profiles. A run whose runner died (its process is gone, or it has
//! not beaten its heart for an hour) is marked crashed first, so it never blocks forever.
//!
//! The work itself is passed in: the real one takes the backups; tests pass one that waits, to
//! race two runners without sleeping.

use super::due::plan;
use super::when::Timing;
use super::{utc_text, RunKind, ScheduleRecord, ScheduleRun, ScheduleSpec, ScheduleWhat};
use crate::catalog::schedules::Refused;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
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

pub type WorkFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>>> + Send + 'a>>;

/// What a run does; returns the backups it made. Send and Sync so the app's runner and its
/// "Run now" command can run it on any thread.
pub trait ScheduledWork: Send + Sync {
    fn run<'a>(&'a self, engine: &'a Engine, spec: &'a ScheduleSpec) -> WorkFuture<'a>;
}

/// The real work: the backups (or the verification) the schedule names.
pub struct BackupWork;

impl ScheduledWork for BackupWork {
    fn run<'a>(&'a self, engine: &'a Engine, spec: &'a ScheduleSpec) -> WorkFuture<'a> {
        Box::pin(async move {
            let job = Job::silent();
            let profile = spec.profile.as_str();
            let dump = |database: Option<String>| crate::repo::options::DumpOptions { database, ..Default::default() };
            let made = match &spec.what {
                ScheduleWhat::Database { database } => {
                    vec![engine.backup(profile, &dump(database.clone()), &job).await?]
                }
                ScheduleWhat::EveryDatabase => {
                    let databases = engine.databases(profile).await?;
                    let mut made = Vec::new();
                    // One failed database fails the run, after the others were tried.
                    let mut failed = None;
                    for d in databases {
                        match engine.backup(profile, &dump(Some(d.name.clone())), &job).await {
                            Ok(b) => made.push(b),
                            Err(e) => failed = Some(e),
                        }
                    }
                    if let Some(e) = failed {
                        return Err(e);
                    }
                    made
                }
                ScheduleWhat::Globals => {
                    vec![engine.dumpall(profile, crate::logical::dumpall::DumpallMode::Globals, &job).await?]
                }
                ScheduleWhat::Cluster => {
                    vec![engine.dumpall(profile, crate::logical::dumpall::DumpallMode::Cluster, &job).await?]
                }
                ScheduleWhat::BaseBackup => vec![engine.basebackup(profile, &Default::default(), &job).await?],
                ScheduleWhat::Verify => {
                    verify_newest(engine, profile).await?;
                    vec![]
                }
            };
            Ok(made.into_iter().map(|b| b.id).collect())
        })
    }
}

/// Checks and test-restores the newest complete logical backup of each series of `profile`;
/// fails naming every one that did not pass.
async fn verify_newest(engine: &Engine, profile: &str) -> Result<()> {
    let mut newest: std::collections::BTreeMap<String, crate::catalog::backups::BackupRecord> = Default::default();
    for b in engine.backups(Some(profile))?.into_iter().filter(|b| {
        b.status == crate::repo::manifest::BackupStatus::Complete && b.kind != crate::repo::manifest::BackupKind::Base
    }) {
        let series = crate::retention::series_of(&b);
        if newest.get(&series).is_none_or(|n| n.finished_at < b.finished_at) {
            newest.insert(series, b);
        }
    }
    if newest.is_empty() {
        return Err(crate::error::Error::new(
            crate::error::ErrorCode::VerifyFailed,
            format!("{profile} has no complete logical backup to verify"),
            "Schedule a backup of the profile's databases before its verification.",
        ));
    }
    let mut failed = Vec::new();
    for b in newest.values() {
        let report = engine.verify(&b.id, true, &Job::silent()).await?;
        if report.status != "passed" {
            failed.push(format!("{} ({})", b.id, report.problems.join("; ")));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(crate::error::Error::new(
            crate::error::ErrorCode::VerifyFailed,
            format!("verification failed for {}", failed.join(", ")),
            "`tideline verify ID` shows each problem; take a new backup of what failed.",
        ))
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
            report.ran.push(self.carry_out(run_id, &schedule, work).await?);
        }
        // Hourly at most: stale backups and a failing archiver reach the hooks that want them.
        match self.health_alerts(crate::notify::Retry::default()).await {
            Ok(sent) => report.alerts = sent,
            Err(e) => tracing::warn!(code = ?e.code, error = %e.message, "checking health for alerts"),
        }
        Ok(report)
    }

    /// Starts a run of schedule `id` now, outside its times ("Run now"), under the same lock:
    /// refused while a run of it is going. Missed occurrences and the next one are untouched.
    pub async fn schedule_run_now(&self, id: &str, runner: &str, work: &dyn ScheduledWork) -> Result<ScheduleRun> {
        let schedule = self.schedule(id, 0)?.record;
        let now = utc_text(self.clock.now().with_timezone(&chrono::Utc));
        // No concurrency limit: the user asked for this one.
        let started = self.catalog().start_schedule_run(
            id,
            &now,
            RunKind::Manual,
            &[],
            &schedule.considered_until,
            runner,
            &now,
            u32::MAX,
        )?;
        let run_id = started.map_err(|why| {
            let what = match why {
                Refused::AlreadyRunning => "a run of it is going",
                Refused::Taken | Refused::AtLimit => "a run of it started this second",
            };
            Error::new(
                ErrorCode::ScheduleBusy,
                format!("schedule {id} was not started: {what}"),
                "Wait for that run to finish; the calendar shows it.",
            )
        })?;
        tracing::info!(schedule = %id, "run started by hand");
        self.carry_out(run_id, &schedule, work).await
    }

    /// Does a started run's work and records how it went: the outcome, retention after a
    /// success, the notifications.
    async fn carry_out(&self, run_id: i64, schedule: &ScheduleRecord, work: &dyn ScheduledWork) -> Result<ScheduleRun> {
        let outcome = self.with_heartbeat(run_id, work.run(self, &schedule.spec)).await;
        let done = utc_text(self.clock.now().with_timezone(&chrono::Utc));
        match &outcome {
            Ok(backups) => {
                self.catalog().finish_schedule_run(run_id, super::RunStatus::Succeeded, &done, backups, None)?;
                // Only after a success, and only among the backups of the same series.
                if !schedule.spec.retention.is_empty() {
                    let mut series: Vec<String> = backups
                        .iter()
                        .filter_map(|id| self.catalog().backup(id).ok())
                        .map(|b| crate::retention::series_of(&b))
                        .collect();
                    series.dedup();
                    for s in series {
                        if let Err(e) = self.retention(&schedule.spec.profile, &schedule.spec.retention, Some(&s), true)
                        {
                            tracing::warn!(schedule = %schedule.id, error = %e.message, "applying retention");
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(schedule = %schedule.id, code = ?e.code, error = %e.message, "scheduled run failed");
                let text = format!("{}: {}", e.code.name(), e.message);
                self.catalog().finish_schedule_run(run_id, super::RunStatus::Failed, &done, &[], Some(&text))?
            }
        }
        let noun = if schedule.spec.what == ScheduleWhat::Verify { "verification" } else { "backup" };
        let note = crate::notify::payload::Notification {
            event: if outcome.is_ok() { NotifyEvent::Success } else { NotifyEvent::Failure },
            profile: schedule.spec.profile.clone(),
            message: match &outcome {
                Ok(b) if b.is_empty() => format!("scheduled {noun} done"),
                Ok(b) => format!("scheduled {noun} {} done", b.join(", ")),
                Err(e) => format!("scheduled {noun} failed ({}): {}", e.code.name(), e.message),
            },
            backup_id: outcome.as_ref().ok().and_then(|b| b.first().cloned()),
            schedule_id: Some(schedule.id.clone()),
            at: done.clone(),
        };
        self.notify(&note, crate::notify::Retry::default()).await;
        self.catalog()
            .schedule_runs(&schedule.id)?
            .into_iter()
            .find(|r| r.id == run_id)
            .ok_or_else(|| Error::internal(format!("run {run_id} vanished from the catalog")))
    }

    /// Runs `work`, beating the run's heart each minute so other runners see it alive.
    async fn with_heartbeat(&self, run_id: i64, work: WorkFuture<'_>) -> Result<Vec<String>> {
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

//! "Back up now": every enabled schedule, run now, one after the other — the tray's menu item
//! and `tideline schedule run-all`. Each run is a manual run under its schedule's own lock.

use super::run::ScheduledWork;
use super::{RunStatus, ScheduleRun};
use crate::engine::Engine;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RunAllReport {
    /// One per enabled schedule that started, succeeded or not.
    pub runs: Vec<ScheduleRun>,
    /// Schedules that could not start (a run of it was already going), with why.
    pub refused: Vec<RefusedRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RefusedRun {
    pub schedule_id: String,
    pub code: String,
    pub message: String,
}

impl RunAllReport {
    pub fn succeeded(&self) -> usize {
        self.runs.iter().filter(|r| r.status == RunStatus::Succeeded).count()
    }

    /// Runs that failed and schedules that could not start.
    pub fn failed(&self) -> usize {
        self.runs.len() - self.succeeded() + self.refused.len()
    }
}

impl Engine {
    pub async fn schedule_run_all_now(&self, runner: &str, work: &dyn ScheduledWork) -> Result<RunAllReport> {
        let enabled: Vec<String> =
            self.schedules()?.into_iter().filter(|s| s.record.enabled).map(|s| s.record.id).collect();
        let mut report = RunAllReport::default();
        for id in enabled {
            match self.schedule_run_now(&id, runner, work).await {
                Ok(run) => report.runs.push(run),
                Err(e) => {
                    tracing::warn!(schedule = %id, error = %e.message, "back up now");
                    report.refused.push(RefusedRun { schedule_id: id, code: e.code.name(), message: e.message });
                }
            }
        }
        Ok(report)
    }
}

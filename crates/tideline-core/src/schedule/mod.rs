//! Backups nobody has to remember: schedules per profile (what, when, in which time zone),
//! their occurrences, and running what is due — once, whichever runner gets there first.

pub mod agent;
pub mod calendar;
pub mod due;
pub mod run;
pub mod run_all;
#[cfg(test)]
mod run_tests;
pub mod service;
pub mod when;

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use when::{Timing, When};

/// What a schedule runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum ScheduleWhat {
    /// A logical backup of one database (the profile's when none is named).
    Database { database: Option<String> },
    /// pg_dumpall of the globals (roles, tablespaces).
    Globals,
    /// The whole cluster with pg_dumpall.
    Cluster,
    /// Each database the profile's role can connect to, one logical backup each.
    EveryDatabase,
    /// A physical base backup.
    BaseBackup,
    /// The newest logical backup of each database (and of the globals or cluster), checked and
    /// test-restored into a managed cluster, its row counts compared.
    Verify,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScheduleSpec {
    pub profile: String,
    pub what: ScheduleWhat,
    pub when: When,
    /// IANA time zone the times are in.
    pub time_zone: String,
    /// After missed occurrences (machine asleep, app closed), run once at the next chance.
    pub catch_up: bool,
    /// Applied to the run's series after each successful run (empty: keep everything).
    #[serde(default)]
    pub retention: crate::retention::select::RetentionPolicy,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScheduleRecord {
    pub id: String,
    pub spec: ScheduleSpec,
    pub enabled: bool,
    pub created_at: String,
    /// Occurrences up to here were run, taken by a runner, or recorded missed (RFC 3339 UTC).
    pub considered_until: String,
}

/// A schedule for people: the record, its expression in words and its next occurrences.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Schedule {
    #[serde(flatten)]
    pub record: ScheduleRecord,
    pub expression: String,
    pub description: String,
    /// What it backs up, in words (as the calendar says it).
    pub what: String,
    /// The next occurrences, RFC 3339 in the schedule's zone.
    pub next: Vec<String>,
}

/// What a schedule's times would be, before it is saved: for the form as the user types.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SchedulePreview {
    pub expression: String,
    pub description: String,
    /// RFC 3339 in the schedule's zone.
    pub next: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RunKind {
    Scheduled,
    /// The one run made up for occurrences missed.
    CatchUp,
    Missed,
    /// Started by hand ("Run now"), outside the schedule's times.
    Manual,
}

impl RunKind {
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Scheduled => "scheduled",
            RunKind::CatchUp => "catch_up",
            RunKind::Missed => "missed",
            RunKind::Manual => "manual",
        }
    }

    pub fn from_name(s: &str) -> RunKind {
        match s {
            "catch_up" => RunKind::CatchUp,
            "missed" => RunKind::Missed,
            "manual" => RunKind::Manual,
            _ => RunKind::Scheduled,
        }
    }
}

/// running, succeeded, failed, crashed (its runner stopped first) or missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Crashed,
    Missed,
}

crate::named_enum!(RunStatus {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Crashed => "crashed",
    Missed => "missed",
});

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ScheduleRun {
    #[ts(type = "number")]
    pub id: i64,
    pub schedule_id: String,
    /// The occurrence it is for (RFC 3339 UTC).
    pub occurrence: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub runner: String,
    pub pid: Option<u32>,
    pub started_at: Option<String>,
    pub heartbeat_at: Option<String>,
    pub finished_at: Option<String>,
    /// The backups the run made (one per database for `every_database`).
    pub backup_ids: Vec<String>,
    pub error: Option<String>,
}

pub(crate) fn utc_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn missing(id: &str) -> Error {
    Error::new(ErrorCode::ScheduleMissing, format!("no schedule {id}"), "`tideline schedule list` shows the schedules.")
}

impl Engine {
    fn schedule_view(&self, record: ScheduleRecord, next: usize) -> Result<Schedule> {
        let timing = Timing::new(&record.spec.when, &record.spec.time_zone)?;
        let now = self.clock.now().with_timezone(&chrono::Utc);
        Ok(Schedule {
            expression: record.spec.when.expression()?,
            description: timing.describe(),
            what: calendar::what_text(&record.spec.what),
            next: timing.next(now, next).iter().map(|t| t.to_rfc3339()).collect(),
            record,
        })
    }

    /// `when` in `zone` in words, with its next `n` occurrences; errors as `schedule_add` would.
    pub fn schedule_preview(&self, when: &When, zone: &str, n: usize) -> Result<SchedulePreview> {
        let timing = Timing::new(when, zone)?;
        let now = self.clock.now().with_timezone(&chrono::Utc);
        Ok(SchedulePreview {
            expression: when.expression()?,
            description: timing.describe(),
            next: timing.next(now, n).iter().map(|t| t.to_rfc3339()).collect(),
        })
    }

    /// Checks and stores a new schedule; it considers occurrences from now on.
    pub fn schedule_add(&self, spec: ScheduleSpec) -> Result<Schedule> {
        self.profile(&spec.profile)?;
        Timing::new(&spec.when, &spec.time_zone)?;
        let now = utc_text(self.clock.now().with_timezone(&chrono::Utc));
        let record = ScheduleRecord {
            id: format!("sch-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            spec,
            enabled: true,
            created_at: now.clone(),
            considered_until: now,
        };
        self.catalog().save_schedule(&record)?;
        self.schedule_view(record, 5)
    }

    /// Replaces a schedule's spec, keeping its id, state and runs. Occurrences of the new
    /// times before now are not "missed": it considers them from now on, as when added.
    pub fn schedule_update(&self, id: &str, spec: ScheduleSpec) -> Result<Schedule> {
        let mut record = self.schedule(id, 0)?.record;
        self.profile(&spec.profile)?;
        Timing::new(&spec.when, &spec.time_zone)?;
        record.spec = spec;
        record.considered_until = record.considered_until.max(utc_text(self.clock.now().with_timezone(&chrono::Utc)));
        self.catalog().save_schedule(&record)?;
        self.schedule_view(record, 5)
    }

    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        self.catalog().schedules()?.into_iter().map(|r| self.schedule_view(r, 3)).collect()
    }

    pub fn schedule(&self, id: &str, next: usize) -> Result<Schedule> {
        let record = self.catalog().schedules()?.into_iter().find(|s| s.id == id).ok_or_else(|| missing(id))?;
        self.schedule_view(record, next)
    }

    /// The runner as a user-level service for `platform` (linux, macos, windows; this one's
    /// by default): written and enabled on Linux unless `print`; printed elsewhere.
    pub fn schedule_install(
        &self,
        cli: &std::path::Path,
        platform: Option<&str>,
        print: bool,
    ) -> Result<service::InstallReport> {
        let platform = platform.unwrap_or(std::env::consts::OS);
        // The data directory travels with the service when it is not the default one.
        let env: Vec<(String, String)> = std::env::var("TIDELINE_HOME")
            .ok()
            .filter(|h| !h.is_empty())
            .map(|h| vec![("TIDELINE_HOME".to_string(), h)])
            .unwrap_or_default();
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
        match platform {
            "linux" => {
                let config =
                    std::env::var_os("XDG_CONFIG_HOME").map(std::path::PathBuf::from).unwrap_or(home.join(".config"));
                service::install_systemd(cli, &env, &config.join("systemd/user"), print, self.runner())
            }
            "macos" => {
                let dir = home.join("Library/LaunchAgents");
                Ok(service::InstallReport {
                    platform: "macos".into(),
                    note: format!(
                        "Save it as {}/dev.tideline.schedule.plist, then: launchctl load -w that file",
                        dir.display()
                    ),
                    directory: dir.display().to_string(),
                    files: vec![service::launchd(cli, &env)],
                    written: false,
                    enabled: false,
                })
            }
            "windows" => Ok(service::InstallReport {
                platform: "windows".into(),
                note:
                    "Save it as tideline-schedule.xml, then: schtasks /Create /TN Tideline /XML tideline-schedule.xml"
                        .into(),
                directory: String::new(),
                files: vec![service::task_scheduler(cli)],
                written: false,
                enabled: false,
            }),
            other => Err(Error::invalid_input(
                format!("'{other}' is not a platform Tideline knows a service for"),
                "Give linux, macos or windows.",
            )),
        }
    }

    /// Runs and missed occurrences of a schedule, oldest first.
    pub fn schedule_runs(&self, id: &str) -> Result<Vec<ScheduleRun>> {
        self.schedule(id, 0)?;
        self.catalog().schedule_runs(id)
    }

    pub fn schedule_remove(&self, id: &str) -> Result<()> {
        if !self.catalog().delete_schedule(id)? {
            return Err(missing(id));
        }
        Ok(())
    }

    /// Enabling again considers occurrences from now on: the time it was off is not "missed".
    pub fn schedule_enable(&self, id: &str, enabled: bool) -> Result<Schedule> {
        let mut record = self.schedule(id, 0)?.record;
        if enabled && !record.enabled {
            record.considered_until = utc_text(self.clock.now().with_timezone(&chrono::Utc));
        }
        record.enabled = enabled;
        self.catalog().save_schedule(&record)?;
        self.schedule_view(record, 5)
    }
}

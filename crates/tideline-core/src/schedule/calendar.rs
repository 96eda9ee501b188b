//! The backup calendar for a date range: occurrences still to come (planned), and what
//! happened (runs with their status, duration and size; missed occurrences), per day in the
//! viewer's time zone; and the same as an iCalendar file (one event per occurrence, so any
//! calendar application shows exactly Tideline's times, DST included).

use super::when::{time_zone, Timing};
use super::{RunKind, ScheduleWhat};
use crate::engine::Engine;
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CalendarEntry {
    pub schedule_id: String,
    pub profile: String,
    /// What the schedule backs up, in words.
    pub what: String,
    /// In the viewer's zone, RFC 3339.
    pub time: String,
    /// planned, scheduled, catch_up, manual or missed.
    pub kind: String,
    /// For runs: running, succeeded, failed, crashed.
    pub status: Option<super::RunStatus>,
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub size_bytes: Option<u64>,
    pub backup_ids: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CalendarDay {
    /// `YYYY-MM-DD` in the viewer's zone.
    pub date: String,
    pub entries: Vec<CalendarEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CalendarView {
    pub from: String,
    pub to: String,
    pub time_zone: String,
    /// Every day of the range, empty ones included.
    pub days: Vec<CalendarDay>,
}

/// Planned occurrences listed per schedule at most (a minutely schedule over a month).
const MAX_PLANNED: usize = 5_000;

pub(crate) fn what_text(w: &ScheduleWhat) -> String {
    match w {
        ScheduleWhat::Database { database: Some(d) } => format!("backup of {d}"),
        ScheduleWhat::Database { database: None } => "database backup".into(),
        ScheduleWhat::Globals => "globals (pg_dumpall)".into(),
        ScheduleWhat::Cluster => "whole cluster (pg_dumpall)".into(),
        ScheduleWhat::EveryDatabase => "every database".into(),
        ScheduleWhat::BaseBackup => "base backup".into(),
        ScheduleWhat::Verify => "verification of the newest backups".into(),
    }
}

impl Engine {
    /// Days `from` to `to` (inclusive) in zone `zone`.
    pub fn schedule_calendar(&self, from: NaiveDate, to: NaiveDate, zone: &str) -> Result<CalendarView> {
        if to < from || (to - from).num_days() > 400 {
            return Err(Error::invalid_input(
                format!("{from} to {to} is not a range of up to 400 days"),
                "Give --from before --to, at most about a year apart.",
            ));
        }
        let tz = time_zone(zone)?;
        let start = tz.from_local_datetime(&from.and_hms_opt(0, 0, 0).expect("midnight")).earliest();
        let end = tz
            .from_local_datetime(&(to + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest();
        let (Some(start), Some(end)) = (start, end) else {
            return Err(Error::invalid_input("the range starts or ends in a DST gap".to_string(), "Move it by a day."));
        };
        let (start, end) = (start.with_timezone(&Utc), end.with_timezone(&Utc));
        let now = self.clock.now().with_timezone(&Utc);
        let mut days: BTreeMap<NaiveDate, Vec<CalendarEntry>> = BTreeMap::new();
        let mut d = from;
        while d <= to {
            days.insert(d, Vec::new());
            d += chrono::Duration::days(1);
        }
        let backups: BTreeMap<String, crate::catalog::backups::BackupRecord> =
            self.catalog().backups(None)?.into_iter().map(|b| (b.id.clone(), b)).collect();
        let mut place = |t: DateTime<Utc>, entry: CalendarEntry| {
            let local = t.with_timezone(&tz);
            if let Some(day) = days.get_mut(&local.date_naive()) {
                day.push(CalendarEntry { time: local.to_rfc3339(), ..entry });
            }
        };
        // Listed first: a guard taken in the loop's head would be held through the loop.
        let schedules = self.catalog().schedules()?;
        for s in schedules {
            let base = CalendarEntry {
                schedule_id: s.id.clone(),
                profile: s.spec.profile.clone(),
                what: what_text(&s.spec.what),
                time: String::new(),
                kind: String::new(),
                status: None,
                duration_ms: None,
                size_bytes: None,
                backup_ids: vec![],
                error: None,
            };
            if s.enabled {
                let timing = Timing::new(&s.spec.when, &s.spec.time_zone)?;
                for t in timing.between(start.max(now), end, MAX_PLANNED) {
                    let t = t.with_timezone(&Utc);
                    if t < end {
                        place(t, CalendarEntry { kind: "planned".into(), ..base.clone() });
                    }
                }
            }
            let runs = self.catalog().schedule_runs(&s.id)?;
            for run in runs {
                // A run sits on the day it started; a missed occurrence on its own.
                let at = run.started_at.as_deref().unwrap_or(&run.occurrence);
                let Ok(t) = DateTime::parse_from_rfc3339(at).map(|t| t.with_timezone(&Utc)) else { continue };
                if t < start || t >= end {
                    continue;
                }
                let duration_ms = match (&run.started_at, &run.finished_at) {
                    (Some(a), Some(b)) => DateTime::parse_from_rfc3339(b)
                        .ok()
                        .zip(DateTime::parse_from_rfc3339(a).ok())
                        .map(|(b, a)| (b - a).num_milliseconds().max(0) as u64),
                    _ => None,
                };
                let sizes: Vec<u64> =
                    run.backup_ids.iter().filter_map(|id| backups.get(id)).map(|b| b.size_bytes).collect();
                let size_bytes = (!sizes.is_empty()).then(|| sizes.iter().sum());
                place(
                    t,
                    CalendarEntry {
                        kind: run.kind.name().into(),
                        status: (run.kind != RunKind::Missed).then_some(run.status),
                        duration_ms,
                        size_bytes,
                        backup_ids: run.backup_ids.clone(),
                        error: run.error.clone(),
                        ..base.clone()
                    },
                );
            }
        }
        Ok(CalendarView {
            from: from.to_string(),
            to: to.to_string(),
            time_zone: tz.name().to_string(),
            days: days
                .into_iter()
                .map(|(date, mut entries)| {
                    entries.sort_by(|a, b| a.time.cmp(&b.time));
                    CalendarDay { date: date.to_string(), entries }
                })
                .collect(),
        })
    }

    /// [`Engine::schedule_ics`] written to `path` (its folder made if need be).
    pub fn schedule_ics_file(&self, from: NaiveDate, to: NaiveDate, path: &std::path::Path) -> Result<()> {
        let text = self.schedule_ics(from, to)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    /// The planned occurrences of `from`..`to` as an iCalendar file.
    pub fn schedule_ics(&self, from: NaiveDate, to: NaiveDate) -> Result<String> {
        use icalendar::{Calendar, Component, EventLike};
        let view = self.schedule_calendar(from, to, "UTC")?;
        let mut calendar = Calendar::new();
        calendar.name("Tideline backups");
        for e in view.days.iter().flat_map(|d| &d.entries).filter(|e| e.kind == "planned") {
            let Ok(t) = DateTime::parse_from_rfc3339(&e.time).map(|t| t.with_timezone(&Utc)) else { continue };
            let event = icalendar::Event::new()
                .uid(&format!("{}-{}@tideline", e.schedule_id, t.format("%Y%m%dT%H%M%SZ")))
                .summary(&format!("Tideline: {} ({})", e.what, e.profile))
                .starts(t)
                .ends(t + chrono::Duration::minutes(15))
                .description(&format!("Schedule {} of profile {}", e.schedule_id, e.profile))
                .done();
            calendar.push(event);
        }
        Ok(calendar.done().to_string())
    }
}

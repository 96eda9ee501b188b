//! Schedules, the backup calendar, "Run now", retention previews and the health dashboard.

use tauri::{Manager, State};
use tideline_core::health::ProfileHealth;
use tideline_core::retention::select::RetentionPolicy;
use tideline_core::retention::RetentionReport;
use tideline_core::schedule::calendar::CalendarView;
use tideline_core::schedule::run::BackupWork;
use tideline_core::schedule::when::When;
use tideline_core::schedule::{Schedule, SchedulePreview, ScheduleRun, ScheduleSpec};
use tideline_core::{Engine, Error};

fn day(text: &str) -> Result<chrono::NaiveDate, Error> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| Error::invalid_input(format!("'{text}' is not a date"), "Dates are YYYY-MM-DD."))
}

#[tauri::command]
pub fn schedules_list(engine: State<'_, Engine>) -> Result<Vec<Schedule>, Error> {
    engine.schedules()
}

#[tauri::command]
pub fn schedule_preview(engine: State<'_, Engine>, when: When, time_zone: String) -> Result<SchedulePreview, Error> {
    engine.schedule_preview(&when, &time_zone, 5)
}

#[tauri::command]
pub fn schedule_add(engine: State<'_, Engine>, spec: ScheduleSpec) -> Result<Schedule, Error> {
    engine.schedule_add(spec)
}

#[tauri::command]
pub fn schedule_update(engine: State<'_, Engine>, id: String, spec: ScheduleSpec) -> Result<Schedule, Error> {
    engine.schedule_update(&id, spec)
}

#[tauri::command]
pub fn schedule_remove(engine: State<'_, Engine>, id: String) -> Result<(), Error> {
    engine.schedule_remove(&id)
}

#[tauri::command]
pub fn schedule_enable(engine: State<'_, Engine>, id: String, enabled: bool) -> Result<Schedule, Error> {
    engine.schedule_enable(&id, enabled)
}

#[tauri::command]
pub async fn schedule_run_now(engine: State<'_, Engine>, id: String) -> Result<ScheduleRun, Error> {
    engine.schedule_run_now(&id, &crate::runner::name(), &BackupWork).await
}

#[tauri::command]
pub fn schedule_calendar(
    engine: State<'_, Engine>,
    from: String,
    to: String,
    time_zone: String,
) -> Result<CalendarView, Error> {
    engine.schedule_calendar(day(&from)?, day(&to)?, &time_zone)
}

/// Writes the planned occurrences as an .ics file to the Downloads folder; returns its path.
#[tauri::command]
pub fn schedule_ics_export(
    app: tauri::AppHandle,
    engine: State<'_, Engine>,
    from: String,
    to: String,
) -> Result<String, Error> {
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| Error::internal(format!("finding the Downloads folder: {e}")))?;
    let path = dir.join(format!("tideline-schedules-{from}.ics"));
    engine.schedule_ics_file(day(&from)?, day(&to)?, &path)?;
    Ok(path.display().to_string())
}

#[tauri::command]
pub fn retention_preview(
    engine: State<'_, Engine>,
    profile: String,
    policy: RetentionPolicy,
) -> Result<RetentionReport, Error> {
    engine.retention(&profile, &policy, None, false)
}

#[tauri::command]
pub async fn health_list(engine: State<'_, Engine>, threshold_hours: f64) -> Result<Vec<ProfileHealth>, Error> {
    engine.health(None, threshold_hours).await
}

//! `tideline schedule …`: schedules and the one-shot runner.

use crate::args::{ScheduleAddArgs, ScheduleCommand};
use crate::output::Reply;
use tideline_core::schedule::run::BackupWork;
use tideline_core::schedule::when::When;
use tideline_core::schedule::{Schedule, ScheduleSpec};
use tideline_core::{Engine, Error, Result};

/// `DAY@HH:MM`.
fn day_at(text: &str, flag: &str) -> Result<(String, String)> {
    text.split_once('@').map(|(d, t)| (d.to_string(), t.to_string())).ok_or_else(|| {
        Error::invalid_input(format!("--{flag} '{text}' is not DAY@HH:MM"), format!("Write e.g. --{flag} sun@03:00."))
    })
}

fn spec(a: ScheduleAddArgs) -> Result<ScheduleSpec> {
    let when = if let Some(expression) = a.cron {
        When::Cron { expression }
    } else if let Some(minute) = a.hourly {
        When::Hourly { minute }
    } else if let Some(at) = a.daily {
        When::Daily { at }
    } else if let Some(at) = a.weekdays {
        When::Weekdays { at }
    } else if let Some(w) = a.weekly {
        let (weekday, at) = day_at(&w, "weekly")?;
        When::Weekly { weekday, at }
    } else {
        let (day, at) = day_at(a.monthly.as_deref().unwrap_or_default(), "monthly")?;
        let day = day
            .parse()
            .map_err(|_| Error::invalid_input(format!("'{day}' is not a day of the month"), "Give 1 to 28."))?;
        When::Monthly { day, at }
    };
    let what = a.what.with_database(a.database);
    let time_zone = a.tz.or_else(|| iana_time_zone::get_timezone().ok()).unwrap_or_else(|| "UTC".into());
    Ok(ScheduleSpec {
        profile: a.profile,
        what,
        when,
        time_zone,
        catch_up: !a.no_catch_up,
        retention: a.retention.policy(),
    })
}

fn backups_text(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" → {}", ids.join(", "))
    }
}

fn describe(s: &Schedule) -> String {
    let state = if s.record.enabled { "" } else { " (disabled)" };
    let mut text =
        format!("{} {}{state}: {} — {} [{}]", s.record.id, s.record.spec.profile, s.what, s.description, s.expression);
    for n in &s.next {
        text.push_str(&format!("\n  next {n}"));
    }
    text
}

pub async fn run(engine: &Engine, cmd: ScheduleCommand) -> Result<Reply> {
    match cmd {
        ScheduleCommand::Add(a) => {
            let s = engine.schedule_add(spec(*a)?)?;
            Ok(Reply::of(&s, describe(&s)))
        }
        ScheduleCommand::Edit { id, args } => {
            let s = engine.schedule_update(&id, spec(*args)?)?;
            Ok(Reply::of(&s, describe(&s)))
        }
        ScheduleCommand::Run { id } => run_now(engine, &id).await,
        ScheduleCommand::RunAll => run_all(engine).await,
        ScheduleCommand::List => {
            let all = engine.schedules()?;
            let text = if all.is_empty() {
                "no schedules".to_string()
            } else {
                all.iter().map(describe).collect::<Vec<_>>().join("\n")
            };
            Ok(Reply::new(serde_json::json!({ "schedules": all }), text))
        }
        ScheduleCommand::Show { id, next } => show(engine, &id, next),
        ScheduleCommand::Remove { id } => {
            engine.schedule_remove(&id)?;
            Ok(Reply::new(serde_json::json!({ "removed": id }), format!("removed schedule {id}")))
        }
        ScheduleCommand::Enable { id } => {
            let s = engine.schedule_enable(&id, true)?;
            Ok(Reply::of(&s, describe(&s)))
        }
        ScheduleCommand::Disable { id } => {
            let s = engine.schedule_enable(&id, false)?;
            Ok(Reply::of(&s, describe(&s)))
        }
        ScheduleCommand::Calendar { from, to, tz, ics } => calendar(engine, from, to, tz, ics),
        ScheduleCommand::Agent { limit } => {
            let runner = format!("agent:{}", std::process::id());
            let passes = engine
                .schedule_agent(&runner, &BackupWork, limit, &mut tideline_core::schedule::agent::Minutes::new())
                .await?;
            let ran: usize = passes.iter().map(|p| p.ran.len()).sum();
            Ok(Reply::new(serde_json::json!({ "passes": passes }), format!("agent stopped after {ran} runs")))
        }
        ScheduleCommand::Install { print, platform } => {
            let cli = std::env::current_exe().map_err(|e| Error::io("finding the tideline binary", e))?;
            let r = engine.schedule_install(&cli, platform.as_deref(), print)?;
            let mut text = String::new();
            for f in &r.files {
                text.push_str(&format!("# {}\n{}\n", f.name, f.content));
            }
            text.push_str(&r.note);
            Ok(Reply::of(&r, text))
        }
        ScheduleCommand::RunDue { limit } => run_due(engine, limit).await,
    }
}

async fn run_now(engine: &Engine, id: &str) -> Result<Reply> {
    let runner = format!("cli:{}", std::process::id());
    let run = engine.schedule_run_now(id, &runner, &BackupWork).await?;
    let text = format!(
        "{} {}: {}{}{}",
        run.schedule_id,
        run.occurrence,
        run.status,
        backups_text(&run.backup_ids),
        run.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
    );
    Ok(Reply::of(&run, text))
}

async fn run_all(engine: &Engine) -> Result<Reply> {
    let runner = format!("cli:{}", std::process::id());
    let report = engine.schedule_run_all_now(&runner, &BackupWork).await?;
    let mut lines: Vec<String> = report
        .runs
        .iter()
        .map(|run| format!("{}: {}{}", run.schedule_id, run.status, backups_text(&run.backup_ids)))
        .collect();
    lines.extend(report.refused.iter().map(|r| format!("{}: not started ({}: {})", r.schedule_id, r.code, r.message)));
    lines.push(format!("{} done, {} failed", report.succeeded(), report.failed()));
    Ok(Reply::of(&report, lines.join("\n")))
}

fn show(engine: &Engine, id: &str, next: usize) -> Result<Reply> {
    let s = engine.schedule(id, next)?;
    let runs = engine.schedule_runs(id)?;
    let mut text = describe(&s);
    for r in &runs {
        text.push_str(&format!(
            "\n  {} {:?} {}{}{}",
            r.occurrence,
            r.kind,
            r.status,
            backups_text(&r.backup_ids),
            r.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        ));
    }
    let mut json = serde_json::to_value(&s).map_err(|e| Error::internal(e.to_string()))?;
    json["runs"] = serde_json::to_value(&runs).map_err(|e| Error::internal(e.to_string()))?;
    Ok(Reply::new(json, text))
}

fn calendar(
    engine: &Engine,
    from: Option<String>,
    to: Option<String>,
    tz: Option<String>,
    ics: Option<std::path::PathBuf>,
) -> Result<Reply> {
    let zone = tz.or_else(|| iana_time_zone::get_timezone().ok()).unwrap_or_else(|| "UTC".into());
    let day = |t: Option<String>, default: chrono::NaiveDate| -> Result<chrono::NaiveDate> {
        match t {
            Some(t) => chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .map_err(|_| Error::invalid_input(format!("'{t}' is not a date"), "Write YYYY-MM-DD.")),
            None => Ok(default),
        }
    };
    let today = chrono::Local::now().date_naive();
    let from = day(from, today)?;
    let to = day(to, from + chrono::Duration::days(27))?;
    let view = engine.schedule_calendar(from, to, &zone)?;
    if let Some(path) = &ics {
        engine.schedule_ics_file(from, to, path)?;
    }
    let mut text = String::new();
    for d in view.days.iter().filter(|d| !d.entries.is_empty()) {
        text.push_str(&format!("{}\n", d.date));
        for e in &d.entries {
            let status = e.status.map(|s| format!(" {s}")).unwrap_or_default();
            text.push_str(&format!("  {} {} {} {}{status}\n", &e.time[11..16], e.kind, e.profile, e.what));
        }
    }
    if let Some(path) = &ics {
        text.push_str(&format!("planned occurrences written to {}", path.display()));
    }
    let text =
        if text.is_empty() { "nothing planned or run in that range".into() } else { text.trim_end().to_string() };
    Ok(Reply::of(&view, text))
}

async fn run_due(engine: &Engine, limit: u32) -> Result<Reply> {
    let runner = format!("run-due:{}", std::process::id());
    let r = engine.schedule_run_due(&runner, &BackupWork, limit).await?;
    let mut lines = Vec::new();
    for run in &r.ran {
        lines.push(format!(
            "{} {} {:?}: {}{}",
            run.schedule_id,
            run.occurrence,
            run.kind,
            run.status,
            backups_text(&run.backup_ids)
        ));
    }
    lines.extend(r.missed.iter().map(|(s, o)| format!("{s} {o}: missed")));
    lines.extend(r.deferred.iter().map(|(s, why)| format!("{s}: deferred ({why})")));
    lines
        .extend(r.recovered.iter().map(|run| format!("{} {}: crashed run recovered", run.schedule_id, run.occurrence)));
    let text = if lines.is_empty() { "nothing due".to_string() } else { lines.join("\n") };
    Ok(Reply::of(&r, text))
}

//! `tideline timeline`: the recovery window, per timeline.

use crate::args::TimelineArgs;
use crate::output::Reply;
use tideline_core::{Engine, Error, Result};

pub async fn timeline(engine: &Engine, a: TimelineArgs) -> Result<Reply> {
    let bound = |t: &Option<String>| -> Result<Option<chrono::DateTime<chrono::FixedOffset>>> {
        t.as_deref()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t).map_err(|e| {
                    Error::invalid_input(
                        format!("'{t}' is not an RFC 3339 time: {e}"),
                        "Write e.g. 2026-11-24T14:30:00+01:00.",
                    )
                })
            })
            .transpose()
    };
    let (from, to) = (bound(&a.from)?, bound(&a.to)?);
    let within = |t: &str| {
        let Ok(t) = chrono::DateTime::parse_from_rfc3339(t) else { return true };
        from.is_none_or(|f| t >= f) && to.is_none_or(|e| t <= e)
    };
    let mut v = engine.timeline(&a.profile).await?;
    v.window.base_backups.retain(|b| within(&b.finished_at));
    v.logical_dumps.retain(|d| within(&d.finished_at));
    v.restore_points.retain(|p| within(&p.created_at));
    let mut text = format!("cluster {}\n", v.window.system_identifier);
    for t in &v.window.timelines {
        let at = |r: &Option<tideline_core::pitr::window::Reach>| match r {
            Some(r) => format!("{} ({})", r.lsn, r.time.as_deref().unwrap_or("time unknown")),
            None => "-".into(),
        };
        text.push_str(&format!(
            "timeline {}{}: {} → {}{}\n",
            t.timeline,
            t.parent.map(|p| format!(" (from {p} at {})", t.switch_lsn.as_deref().unwrap_or("?"))).unwrap_or_default(),
            at(&t.earliest),
            at(&t.latest),
            t.from_backup.as_deref().map(|b| format!(" from backup {b}")).unwrap_or_default()
        ));
    }
    for g in &v.window.gaps {
        text.push_str(&format!("gap on timeline {}: {} to {} missing\n", g.timeline, g.first_missing, g.last_missing));
    }
    for b in &v.window.base_backups {
        text.push_str(&format!("base backup {} consistent at {} ({})\n", b.id, b.stop_lsn, b.finished_at));
    }
    for d in &v.logical_dumps {
        text.push_str(&format!("dump {} of {} at {}\n", d.id, d.database, d.finished_at));
    }
    for p in &v.restore_points {
        text.push_str(&format!("restore point '{}' at {} ({})\n", p.name, p.lsn, p.created_at));
    }
    v.events.retain(|e| within(&e.time));
    for e in &v.events {
        text.push_str(&format!("event {} at {} ({}): {}\n", e.id, e.lsn, e.time, e.description));
    }
    Ok(Reply::of(&v, text.trim_end().to_string()))
}

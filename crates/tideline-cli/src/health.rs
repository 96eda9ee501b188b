//! `tideline health`: each profile's newest good backup, archiver, slots, RPO and RTO.

use crate::output::Reply;
use tideline_core::{Engine, Result};

pub async fn health(engine: &Engine, profile: Option<String>, threshold_hours: f64) -> Result<Reply> {
    let all = engine.health(profile.as_deref(), threshold_hours).await?;
    let mut text = String::new();
    for h in &all {
        text.push_str(&format!("{} {:?}\n", h.profile, h.state));
        match &h.newest_backup {
            Some(b) => {
                text.push_str(&format!("  newest good backup {} ({}), {:.1} h old\n", b.id, b.kind, b.age_hours))
            }
            None => text.push_str("  no complete backup\n"),
        }
        if let Some(a) = &h.archiver {
            text.push_str(&format!(
                "  archiver: {} archived (last {}), {} failed\n",
                a.archived_count,
                a.last_archived_time.as_deref().unwrap_or("never"),
                a.failed_count
            ));
        }
        let secs = |e: &tideline_core::health::estimate::Estimate| {
            e.seconds.map(|s| format!("{s:.0} s")).unwrap_or("—".into())
        };
        text.push_str(&format!(
            "  RPO {} = {}\n  RTO {} = {}\n",
            secs(&h.rpo),
            h.rpo.formula,
            secs(&h.rto),
            h.rto.formula
        ));
        for p in &h.problems {
            text.push_str(&format!("  ! {p}\n"));
        }
    }
    Ok(Reply::new(serde_json::json!({ "profiles": all }), text.trim_end().to_string()))
}

//! `tideline retention preview|apply`: what a policy keeps, and why.

use crate::args::RetentionCommand;
use crate::output::Reply;
use tideline_core::{Engine, Error, Result};

pub fn retention(engine: &Engine, cmd: RetentionCommand) -> Result<Reply> {
    let (profile, policy, series, apply) = match cmd {
        RetentionCommand::Preview { profile, policy, series } => (profile, policy, series, false),
        RetentionCommand::Apply { profile, policy, series, yes } => {
            if !yes {
                return Err(Error::new(
                    tideline_core::ErrorCode::ConfirmationRequired,
                    "deleting backups needs confirmation".to_string(),
                    "Look at `tideline retention preview` first, then add --yes.",
                ));
            }
            (profile, policy, series, true)
        }
    };
    let r = engine.retention(&profile, &policy.policy(), series.as_deref(), apply)?;
    let mut text = String::new();
    for s in &r.series {
        text.push_str(&format!("{}:\n", s.series));
        for v in &s.verdicts {
            let verb = if v.keep {
                "keep"
            } else if apply {
                "deleted"
            } else {
                "would delete"
            };
            text.push_str(&format!("  {verb} {} — {}\n", v.id, v.reasons.join("; ")));
        }
    }
    if !r.wal_segments.is_empty() {
        let verb = if apply { "expired" } else { "would expire" };
        text.push_str(&format!(
            "{verb} {} WAL segments before the oldest kept base backup ({} … {})",
            r.wal_segments.len(),
            r.wal_segments[0],
            r.wal_segments[r.wal_segments.len() - 1]
        ));
    }
    if !r.aborted_uploads.is_empty() {
        text.push_str(&format!(
            "\naborted {} unfinished upload(s) a stopped run left a day or more ago",
            r.aborted_uploads.len()
        ));
    }
    Ok(Reply::of(&r, text.trim_end().to_string()))
}

//! `tideline pitr`, `tideline sandbox …` and `tideline restore-in-place`.

use crate::args::SandboxCommand;
use crate::output::Reply;
use tideline_core::sandbox::copy_back::CopyBackRequest;
use tideline_core::sandbox::{Sandbox, SandboxKind};
use tideline_core::{Engine, Result};

pub(crate) fn describe(s: &Sandbox) -> String {
    let r = &s.record.reached;
    let login = match s.record.kind {
        SandboxKind::Recovery => format!("log in as {} with that role's password on the source", s.record.user),
        SandboxKind::Restore => {
            format!("log in as {} with the password `tideline sandbox password {}` prints", s.record.user, s.record.id)
        }
    };
    format!(
        "{} ({:?}) {} — PostgreSQL {} on port {}\n  {login}\n  from {} of {}, target {}\n  reached {} · LSN {} · xid {}{}",
        s.record.id,
        s.status,
        s.url,
        s.record.major,
        s.record.port,
        s.record.backup_id,
        s.record.profile,
        s.record.target.point.describe(),
        r.time.as_deref().unwrap_or("-"),
        r.lsn.as_deref().unwrap_or("-"),
        r.xid.as_deref().unwrap_or("-"),
        r.stop.as_deref().map(|s| format!("\n  {s}")).unwrap_or_default()
    ) + &page_checks(s)
}

fn page_checks(s: &Sandbox) -> String {
    match &s.record.page_checksums {
        Some(c) => format!(
            "\n  data page checksums: {} pages verified, {} left to replay or never written",
            c.pages_verified, c.pages_skipped
        ),
        None => String::new(),
    }
}

pub async fn sandbox(engine: &Engine, cmd: SandboxCommand) -> Result<Reply> {
    match cmd {
        SandboxCommand::List => {
            let all = engine.sandboxes()?;
            let text = if all.is_empty() {
                "no sandboxes".to_string()
            } else {
                all.iter().map(describe).collect::<Vec<_>>().join("\n")
            };
            Ok(Reply::new(serde_json::json!({ "sandboxes": all }), text))
        }
        SandboxCommand::Show { id } => {
            let s = engine.sandbox(&id)?;
            Ok(Reply::of(&s, describe(&s)))
        }
        SandboxCommand::Stop { id } => {
            let s = engine.sandbox_stop(&id)?;
            Ok(Reply::of(&s, describe(&s)))
        }
        SandboxCommand::Start { id } => {
            let s = engine.sandbox_start(&id)?;
            Ok(Reply::of(&s, describe(&s)))
        }
        SandboxCommand::Remove { id } => {
            engine.sandbox_remove(&id)?;
            Ok(Reply::new(serde_json::json!({ "id": id, "removed": true }), format!("removed {id}")))
        }
        SandboxCommand::Password { id } => {
            let password = engine.sandbox_password(&id)?;
            let text = password.expose().to_string();
            Ok(Reply::new(serde_json::json!({ "id": id, "password": password.expose() }), text))
        }
        SandboxCommand::Compare { id } => {
            let c = engine.sandbox_compare(&id).await?;
            let mut text = format!("{:<40} {:>12} {:>12}\n", "table", "sandbox", "live");
            for t in &c.tables {
                let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
                let mark = if t.sandbox_rows != t.live_rows { "  ≠" } else { "" };
                text.push_str(&format!(
                    "{:<40} {:>12} {:>12}{mark}\n",
                    format!("{}.{}", t.schema, t.table),
                    n(t.sandbox_rows),
                    n(t.live_rows)
                ));
            }
            text.push_str(&format!("{} of {} tables differ", c.differing, c.tables.len()));
            Ok(Reply::of(&c, text))
        }
        SandboxCommand::CopyBack(a) => {
            let req = CopyBackRequest {
                tables: a.tables,
                to_profile: a.to,
                as_name: a.as_name,
                replace: a.replace,
                confirmed: a.yes,
            };
            let r = engine.sandbox_copy_back(&a.id, &req).await?;
            let text = r
                .tables
                .iter()
                .map(|t| format!("{} → {}: {} rows ({})", t.source, t.target, t.rows, t.how))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Reply::of(&r, text))
        }
    }
}

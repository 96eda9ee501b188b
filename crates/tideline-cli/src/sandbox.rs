//! `tideline pitr`, `tideline sandbox …` and `tideline restore-in-place`.

use crate::args::{DemoArgs, PitrArgs, RestoreInPlaceArgs, SandboxCommand, TargetArgs};
use crate::output::Reply;
use tideline_core::pg::recovery_target::{RecoveryTarget, TargetPoint};
use tideline_core::pitr::in_place::InPlaceRequest;
use tideline_core::pitr::run::PitrRequest;
use tideline_core::sandbox::copy_back::CopyBackRequest;
use tideline_core::sandbox::{Sandbox, SandboxKind};
use tideline_core::{Engine, Error, Result};

/// The target the flags name, or None when none was given.
fn target(a: &TargetArgs) -> Result<Option<RecoveryTarget>> {
    let point = if let Some(t) = &a.time {
        TargetPoint::Time(t.clone())
    } else if let Some(x) = &a.xid {
        TargetPoint::Xid(x.clone())
    } else if let Some(l) = &a.lsn {
        TargetPoint::Lsn(l.clone())
    } else if let Some(n) = &a.name {
        TargetPoint::Name(n.clone())
    } else if a.immediate {
        TargetPoint::Immediate
    } else if let Some(e) = &a.before_event {
        TargetPoint::BeforeEvent(e.clone())
    } else {
        return Ok(None);
    };
    let timeline = match a.timeline.as_deref() {
        None | Some("latest") => None,
        Some(t) => Some(t.parse().map_err(|_| {
            Error::invalid_input(format!("'{t}' is not a timeline"), "Give a timeline number or `latest`.")
        })?),
    };
    Ok(Some(RecoveryTarget { point, exclusive: a.exclusive, timeline }))
}

fn describe(s: &Sandbox) -> String {
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

pub async fn pitr(engine: &Engine, args: PitrArgs, json: bool) -> Result<Reply> {
    let target = target(&args.target)?.ok_or_else(|| {
        Error::new(
            tideline_core::ErrorCode::TargetInvalid,
            "no recovery target given".to_string(),
            "Give one of --time, --xid, --lsn, --name, --immediate or --before-event.",
        )
    })?;
    let request = PitrRequest { target, from_backup: args.from_backup, port: args.port };
    let (job, bar) = crate::progress::job(json);
    let result = engine.pitr(&args.profile, &request, &job).await;
    bar.finish_and_clear();
    let sandbox = result?;
    let text = describe(&sandbox);
    Ok(Reply::of(&sandbox, text))
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

pub async fn restore_in_place(engine: &Engine, args: RestoreInPlaceArgs) -> Result<Reply> {
    let req = InPlaceRequest {
        backup_id: args.backup_id,
        data_dir: args.data_dir,
        target: target(&args.target)?,
        confirmed: args.yes,
    };
    let r = engine.restore_in_place(&req).await?;
    let text = format!(
        "{} restored from {}; the old directory is at {}\ncarried {} unarchived WAL segments\n{}",
        r.data_dir,
        r.backup_chain.join(" + "),
        if r.old_data_dir.is_empty() { "-" } else { &r.old_data_dir },
        r.carried_wal.len(),
        r.next_step
    );
    Ok(Reply::of(&r, text))
}

pub async fn demo(engine: &Engine, args: DemoArgs, json: bool) -> Result<Reply> {
    if args.remove {
        engine.demo_remove()?;
        return Ok(Reply::new(serde_json::json!({ "removed": true }), "demo removed".into()));
    }
    let report = if args.accident {
        engine.demo_accident().await?
    } else {
        let (job, bar) = crate::progress::job(json);
        let r = engine.demo(args.reset, &job).await;
        bar.finish_and_clear();
        r?
    };
    let mut text = format!(
        "demo: PostgreSQL {} on 127.0.0.1:{} (profile {}, database {}){}\nrepository {}\n",
        report.major,
        report.port,
        report.profile,
        report.database,
        if report.created { ", just created" } else { "" },
        report.repository
    );
    if let Some(a) = &report.accident {
        text.push_str(&format!("accident: {a}\n"));
    }
    text.push_str("next:\n");
    for step in &report.next_steps {
        text.push_str(&format!("  {step}\n"));
    }
    Ok(Reply::of(&report, text.trim_end().to_string()))
}

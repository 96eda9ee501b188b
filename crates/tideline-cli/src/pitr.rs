//! `tideline pitr` into a sandbox, and `restore-in-place`.

use crate::args::{PitrArgs, RestoreInPlaceArgs, TargetArgs};
use crate::output::Reply;
use tideline_core::pg::recovery_target::{RecoveryTarget, TargetPoint};
use tideline_core::pitr::in_place::InPlaceRequest;
use tideline_core::pitr::run::PitrRequest;
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
    let text = crate::sandbox::describe(&sandbox);
    Ok(Reply::of(&sandbox, text))
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

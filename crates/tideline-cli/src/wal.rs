//! `wal-push` and `wal-fetch`: run by PostgreSQL as archive_command / restore_command, as the
//! server's OS user. They open no catalog, keychain, log file or HOME, and speak in exit codes.

use crate::args::{MarkArgs, WalCommand, WalFetchArgs, WalPushArgs, WalSetupArgs};
use crate::output::{line, print_error, Reply};
use std::path::PathBuf;
use tideline_core::wal::archive::{FetchOutcome, PushOutcome};
use tideline_core::wal::push::{fetch_exit_code, wal_fetch, wal_push};
use tideline_core::wal::remote::{fetch_here_or_there, remote_fetch, remote_push};
use tideline_core::wal::setup::{WalMethod, WalSetupOptions};
use tideline_core::{Engine, Error, Result};

fn pgdata(given: Option<PathBuf>) -> PathBuf {
    given.or_else(|| std::env::current_dir().ok()).unwrap_or_else(|| PathBuf::from("."))
}

/// Exit 0 once the file is safely in the repository; 1 on any failure (PostgreSQL keeps the
/// segment and retries).
pub fn push(args: WalPushArgs, json: bool) -> i32 {
    let pushed = match (&args.repo_config, &args.repo) {
        (Some(config), _) => remote_push(config, &args.path, &pgdata(args.pgdata)),
        (None, Some(repo)) => wal_push(repo, &args.path, &pgdata(args.pgdata)),
        (None, None) => {
            Err(Error::invalid_input("wal-push needs --repo DIR or --repo-config FILE", "Say where the WAL goes."))
        }
    };
    match pushed {
        Ok(outcome) => {
            if json {
                let stored = outcome == PushOutcome::Stored;
                line(&serde_json::json!({ "stored": stored, "already_archived": !stored }).to_string());
            }
            0
        }
        Err(e) => {
            print_error(&e, json);
            1
        }
    }
}

pub fn fetch(args: WalFetchArgs, json: bool) -> i32 {
    let result = match (&args.repo_config, &args.repo) {
        (Some(config), Some(repo)) => fetch_here_or_there(repo, config, &args.name, &args.dest, &pgdata(args.pgdata)),
        (Some(config), None) => remote_fetch(config, &args.name, &args.dest, &pgdata(args.pgdata)),
        (None, Some(repo)) => wal_fetch(repo, &args.name, &args.dest, &pgdata(args.pgdata)),
        (None, None) => {
            Err(Error::invalid_input("wal-fetch needs --repo DIR or --repo-config FILE", "Say where the WAL is."))
        }
    };
    match &result {
        Ok(outcome) if json => {
            line(
                &serde_json::json!({ "restored": *outcome != FetchOutcome::Missing, "partial": *outcome == FetchOutcome::RestoredPartial })
                    .to_string(),
            )
        }
        Ok(_) => {}
        Err(e) => print_error(e, json),
    }
    fetch_exit_code(&result)
}

pub async fn wal(engine: &Engine, cmd: WalCommand, json: bool) -> Result<Reply> {
    match cmd {
        WalCommand::Stream { profile } => {
            let (job, bar) = crate::progress::job(json);
            let summary = engine.wal_stream(&profile, &job).await;
            bar.finish_and_clear();
            let s = summary?;
            let text = format!(
                "stopped streaming on slot {}: {} segments stored (last {}), partial {}, {} restarts",
                s.slot,
                s.segments_stored,
                s.last_segment.as_deref().unwrap_or("-"),
                s.partial.as_deref().unwrap_or("-"),
                s.restarts
            );
            Ok(Reply::of(&s, text))
        }
        WalCommand::Setup(a) => setup(engine, a).await,
        WalCommand::Index { profile } => {
            let r = engine.wal_index(&profile).await?;
            let text = format!(
                "{} segments of cluster {}: {} summarised now, {} summaries indexed",
                r.segments, r.system_identifier, r.summarised, r.ingested
            );
            Ok(Reply::of(&r, text))
        }
        WalCommand::Verify { profile } => {
            let r = engine.wal_verify(&profile).await?;
            if !r.damaged.is_empty() {
                let list: Vec<String> = r.damaged.iter().map(|d| d.detail.clone()).collect();
                return Err(tideline_core::error::Error::new(
                    tideline_core::error::ErrorCode::ChecksumMismatch,
                    format!("{} of {} archived WAL files are damaged: {}", r.damaged.len(), r.files, list.join("; ")),
                    "The recovery window now ends before the first damaged file (`tideline timeline PROFILE`). Take a new base backup so recovery starts after it, and check the disk the repository is on.",
                ));
            }
            let mut text = format!("{} archived WAL files read back whole ({} bytes)", r.files, r.bytes_read);
            if !r.rewritten_summaries.is_empty() {
                text.push_str(&format!("; damaged summaries written again: {}", r.rewritten_summaries.join(", ")));
            }
            if !r.replaced.is_empty() {
                let aside = "the damaged copies lie aside as <name>.zst.damaged";
                text.push_str(&format!(
                    "; damaged here, brought again from the bucket: {} ({aside})",
                    r.replaced.join(", ")
                ));
            }
            Ok(Reply::of(&r, text))
        }
        // Answered in `main` before the engine opens (see `inspect`).
        WalCommand::Inspect { .. } => Err(Error::internal("wal inspect runs without the engine")),
        WalCommand::Status { profile } => {
            let s = engine.wal_status(&profile).await?;
            let mut text = format!(
                "archive_mode {} · archive_command {}\narchived {} (last {}), failed {} (last {})",
                s.archive_mode,
                if s.archive_command.is_empty() { "(none)" } else { &s.archive_command },
                s.archiver.archived_count,
                s.archiver.last_archived_wal.as_deref().unwrap_or("-"),
                s.archiver.failed_count,
                s.archiver.last_failed_wal.as_deref().unwrap_or("-"),
            );
            for slot in &s.slots {
                let mb = slot.retained_bytes.map(|b| format!("{} MB", b / (1 << 20))).unwrap_or("-".into());
                let lag = match (slot.lag_bytes, slot.lag_seconds) {
                    (Some(b), Some(t)) => format!(", streaming {} KB ({t:.1} s) behind", b / 1024),
                    (Some(b), None) => format!(", streaming {} KB behind", b / 1024),
                    _ => String::new(),
                };
                text.push_str(&format!(
                    "\nslot {} ({}) holds {mb}{lag}",
                    slot.name,
                    if slot.active { "active" } else { "inactive" }
                ));
            }
            for w in &s.warnings {
                text.push_str(&format!("\nwarning: {w}"));
            }
            Ok(Reply::of(&s, text))
        }
        WalCommand::Teardown { profile } => {
            let t = engine.wal_teardown(&profile).await?;
            let text = format!(
                "archive_command {}; dropped slots: {}{}",
                if t.archive_command_reset { "no longer pushes to Tideline" } else { "was not Tideline's; left alone" },
                if t.dropped_slots.is_empty() { "none".into() } else { t.dropped_slots.join(", ") },
                if t.restart_needed { "\nRestart the server to turn archive_mode off." } else { "" }
            );
            Ok(Reply::of(&t, text))
        }
    }
}

async fn setup(engine: &Engine, a: WalSetupArgs) -> Result<Reply> {
    let opts = WalSetupOptions { method: a.method.map(Into::into), apply: a.apply, tideline_path: a.tideline_path };
    let r = engine.wal_setup(&a.profile, &opts).await?;
    let name = if r.method == WalMethod::Archive { "archive" } else { "stream" };
    let mut text = format!("method: {name} — {}\n", r.method_reason);
    for c in &r.checks {
        let mark = if c.ok { "ok " } else { "set" };
        text.push_str(&format!("  [{mark}] {} = {} (wanted {}): {}\n", c.name, c.current, c.wanted, c.why));
    }
    if r.restart_needed {
        text.push_str(
            "Restart the server for the settings marked [set] that need it, then run `tideline wal setup` again.\n",
        );
    }
    if let Some(t) = &r.test {
        text.push_str(&format!(
            "archiving test: {} {} after {} ms (archived {}, failed {})",
            t.segment,
            if t.arrived { "arrived" } else { "did NOT arrive" },
            t.waited_ms,
            t.archiver.archived_count,
            t.archiver.failed_count
        ));
    } else if !r.applied && r.checks.iter().any(|c| !c.ok) {
        text.push_str("Nothing was changed; --apply sets what is missing.");
    }
    Ok(Reply::of(&r, text.trim_end().to_string()))
}

pub async fn mark(engine: &Engine, a: MarkArgs) -> Result<Reply> {
    let p = engine.mark(&a.profile, &a.name).await?;
    let text = format!("restore point '{}' at {} on timeline {}", p.name, p.lsn, p.timeline);
    Ok(Reply::of(&p, text))
}

/// `wal inspect`: files only. It needs no catalog, log or async runtime, so `main` runs it
/// before opening any (a scan of 1 GB takes about 0.1 s, of which they were a tenth); it also
/// works on a machine where Tideline has no data directory.
pub fn inspect(segments: Vec<PathBuf>, no_crc: bool, count_only: bool, events: bool) -> Result<Reply> {
    use tideline_core::wal::inspect::Detail;
    let detail = match (count_only, events) {
        (true, _) => Detail::Count,
        (_, true) => Detail::Events,
        _ => Detail::Transactions,
    };
    let r = tideline_core::wal::inspect::inspect(&segments, !no_crc, detail)?;
    let mut text = format!(
        "{} segments (PostgreSQL {}), {} records, {} bytes of records{}",
        r.segments,
        r.major.map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
        r.records,
        r.record_bytes,
        r.end_of_wal.as_deref().map(|l| format!("; valid WAL ends at {l}")).unwrap_or_default()
    );
    for t in &r.transactions {
        let dropped = if t.dropped.is_empty() { String::new() } else { format!(", drops {}", t.dropped.join(" ")) };
        let prepared = if t.prepared { " prepared" } else { "" };
        text.push_str(&format!("\n{} {}{prepared} xid {} at {}{dropped}", t.lsn, t.outcome, t.xid, t.time));
    }
    for p in &r.restore_points {
        text.push_str(&format!("\n{} restore point '{}' at {}", p.lsn, p.name, p.time));
    }
    for s in &r.timeline_switches {
        text.push_str(&format!("\n{} timeline {} begins (from timeline {})", s.lsn, s.to, s.from));
    }
    for c in &r.changes {
        text.push_str(&format!(
            "\nxid {} {}: {} inserted, {} updated, {} deleted",
            c.xid, c.file, c.inserted, c.updated, c.deleted
        ));
    }
    for c in &r.created {
        let how = if c.written { "created and filled" } else { "created" };
        text.push_str(&format!("\nxid {} {how} {}", c.xid, c.file));
    }
    Ok(Reply::of(&r, text))
}

//! `tideline backup`, `backups list|show|log`, `repo rescan`.

use crate::args::{BackupArgs, BackupsCommand, BasebackupArgs, DumpallArgs};
use crate::output::human_bytes;
use crate::output::Reply;
use serde_json::json;
use tideline_core::logical::dumpall::DumpallMode;
use tideline_core::physical::options::BaseBackupOptions;
use tideline_core::repo::options::DumpOptions;
use tideline_core::{Engine, Error, Result};

pub async fn basebackup(engine: &Engine, a: BasebackupArgs, json: bool) -> Result<Reply> {
    let opts = BaseBackupOptions {
        format: a.format.into(),
        compress: a.compress,
        checkpoint: a.checkpoint.into(),
        incremental: a.incremental,
        max_rate: a.max_rate,
    };
    let (job, bar) = crate::progress::job(json);
    let record = engine.basebackup(&a.profile, &opts, &job).await;
    bar.finish_and_clear();
    let record = record?;
    let text = format!(
        "base backup {} of {} complete: {} in {}{}",
        record.id,
        record.profile,
        human_bytes(record.size_bytes),
        record.path,
        tool_line(&record.path)
    );
    Ok(with_copies(engine, &record, text))
}

pub async fn backup(engine: &Engine, a: BackupArgs, json: bool) -> Result<Reply> {
    let opts = DumpOptions {
        database: a.database,
        format: a.format.into(),
        jobs: a.jobs,
        schema_only: a.schema_only,
        data_only: a.data_only,
        tables: a.tables,
        exclude_tables: a.exclude_tables,
        schemas: a.schemas,
        exclude_schemas: a.exclude_schemas,
        large_objects: a.large_objects,
        no_owner: a.no_owner,
        no_privileges: a.no_privileges,
        compress: a.compress,
        no_row_counts: a.no_row_counts,
        statistics: match (a.statistics, a.no_statistics) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
    };
    let (job, bar) = crate::progress::job(json);
    let record = engine.backup(&a.profile, &opts, &job).await;
    bar.finish_and_clear();
    let record = record?;
    let text = format!(
        "backup {} of {}/{} complete: {} {} in {}{}",
        record.id,
        record.profile,
        record.database,
        human_bytes(record.size_bytes),
        record.format,
        record.path,
        tool_line(&record.path)
    );
    Ok(with_copies(engine, &record, text))
}

pub async fn dumpall(engine: &Engine, a: DumpallArgs, json: bool) -> Result<Reply> {
    let mode = if a.globals_only {
        DumpallMode::Globals
    } else if a.roles_only {
        DumpallMode::Roles
    } else {
        DumpallMode::Cluster
    };
    let (job, bar) = crate::progress::job(json);
    let record = engine.dumpall(&a.profile, mode, &job).await;
    bar.finish_and_clear();
    let record = record?;
    let text = format!(
        "{} backup {} of {} complete: {} in {}{}",
        record.kind,
        record.id,
        record.profile,
        human_bytes(record.size_bytes),
        record.path,
        tool_line(&record.path)
    );
    Ok(with_copies(engine, &record, text))
}

/// Which binary wrote the backup and why, as its manifest records it.
fn tool_line(backup_dir: &str) -> String {
    tideline_core::repo::manifest::Manifest::read(std::path::Path::new(backup_dir))
        .ok()
        .and_then(|m| m.tool_choice)
        .map(|t| format!("\n  {t}"))
        .unwrap_or_default()
}

pub fn backups(engine: &Engine, cmd: BackupsCommand) -> Result<Reply> {
    match cmd {
        BackupsCommand::List { profile } => {
            let list = engine.backups(profile.as_deref())?;
            let copies = engine.all_backup_copies()?;
            let copies_of = |id: &str| copies.get(id).cloned().unwrap_or_default();
            let text = if list.is_empty() {
                "no backups yet: `tideline backup PROFILE`".to_string()
            } else {
                list.iter()
                    .map(|b| {
                        let copied: String = copies_of(&b.id)
                            .iter()
                            .map(|c| format!("  {}{}", if c.complete { "+" } else { "!" }, c.repository))
                            .collect();
                        format!(
                            "{}  {:<12} {:<16} {:<9} {:>10}  {}{copied}",
                            b.id,
                            b.profile,
                            b.database,
                            b.format,
                            human_bytes(b.size_bytes),
                            b.verify_status.as_deref().unwrap_or("unverified")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let rows: Vec<serde_json::Value> = list
                .iter()
                .map(|b| {
                    let mut row = serde_json::to_value(b).unwrap_or_default();
                    row["copies"] = json!(copies_of(&b.id));
                    row
                })
                .collect();
            Ok(Reply::new(json!({ "backups": rows }), text))
        }
        BackupsCommand::Show { id } => {
            let record = engine.backup_record(&id)?;
            let manifest = engine.backup_manifest(&id)?;
            let mut value = serde_json::to_value(&manifest).map_err(|e| Error::internal(e.to_string()))?;
            value["path"] = json!(record.path);
            value["verify_status"] = json!(record.verify_status);
            value["verified_at"] = json!(record.verified_at);
            value["copies"] = json!(engine.backup_copies(&id)?);
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            Ok(Reply::new(value, text))
        }
        BackupsCommand::Log { id } => {
            let log = engine.backup_log(&id)?;
            Ok(Reply::new(json!({ "id": id, "log": log }), log))
        }
    }
}

/// The backup's record, with where it was copied (a profile's second repository).
fn with_copies(engine: &Engine, record: &tideline_core::catalog::backups::BackupRecord, mut text: String) -> Reply {
    let copies = engine.backup_copies(&record.id).unwrap_or_default();
    for c in &copies {
        match &c.detail {
            None => text.push_str(&format!("\ncopied to {}", c.repository)),
            Some(why) => text.push_str(&format!(
                "\nNOT copied to {} ({why}); `tideline repo sync local {}` copies it later",
                c.repository, c.repository
            )),
        }
    }
    let mut value = serde_json::to_value(record).unwrap_or_default();
    value["copies"] = json!(copies);
    Reply::new(value, text)
}

use super::progress::{tracked, ChannelSink};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;
use tideline_core::catalog::backups::BackupRecord;
use tideline_core::job::{Job, JobProgress};
use tideline_core::logical::dumpall::DumpallMode;
use tideline_core::repo::manifest::Manifest;
use tideline_core::repo::options::DumpOptions;
use tideline_core::{Engine, Error};

#[tauri::command]
pub async fn backups_list(engine: State<'_, Engine>, profile: Option<String>) -> Result<Vec<BackupRecord>, Error> {
    engine.backups(profile.as_deref())
}

#[tauri::command]
pub async fn backup_show(engine: State<'_, Engine>, id: String) -> Result<Manifest, Error> {
    engine.backup_manifest(&id)
}

#[tauri::command]
pub async fn backup_log(engine: State<'_, Engine>, id: String) -> Result<String, Error> {
    engine.backup_log(&id)
}

#[tauri::command]
pub async fn backup_command_preview(
    engine: State<'_, Engine>,
    profile: String,
    options: DumpOptions,
) -> Result<String, Error> {
    engine.backup_command_preview(&profile, &options).await
}

#[tauri::command]
pub async fn backup_run(
    engine: State<'_, Engine>,
    profile: String,
    options: DumpOptions,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<BackupRecord, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.backup(&profile, &options, &job)).await
}

#[tauri::command]
pub async fn dumpall_run(
    engine: State<'_, Engine>,
    profile: String,
    mode: DumpallMode,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<BackupRecord, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.dumpall(&profile, mode, &job)).await
}

#[tauri::command]
pub async fn job_cancel(engine: State<'_, Engine>, job_id: String) -> Result<bool, Error> {
    Ok(engine.jobs.cancel(&job_id))
}

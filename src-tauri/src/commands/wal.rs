//! Continuous WAL and physical backups: setup assistant, status, base backups, restore points,
//! the recovery window.

use super::progress::{tracked, ChannelSink};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;
use tideline_core::catalog::backups::BackupRecord;
use tideline_core::catalog::restore_points::RestorePoint;
use tideline_core::job::{Job, JobProgress};
use tideline_core::physical::options::BaseBackupOptions;
use tideline_core::pitr::timeline::TimelineView;
use tideline_core::wal::check::WalCheckReport;
use tideline_core::wal::setup::{WalMethod, WalSetupOptions, WalSetupReport};
use tideline_core::wal::status::{WalStatus, WalTeardown};
use tideline_core::wal::stream::StreamSummary;
use tideline_core::{Engine, Error};

#[tauri::command]
pub async fn wal_setup(
    engine: State<'_, Engine>,
    profile: String,
    method: Option<WalMethod>,
    apply: bool,
) -> Result<WalSetupReport, Error> {
    let opts =
        WalSetupOptions { method, apply, tideline_path: tideline_core::cluster::runnable_cli::cli_binary().ok() };
    engine.wal_setup(&profile, &opts).await
}

#[tauri::command]
pub async fn wal_status(engine: State<'_, Engine>, profile: String) -> Result<WalStatus, Error> {
    engine.wal_status(&profile).await
}

#[tauri::command]
pub async fn wal_teardown(engine: State<'_, Engine>, profile: String) -> Result<WalTeardown, Error> {
    engine.wal_teardown(&profile).await
}

/// Every archived WAL file read back against its checksum (`tideline wal verify`): damage is
/// in the report, for the screen to list.
#[tauri::command]
pub async fn wal_verify(engine: State<'_, Engine>, profile: String) -> Result<WalCheckReport, Error> {
    engine.wal_verify(&profile).await
}

#[tauri::command]
pub async fn basebackup_run(
    engine: State<'_, Engine>,
    profile: String,
    options: BaseBackupOptions,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<BackupRecord, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.basebackup(&profile, &options, &job)).await
}

#[tauri::command]
pub async fn mark_create(engine: State<'_, Engine>, profile: String, name: String) -> Result<RestorePoint, Error> {
    engine.mark(&profile, &name).await
}

#[tauri::command]
pub async fn timeline_show<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    engine: State<'_, Engine>,
    profile: String,
) -> Result<TimelineView, Error> {
    let view = engine.timeline(&profile).await?;
    // Names for the next events, taken beside the answer: a server that does not answer
    // must not hold the timeline up.
    let sysid = view.window.system_identifier.clone();
    tauri::async_runtime::spawn(async move {
        use tauri::Manager;
        app.state::<Engine>().snapshot_relation_names_if_due(&profile, &sysid).await;
    });
    Ok(view)
}

/// Streams WAL while the app runs; resolves when `job_cancel` stops it.
#[tauri::command]
pub async fn wal_stream_run(
    engine: State<'_, Engine>,
    profile: String,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<StreamSummary, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.wal_stream(&profile, &job)).await
}

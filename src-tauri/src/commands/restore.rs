use super::progress::{tracked, ChannelSink};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;
use tideline_core::job::{Job, JobProgress};
use tideline_core::logical::restore::{RestoreOptions, RestoreReport};
use tideline_core::logical::toc::{self, Selection, TocEntry};
use tideline_core::logical::verify::VerifyReport;
use tideline_core::{Engine, Error};

#[tauri::command]
pub async fn toc_list(engine: State<'_, Engine>, id: String) -> Result<Vec<TocEntry>, Error> {
    let archive = engine.archive(&id)?;
    archive.toc(&engine.pg_restore_for(&archive.manifest, archive.manifest.tool_major)?)
}

#[tauri::command]
pub async fn toc_select(engine: State<'_, Engine>, id: String, tables: Vec<String>) -> Result<Selection, Error> {
    let archive = engine.archive(&id)?;
    let entries = archive.toc(&engine.pg_restore_for(&archive.manifest, archive.manifest.tool_major)?)?;
    toc::select(&entries, &tables, &[])
}

#[tauri::command]
pub async fn restore_run(
    engine: State<'_, Engine>,
    id: String,
    options: RestoreOptions,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<RestoreReport, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.restore(&id, &options, &job)).await
}

#[tauri::command]
pub async fn verify_run(
    engine: State<'_, Engine>,
    id: String,
    restore_test: bool,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<VerifyReport, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.verify(&id, restore_test, &job)).await
}

#[tauri::command]
pub async fn restore_log(engine: State<'_, Engine>, path: String) -> Result<String, Error> {
    engine.restore_log(&path)
}

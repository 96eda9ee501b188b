//! Point-in-time recovery into sandboxes, the sandboxes themselves, and the demo.

use super::progress::{tracked, ChannelSink};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;
use tideline_core::demo::DemoReport;
use tideline_core::job::{Job, JobProgress};
use tideline_core::pitr::run::PitrRequest;
use tideline_core::sandbox::compare::SandboxComparison;
use tideline_core::sandbox::copy_back::{CopyBackReport, CopyBackRequest};
use tideline_core::sandbox::Sandbox;
use tideline_core::{Engine, Error};

#[tauri::command]
pub async fn pitr_run(
    engine: State<'_, Engine>,
    profile: String,
    request: PitrRequest,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<Sandbox, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.pitr(&profile, &request, &job)).await
}

#[tauri::command]
pub fn sandboxes_list(engine: State<'_, Engine>) -> Result<Vec<Sandbox>, Error> {
    engine.sandboxes()
}

#[tauri::command]
pub fn sandbox_stop(engine: State<'_, Engine>, id: String) -> Result<Sandbox, Error> {
    engine.sandbox_stop(&id)
}

#[tauri::command]
pub fn sandbox_start(engine: State<'_, Engine>, id: String) -> Result<Sandbox, Error> {
    engine.sandbox_start(&id)
}

#[tauri::command]
pub fn sandbox_remove(engine: State<'_, Engine>, id: String) -> Result<(), Error> {
    engine.sandbox_remove(&id)
}

/// The password of a restore sandbox, for the owner to copy (it leaves the engine only here).
#[tauri::command]
pub fn sandbox_password(engine: State<'_, Engine>, id: String) -> Result<String, Error> {
    engine.sandbox_password(&id).map(|p| p.expose().to_string())
}

#[tauri::command]
pub async fn sandbox_compare(engine: State<'_, Engine>, id: String) -> Result<SandboxComparison, Error> {
    engine.sandbox_compare(&id).await
}

#[tauri::command]
pub async fn sandbox_copy_back(
    engine: State<'_, Engine>,
    id: String,
    request: CopyBackRequest,
) -> Result<CopyBackReport, Error> {
    engine.sandbox_copy_back(&id, &request).await
}

/// The first-run offer: creates the demo (or starts it) and reports it.
#[tauri::command]
pub async fn demo_open(
    engine: State<'_, Engine>,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<DemoReport, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.demo(false, &job)).await
}

#[tauri::command]
pub async fn demo_accident(engine: State<'_, Engine>) -> Result<DemoReport, Error> {
    engine.demo_accident().await
}

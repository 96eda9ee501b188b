//! A job's progress over a Tauri channel, and registration so `job_cancel` can reach it.

use std::future::Future;
use tauri::ipc::Channel;
use tideline_core::job::{Job, JobProgress, ProgressSink};
use tideline_core::Engine;

pub struct ChannelSink(pub Channel<JobProgress>);

impl ProgressSink for ChannelSink {
    fn send(&self, progress: &JobProgress) {
        // A closed window drops events; the job itself goes on.
        let _ = self.0.send(progress.clone());
    }
}

pub async fn tracked<T>(engine: &Engine, job: &Job, work: impl Future<Output = T>) -> T {
    engine.jobs.register(job);
    let result = work.await;
    engine.jobs.finish(&job.id);
    result
}

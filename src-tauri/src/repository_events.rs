//! The repository watched for the window: each change that lands (a WAL segment or its
//! summary, a backup finished or removed) is a `repository-changed` event the timeline, WAL
//! status and dashboard reload on. The watch follows the repository: made when it first exists,
//! moved when Settings moves it.

use std::path::PathBuf;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tideline_core::repo::watch::{watch, RepositoryWatch};
use tideline_core::Engine;

/// The event's name, as `ui/src/repositoryEvents.ts` listens for it.
const EVENT: &str = "repository-changed";
/// How soon a repository made or moved is watched.
const LOOK_AGAIN: Duration = Duration::from_secs(5);

pub fn start<R: Runtime>(app: AppHandle<R>) {
    let spawned = std::thread::Builder::new().name("repository-events".into()).spawn(move || {
        // The root last tried, and its watch when that worked: a root that cannot be watched
        // is said once, not every few seconds.
        let mut tried: Option<PathBuf> = None;
        let mut _watching: Option<RepositoryWatch> = None;
        loop {
            let root = app.state::<Engine>().repository().map(|r| r.root().to_path_buf());
            if let Some(root) = root.ok().filter(|r| r.is_dir() && tried.as_ref() != Some(r)) {
                let emitter = app.clone();
                _watching = match watch(&root, move |change| {
                    let _ = emitter.emit(EVENT, change);
                }) {
                    Ok(w) => {
                        tracing::info!(repository = %root.display(), "watching the repository");
                        Some(w)
                    }
                    Err(e) => {
                        // The screens' timers still refresh them.
                        tracing::warn!(error = %e.message, "the repository is not watched");
                        None
                    }
                };
                tried = Some(root);
            }
            std::thread::sleep(LOOK_AGAIN);
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "the repository is not watched");
    }
}

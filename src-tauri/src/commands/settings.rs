//! The Settings screen: the repository and notifications (`tideline repo path`, `notify …`).

use tauri::State;
use tideline_core::notify::payload::{HookFormat, NotifyEvent};
use tideline_core::notify::{Delivery, Hook};
use tideline_core::sandbox::access::{repository_access, RepositoryAccess};
use tideline_core::{Engine, Error, Secret};

#[tauri::command]
pub async fn repo_show(engine: State<'_, Engine>) -> Result<RepositoryAccess, Error> {
    Ok(repository_access(engine.repository()?.root()))
}

/// New backups go to `dir` from now on; those made go on living where they are.
#[tauri::command]
pub async fn repo_set(engine: State<'_, Engine>, dir: String) -> Result<RepositoryAccess, Error> {
    engine.set_repository(std::path::Path::new(&dir))?;
    repo_show(engine).await
}

#[tauri::command]
pub async fn notify_hooks(engine: State<'_, Engine>) -> Result<Vec<Hook>, Error> {
    engine.hooks()
}

/// `url` is a secret: it goes to the keychain, never to the catalog or a log.
#[tauri::command]
pub async fn notify_hook_add(
    engine: State<'_, Engine>,
    profile: Option<String>,
    format: HookFormat,
    events: Vec<NotifyEvent>,
    url: Option<String>,
) -> Result<Hook, Error> {
    let url = url.map(Secret::new);
    engine.hook_add(profile.as_deref(), format, events, url.as_ref())
}

#[tauri::command]
pub async fn notify_hook_remove(engine: State<'_, Engine>, id: String) -> Result<(), Error> {
    engine.hook_remove(&id)
}

#[tauri::command]
pub async fn notify_hook_test(engine: State<'_, Engine>, id: String) -> Result<Delivery, Error> {
    engine.hook_test(&id).await
}

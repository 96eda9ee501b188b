//! Settings → Repositories: named repositories (a folder or a bucket), their test and keys
//! (`tideline repo add | list | test | remove | key …`).

use super::progress::{tracked, ChannelSink};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;
use tideline_core::catalog::repositories::{BackupCopy, RepositoryRecord};
use tideline_core::job::{Job, JobProgress};
use tideline_core::logical::history::RescanFrom;
use tideline_core::repo::named::{KitFile, RepositoryRequest};
use tideline_core::repo::probe::RepositoryTest;
use tideline_core::repo::rotate::RotatedKey;
use tideline_core::repo::store::s3_uploads::CleanReport;
use tideline_core::repo::sync::SyncReport;
use tideline_core::{Engine, Error, Secret};

#[tauri::command]
pub async fn repositories_list(engine: State<'_, Engine>) -> Result<Vec<RepositoryRecord>, Error> {
    engine.repositories()
}

/// The secret access key and the kit's passphrase go to the keychain and the kit, never to the
/// catalog or a log.
#[tauri::command]
pub async fn repository_add(
    engine: State<'_, Engine>,
    request: RepositoryRequest,
    secret_access_key: Option<Secret>,
    passphrase: Option<Secret>,
) -> Result<RepositoryRecord, Error> {
    engine.add_repository(request.resolve(secret_access_key, passphrase)?).await
}

#[tauri::command]
pub async fn repository_test(engine: State<'_, Engine>, name: String) -> Result<RepositoryTest, Error> {
    engine.test_repository(&name).await
}

#[tauri::command]
pub async fn repository_remove(engine: State<'_, Engine>, name: String) -> Result<RepositoryRecord, Error> {
    engine.remove_repository(&name)
}

#[tauri::command]
pub async fn repository_key_export(
    engine: State<'_, Engine>,
    name: String,
    path: String,
    passphrase: Secret,
) -> Result<(), Error> {
    engine.export_repository_key(&name, &KitFile { path: path.into(), passphrase })
}

/// Aborts the unfinished uploads a stopped run left (over an hour old).
#[tauri::command]
pub async fn repository_clean(engine: State<'_, Engine>, name: String) -> Result<CleanReport, Error> {
    engine.clean_repository(&name, tideline_core::repo::store::s3_uploads::CLEAN_AFTER_MINUTES).await
}

/// A new key for what is written from now on; the new kit holds the old keys too.
#[tauri::command]
pub async fn repository_key_rotate(
    engine: State<'_, Engine>,
    name: String,
    path: String,
    passphrase: Secret,
) -> Result<RotatedKey, Error> {
    engine.rotate_repository_key(&name, &KitFile { path: path.into(), passphrase }).await
}

#[tauri::command]
pub async fn repository_key_import(
    engine: State<'_, Engine>,
    name: String,
    path: String,
    passphrase: Secret,
) -> Result<(), Error> {
    engine.import_repository_key(&name, &KitFile { path: path.into(), passphrase })
}

/// `tideline repo sync FROM TO`, with its progress (bytes copied of the total).
#[tauri::command]
pub async fn repository_sync(
    engine: State<'_, Engine>,
    from: String,
    to: String,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<SyncReport, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.sync_repositories(&from, &to, &job)).await
}

/// What repository `name` holds comes to this computer, then the catalog is rebuilt
/// (`repo rescan --repo NAME`).
#[tauri::command]
pub async fn repository_rescan(
    engine: State<'_, Engine>,
    name: String,
    job_id: String,
    on_progress: Channel<JobProgress>,
) -> Result<RescanFrom, Error> {
    let job = Job::new(job_id, Arc::new(ChannelSink(on_progress)));
    tracked(&engine, &job, engine.rescan_from_repository(&name, &job)).await
}

/// The repository `profile` keeps its backups and WAL in (`profile edit --repo`); None is
/// this computer's.
#[tauri::command]
pub async fn profile_repository(engine: State<'_, Engine>, profile: String) -> Result<Option<RepositoryRecord>, Error> {
    engine.profile_repository(&profile)
}

#[tauri::command]
pub async fn profile_repository_set(
    engine: State<'_, Engine>,
    profile: String,
    repository: Option<String>,
) -> Result<Option<RepositoryRecord>, Error> {
    engine.set_profile_repository(&profile, repository.as_deref())
}

/// The repository each backup of `profile` is copied to (`profile edit --second-repo`).
#[tauri::command]
pub async fn profile_second_repository(
    engine: State<'_, Engine>,
    profile: String,
) -> Result<Option<RepositoryRecord>, Error> {
    engine.second_repository(&profile)
}

#[tauri::command]
pub async fn profile_second_repository_set(
    engine: State<'_, Engine>,
    profile: String,
    repository: Option<String>,
) -> Result<Option<RepositoryRecord>, Error> {
    engine.set_second_repository(&profile, repository.as_deref())
}

/// Where a backup has been copied, and whether each copy is whole.
#[tauri::command]
pub async fn backup_copies(engine: State<'_, Engine>, id: String) -> Result<Vec<BackupCopy>, Error> {
    engine.backup_copies(&id)
}

/// Every backup's copies, by backup id: the backups list shows them beside each backup.
#[tauri::command]
pub async fn backups_copies(
    engine: State<'_, Engine>,
) -> Result<std::collections::BTreeMap<String, Vec<BackupCopy>>, Error> {
    engine.all_backup_copies()
}

use tauri::State;
use tideline_core::connect::ServerFacts;
use tideline_core::profile::import::{ImportReport, ImportRequest};
use tideline_core::profile::{PasswordChange, Profile, ProfileDraft};
use tideline_core::{Engine, Error, Secret};

// Commands are async so keychain and catalog calls run off the UI thread.

#[tauri::command]
pub async fn profiles_list(engine: State<'_, Engine>) -> Result<Vec<Profile>, Error> {
    engine.profiles()
}

#[tauri::command]
pub async fn profile_parse(engine: State<'_, Engine>, input: String) -> Result<ProfileDraft, Error> {
    engine.parse_connection(&input).map(|parsed| parsed.draft)
}

#[tauri::command]
pub async fn profile_add(
    engine: State<'_, Engine>,
    draft: ProfileDraft,
    password: Option<Secret>,
) -> Result<Profile, Error> {
    engine.add_profile(&draft, password.as_ref())
}

#[tauri::command]
pub async fn profile_update(
    engine: State<'_, Engine>,
    name: String,
    draft: ProfileDraft,
    password: PasswordChange,
) -> Result<Profile, Error> {
    engine.update_profile(&name, &draft, &password)
}

#[tauri::command]
pub async fn profile_remove(engine: State<'_, Engine>, name: String) -> Result<(), Error> {
    engine.remove_profile(&name)
}

#[tauri::command]
pub async fn profile_test(engine: State<'_, Engine>, name: String) -> Result<ServerFacts, Error> {
    engine.test_profile(&name).await
}

#[tauri::command]
pub async fn profile_import(engine: State<'_, Engine>, request: ImportRequest) -> Result<ImportReport, Error> {
    engine.import_profiles(request)
}

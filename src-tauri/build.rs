// Declaring the app's commands makes Tauri generate one permission per command, so the
// capability file can grant exactly these and nothing else.
const COMMANDS: &[&str] = &[
    "profiles_list",
    "profile_parse",
    "profile_add",
    "profile_update",
    "profile_remove",
    "profile_test",
    "profile_import",
    "tools_list",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}

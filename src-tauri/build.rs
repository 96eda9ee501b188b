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
    "backups_list",
    "backup_show",
    "backup_log",
    "backup_command_preview",
    "backup_run",
    "dumpall_run",
    "job_cancel",
    "toc_list",
    "toc_select",
    "restore_run",
    "verify_run",
    "restore_log",
    "wal_setup",
    "wal_status",
    "wal_teardown",
    "basebackup_run",
    "mark_create",
    "timeline_show",
    "wal_stream_run",
    "pitr_run",
    "sandboxes_list",
    "sandbox_stop",
    "sandbox_start",
    "sandbox_remove",
    "sandbox_compare",
    "sandbox_copy_back",
    "demo_open",
    "demo_accident",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}

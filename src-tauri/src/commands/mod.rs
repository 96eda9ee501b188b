//! Tauri commands: each a few lines that call the engine. Errors cross IPC as the engine's
//! `{code, message, hint}`.

pub mod backups;
pub mod profiles;
mod progress;
pub mod repositories;
pub mod restore;
pub mod sandbox;
pub mod schedule;
pub mod settings;
pub mod tools;
pub mod wal;
pub mod window;

/// Every command the window may call, declared once: this list makes the handler below,
/// build.rs reads it for Tauri's permissions and writes `capabilities/default.json` from it,
/// and a test writes the names the UI may call into `ui/src/bindings/Commands.ts`.
macro_rules! app_commands {
    ($($module:ident::$name:ident),* $(,)?) => {
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($module::$name),*]
        }

        /// The commands' names, as the UI invokes them.
        #[cfg(test)]
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

app_commands! {
    profiles::profiles_list,
    profiles::profile_parse,
    profiles::profile_add,
    profiles::profile_update,
    profiles::profile_remove,
    profiles::profile_test,
    profiles::profile_import,
    tools::tools_list,
    tools::tools_folders,
    tools::tools_folder_add,
    tools::tools_folder_remove,
    backups::backups_list,
    backups::backup_show,
    backups::backup_log,
    backups::backup_command_preview,
    backups::backup_run,
    backups::dumpall_run,
    backups::job_cancel,
    restore::toc_list,
    restore::toc_select,
    restore::restore_run,
    restore::verify_run,
    restore::restore_log,
    wal::wal_setup,
    wal::wal_status,
    wal::wal_teardown,
    wal::wal_verify,
    wal::basebackup_run,
    wal::mark_create,
    wal::timeline_show,
    wal::wal_stream_run,
    sandbox::pitr_run,
    sandbox::sandboxes_list,
    sandbox::sandbox_stop,
    sandbox::sandbox_password,
    sandbox::sandbox_start,
    sandbox::sandbox_remove,
    sandbox::sandbox_compare,
    sandbox::sandbox_copy_back,
    sandbox::demo_open,
    sandbox::demo_accident,
    schedule::schedules_list,
    schedule::schedule_preview,
    schedule::schedule_add,
    schedule::schedule_update,
    schedule::schedule_remove,
    schedule::schedule_enable,
    schedule::schedule_run_now,
    schedule::schedule_calendar,
    schedule::schedule_ics_export,
    schedule::retention_preview,
    schedule::health_list,
    settings::repo_show,
    settings::repo_set,
    settings::notify_hooks,
    settings::notify_hook_add,
    settings::notify_hook_remove,
    settings::notify_hook_test,
    repositories::repositories_list,
    repositories::repository_add,
    repositories::repository_test,
    repositories::repository_remove,
    repositories::repository_key_export,
    repositories::repository_key_import,
    repositories::repository_sync,
    repositories::repository_key_rotate,
    repositories::repository_clean,
    repositories::profile_repository,
    repositories::profile_repository_set,
    repositories::repository_rescan,
    repositories::profile_second_repository,
    repositories::profile_second_repository_set,
    repositories::backup_copies,
    repositories::backups_copies,
    window::screen_drawn,
}

#[cfg(test)]
mod tests {
    /// The UI's list of command names, from the one declaration above: `npm test` fails when
    /// the committed file differs (as it does for every binding).
    #[test]
    fn writes_the_command_names_for_the_ui() {
        let names: Vec<String> = super::NAMES.iter().map(|n| format!("  '{n}',\n")).collect();
        let text = format!(
            "// Generated from src-tauri/src/commands/mod.rs by its test; do not edit.\n\nexport const COMMANDS = [\n{}] as const;\n\nexport type Command = (typeof COMMANDS)[number];\n",
            names.concat()
        );
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings/Commands.ts");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).unwrap();
        }
    }
}

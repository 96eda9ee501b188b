//! The Tideline app: builds the Tauri app around one engine. Commands live in `commands/`,
//! a few lines each, delegating to tideline-core.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod runner;
mod tray;

use tideline_core::Engine;

fn main() {
    if std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
        && cfg!(target_os = "linux")
    {
        eprintln!("Tideline needs a display. On a machine without one, run it under Xvfb: xvfb-run -a npm start");
        std::process::exit(1);
    }
    let home = match tideline_core::home::data_dir() {
        Ok(h) => h,
        Err(e) => fail(&e),
    };
    let _log_guard = tideline_core::logging::init(&home, "warn", "app");
    let engine = match Engine::open_default() {
        Ok(e) => e,
        Err(e) => fail(&e),
    };
    tracing::info!(home = %home.display(), "app starting");
    tauri::Builder::default()
        .manage(engine)
        .invoke_handler(tauri::generate_handler![
            commands::profiles::profiles_list,
            commands::profiles::profile_parse,
            commands::profiles::profile_add,
            commands::profiles::profile_update,
            commands::profiles::profile_remove,
            commands::profiles::profile_test,
            commands::profiles::profile_import,
            commands::tools::tools_list,
            commands::backups::backups_list,
            commands::backups::backup_show,
            commands::backups::backup_log,
            commands::backups::backup_command_preview,
            commands::backups::backup_run,
            commands::backups::dumpall_run,
            commands::backups::job_cancel,
            commands::restore::toc_list,
            commands::restore::toc_select,
            commands::restore::restore_run,
            commands::restore::verify_run,
            commands::restore::restore_log,
            commands::wal::wal_setup,
            commands::wal::wal_status,
            commands::wal::wal_teardown,
            commands::wal::wal_verify,
            commands::wal::basebackup_run,
            commands::wal::mark_create,
            commands::wal::timeline_show,
            commands::wal::wal_stream_run,
            commands::sandbox::pitr_run,
            commands::sandbox::sandboxes_list,
            commands::sandbox::sandbox_stop,
            commands::sandbox::sandbox_password,
            commands::sandbox::sandbox_start,
            commands::sandbox::sandbox_remove,
            commands::sandbox::sandbox_compare,
            commands::sandbox::sandbox_copy_back,
            commands::sandbox::demo_open,
            commands::sandbox::demo_accident,
            commands::schedule::schedules_list,
            commands::schedule::schedule_preview,
            commands::schedule::schedule_add,
            commands::schedule::schedule_update,
            commands::schedule::schedule_remove,
            commands::schedule::schedule_enable,
            commands::schedule::schedule_run_now,
            commands::schedule::schedule_calendar,
            commands::schedule::schedule_ics_export,
            commands::schedule::retention_preview,
            commands::schedule::health_list,
        ])
        .setup(|app| {
            // No tray on a desktop without one (or under Xvfb): the runner goes on regardless.
            let tray = match tray::build(app.handle()) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "no tray icon");
                    None
                }
            };
            runner::start(app.handle().clone(), tray);
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the Tauri app failed to run");
}

fn fail(e: &tideline_core::Error) -> ! {
    eprintln!("error: {}\n  hint: {}", e.message, e.hint);
    std::process::exit(1);
}

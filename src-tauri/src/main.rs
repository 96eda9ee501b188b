//! The Tideline app: builds the Tauri app around one engine. Commands live in `commands/`,
//! a few lines each, delegating to tideline-core.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod desktop;
mod repository_events;
mod runner;
mod tray;
mod web_process;

use tideline_core::Engine;

fn main() {
    commands::window::mark_start();
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
        Ok(e) => e.with_desktop_notifier(std::sync::Arc::new(desktop::AppNotifications)),
        Err(e) => fail(&e),
    };
    tracing::info!(home = %home.display(), "app starting");
    tauri::Builder::default()
        .manage(engine)
        .invoke_handler(commands::handler())
        .setup(|app| {
            // No tray on a desktop without one (or under Xvfb): the runner goes on regardless.
            let tray = match tray::build(app.handle()) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "no tray icon");
                    None
                }
            };
            web_process::watch(app.handle());
            repository_events::start(app.handle().clone());
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

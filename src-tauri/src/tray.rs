//! The tray icon: a status line (profiles' health, or a run going), "Back up now", "Open
//! Tideline" and "Quit". Where the desktop has no tray the app runs without one.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tideline_core::health::{summary, DEFAULT_THRESHOLD_HOURS};
use tideline_core::Engine;

/// The status line of the tray's menu.
#[derive(Clone)]
pub struct TrayStatus(MenuItem<Wry>);

impl TrayStatus {
    pub fn set(&self, text: &str) {
        if let Err(e) = self.0.set_text(text) {
            tracing::warn!(error = %e, "updating the tray");
        }
    }

    pub async fn refresh(&self, engine: &Engine) {
        match engine.health(None, DEFAULT_THRESHOLD_HOURS).await {
            Ok(h) => self.set(&summary(&h)),
            Err(e) => self.set(&format!("Health unknown: {}", e.message)),
        }
    }
}

pub fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

pub fn build(app: &AppHandle) -> tauri::Result<TrayStatus> {
    let status = MenuItem::with_id(app, "status", "Checking backups…", false, None::<&str>)?;
    let backup = MenuItem::with_id(app, "back-up-now", "Back up now", true, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Tideline", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&status, &backup, &open, &quit])?;
    let tray = TrayStatus(status);
    let on_menu = tray.clone();
    let mut builder = TrayIconBuilder::with_id("tideline").tooltip("Tideline").menu(&menu).on_menu_event(
        move |app, event| match event.id.as_ref() {
            "back-up-now" => crate::runner::back_up_now(app.clone(), on_menu.clone()),
            "open" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        },
    );
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(tray)
}

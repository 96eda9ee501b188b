//! The in-app runner: while the app is open, what is due runs — the same run-due pass as the
//! CLI's agent, under the same catalog lock, so a systemd timer beside it never doubles a run.
//! Between passes it refreshes the tray's status line.

use crate::tray::TrayStatus;
use std::future::Future;
use std::pin::Pin;
use tauri::{AppHandle, Manager};
use tideline_core::schedule::agent::{Minutes, Ticker};
use tideline_core::schedule::run::{BackupWork, DEFAULT_LIMIT};
use tideline_core::Engine;

/// How the app's runs are signed in the catalog (the pid tells a crashed app from a live one).
pub fn name() -> String {
    format!("app:{}", std::process::id())
}

/// Health reaches servers; once every this many minutes is enough for the tray.
const HEALTH_EVERY: u32 = 5;

struct AppTicker {
    app: AppHandle,
    minutes: Minutes,
    tray: Option<TrayStatus>,
    passes: u32,
}

impl Ticker for AppTicker {
    fn tick(&mut self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            if let Some(tray) = &self.tray {
                if self.passes.is_multiple_of(HEALTH_EVERY) {
                    tray.refresh(&self.app.state::<Engine>()).await;
                }
            }
            self.passes += 1;
            self.minutes.tick().await
        })
    }
}

/// Starts the runner for as long as the app lives. `TIDELINE_APP_RUNNER=off` leaves it to the
/// headless runners (the CLI's agent or the systemd timer).
pub fn start(app: AppHandle, tray: Option<TrayStatus>) {
    if std::env::var("TIDELINE_APP_RUNNER").is_ok_and(|v| v == "off") {
        tracing::info!("in-app runner off");
        return;
    }
    tauri::async_runtime::spawn(async move {
        let mut ticker = AppTicker { app: app.clone(), minutes: Minutes::in_app(), tray, passes: 0 };
        let engine = app.state::<Engine>();
        if let Err(e) = engine.schedule_agent(&name(), &BackupWork, DEFAULT_LIMIT, &mut ticker).await {
            tracing::warn!(code = ?e.code, error = %e.message, "in-app runner stopped");
        }
    });
}

/// The tray's "Back up now": every enabled schedule, run now, one after the other.
pub fn back_up_now(app: AppHandle, tray: TrayStatus) {
    tauri::async_runtime::spawn(async move {
        let engine = app.state::<Engine>();
        let enabled = match engine.schedules() {
            Ok(s) => s.into_iter().filter(|s| s.record.enabled).count(),
            Err(e) => {
                tray.set(&format!("Could not read the schedules: {}", e.message));
                return;
            }
        };
        if enabled == 0 {
            // Nothing to run: the calendar is where a schedule is made.
            crate::tray::show_window(&app);
            return;
        }
        tray.set(&format!("Backing up ({enabled} schedules)…"));
        match engine.schedule_run_all_now(&name(), &BackupWork).await {
            Ok(r) if r.failed() == 0 => tray.set(&format!("Backed up: {} done", r.succeeded())),
            Ok(r) => tray.set(&format!("Backed up: {} done, {} failed", r.succeeded(), r.failed())),
            Err(e) => tray.set(&format!("Could not back up: {}", e.message)),
        }
    });
}

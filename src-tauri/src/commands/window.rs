//! The window itself: when its first screen is drawn, logged with the time since the app
//! started — what a slow start is judged by (`bench/app.sh` reads it).

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Called first thing in `main`.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// The UI calls this once, when its first screen has drawn what it loaded.
#[tauri::command]
pub async fn screen_drawn(screen: String) -> Result<(), tideline_core::Error> {
    let since_start_ms = STARTED.get().map(|s| s.elapsed().as_millis() as u64);
    let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    tracing::info!(screen, since_start_ms, unix_ms, "first screen drawn");
    Ok(())
}

//! Desktop notifications are shown by whoever runs the engine — the CLI and the app each give
//! it theirs — so the engine needs no GUI library. A process without one (a test harness)
//! reports the hook as not delivered, like a headless box without a notification daemon.

use super::payload::Notification;

pub trait DesktopNotifier: Send + Sync {
    /// Shows `n`; Err with why it could not.
    fn show(&self, n: &Notification) -> Result<(), String>;
}

/// What a desktop notification says: the summary line and its urgency.
pub fn summary(n: &Notification) -> String {
    format!("Tideline · {}", n.profile)
}

//! The app's desktop notifications (a tray "Back up now" that failed), through the same
//! session-bus interface the CLI uses; the engine only asks for them to be shown.

use tideline_core::notify::desktop::{summary, DesktopNotifier};
use tideline_core::notify::payload::Notification;

pub struct AppNotifications;

impl DesktopNotifier for AppNotifications {
    fn show(&self, n: &Notification) -> Result<(), String> {
        let mut popup = notify_rust::Notification::new();
        popup.appname("Tideline").summary(&summary(n)).body(&n.message);
        if n.event.is_bad() {
            popup.urgency(notify_rust::Urgency::Critical);
        }
        popup.show().map(|_| ()).map_err(|e| e.to_string())
    }
}

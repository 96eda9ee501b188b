//! The CLI's desktop notifications — a scheduled run's failure reaching whoever sits at the
//! machine: the freedesktop Notifications interface on the session bus (notify-rust, libdbus).

use tideline_core::notify::desktop::{summary, DesktopNotifier};
use tideline_core::notify::payload::Notification;

pub struct SessionBus;

impl DesktopNotifier for SessionBus {
    fn show(&self, n: &Notification) -> Result<(), String> {
        let urgency = if n.event.is_bad() { notify_rust::Urgency::Critical } else { notify_rust::Urgency::Normal };
        notify_rust::Notification::new()
            .appname("Tideline")
            .summary(&summary(n))
            .body(&n.message)
            .urgency(urgency)
            .show()
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

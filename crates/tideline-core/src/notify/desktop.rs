//! Desktop notifications: the freedesktop Notifications interface on the session bus (through
//! notify-rust and libdbus), so a failed backup reaches whoever sits at the machine. No
//! notification daemon (a headless box) is a delivery failure like any other: logged, never
//! fatal.

use super::payload::Notification;

/// Shows `n`; Err with why it could not.
pub fn show(n: &Notification) -> Result<(), String> {
    let urgency = if n.event.is_bad() { notify_rust::Urgency::Critical } else { notify_rust::Urgency::Normal };
    notify_rust::Notification::new()
        .appname("Tideline")
        .summary(&format!("Tideline · {}", n.profile))
        .body(&n.message)
        .urgency(urgency)
        .show()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

//! Health alerts: the runners check each profile's health at most hourly and notify the hooks
//! that want `stale` (no good backup within the threshold) or `archiver` (the WAL archiver is
//! failing) — once a day per profile and problem while it lasts, not every check.

use super::{HealthState, ProfileHealth, DEFAULT_THRESHOLD_HOURS};
use crate::engine::Engine;
use crate::error::Result;
use crate::notify::payload::{Notification, NotifyEvent};
use crate::notify::Retry;
use chrono::{DateTime, Duration, Utc};

const CHECKED_KEY: &str = "health.checked_at";

/// The alerts a profile's health calls for.
pub fn alerts_for(h: &ProfileHealth) -> Vec<(NotifyEvent, String)> {
    let mut out = Vec::new();
    if h.state != HealthState::Failing {
        return out;
    }
    for p in &h.problems {
        if p.starts_with("the WAL archiver is failing") {
            out.push((NotifyEvent::Archiver, p.clone()));
        } else if p.starts_with("no complete backup") || p.starts_with("the newest good backup is") {
            out.push((NotifyEvent::Stale, p.clone()));
        }
    }
    out
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

impl Engine {
    /// When an hour has passed since the last check: checks every profile and sends the alerts
    /// not sent in the last day. Returns what was sent.
    pub async fn health_alerts(&self, retry: Retry) -> Result<Vec<Notification>> {
        // With no hook to tell, checking would only reach servers (and the keychain) for nothing.
        let hooks = self.catalog().hooks()?;
        if hooks.is_empty() {
            return Ok(vec![]);
        }
        let now = self.clock.now().with_timezone(&Utc);
        let last = self.catalog().setting(CHECKED_KEY)?.as_deref().and_then(parse);
        if last.is_some_and(|l| now - l < Duration::hours(1)) {
            return Ok(vec![]);
        }
        self.catalog().set_setting(CHECKED_KEY, &now.to_rfc3339())?;
        let mut sent = Vec::new();
        for h in self.health(None, DEFAULT_THRESHOLD_HOURS).await? {
            for (event, message) in alerts_for(&h) {
                let key = format!("health.alerted.{}.{event:?}", h.profile);
                let alerted = self.catalog().setting(&key)?.as_deref().and_then(parse);
                if alerted.is_some_and(|a| now - a < Duration::hours(24)) {
                    continue;
                }
                let n = Notification {
                    event,
                    profile: h.profile.clone(),
                    message,
                    backup_id: None,
                    schedule_id: None,
                    at: now.to_rfc3339(),
                };
                self.notify(&n, retry).await;
                self.catalog().set_setting(&key, &now.to_rfc3339())?;
                sent.push(n);
            }
        }
        Ok(sent)
    }
}

//! What a webhook receives, per format: generic JSON (every field), Slack (`text`), Discord
//! (`content`), and a dead-man's-switch ping (healthchecks.io style: the URL itself on success,
//! `<url>/fail` on failure, no body).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum HookFormat {
    Generic,
    Slack,
    Discord,
    Ping,
    /// A desktop notification on this machine (no URL).
    Desktop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum NotifyEvent {
    Success,
    Failure,
    /// The newest good backup is older than the health threshold.
    Stale,
    /// The WAL archiver is failing.
    Archiver,
}

impl NotifyEvent {
    pub fn is_bad(self) -> bool {
        !matches!(self, NotifyEvent::Success)
    }
}

/// One thing to tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Notification {
    pub event: NotifyEvent,
    pub profile: String,
    pub message: String,
    pub backup_id: Option<String>,
    pub schedule_id: Option<String>,
    /// RFC 3339.
    pub at: String,
}

/// The most of a message that leaves the machine: a failure's message may end in a server's
/// log (paths, settings, names), which belongs in Tideline's own log, not in a chat channel.
const SENT_CHARS: usize = 300;

impl Notification {
    /// This notification as sent: the message's first line, at most [`SENT_CHARS`] characters.
    pub fn trimmed(&self) -> Notification {
        let first = self.message.lines().next().unwrap_or_default();
        let mut message: String = first.chars().take(SENT_CHARS).collect();
        if message.len() < self.message.trim_end().len() {
            message.push_str(" …");
        }
        Notification { message, ..self.clone() }
    }

    /// One line for chat: what happened to which profile.
    pub fn line(&self) -> String {
        let mark = if self.event.is_bad() { "⚠" } else { "✓" };
        format!("{mark} Tideline · {}: {}", self.profile, self.message)
    }
}

/// The URL to call and the JSON body (None: an empty POST).
pub fn request(format: HookFormat, url: &str, n: &Notification) -> (String, Option<serde_json::Value>) {
    let n = &n.trimmed();
    match format {
        HookFormat::Generic => (url.to_string(), Some(serde_json::to_value(n).unwrap_or_default())),
        HookFormat::Slack => (url.to_string(), Some(serde_json::json!({ "text": n.line() }))),
        HookFormat::Discord => (url.to_string(), Some(serde_json::json!({ "content": n.line() }))),
        HookFormat::Desktop => (String::new(), None),
        HookFormat::Ping => {
            let base = url.trim_end_matches('/');
            (if n.event.is_bad() { format!("{base}/fail") } else { base.to_string() }, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(event: NotifyEvent) -> Notification {
        Notification {
            event,
            profile: "prod".into(),
            message: "backup 20260301T010000Z-abc failed: pg_dump exited 1".into(),
            backup_id: None,
            schedule_id: Some("sch-1".into()),
            at: "2026-03-01T01:00:05Z".into(),
        }
    }

    #[test]
    fn what_is_sent_stops_before_a_server_log() {
        let mut note = n(NotifyEvent::Failure);
        note.message = "sandbox failed: pg_ctl start failed\nserver.log:\nFATAL: could not open /srv/secret/x".into();
        let (_, body) = request(HookFormat::Generic, "https://hooks.test/x", &note);
        let sent = body.unwrap()["message"].as_str().unwrap().to_string();
        assert_eq!(sent, "sandbox failed: pg_ctl start failed …");
        note.message = "x".repeat(1000);
        let (_, body) = request(HookFormat::Slack, "https://hooks.test/x", &note);
        assert!(body.unwrap()["text"].as_str().unwrap().chars().count() < 350);
    }

    #[test]
    fn each_format_says_it_its_own_way() {
        let (url, body) = request(HookFormat::Slack, "https://hooks.slack.test/x", &n(NotifyEvent::Failure));
        assert_eq!(url, "https://hooks.slack.test/x");
        assert_eq!(body.unwrap()["text"], "⚠ Tideline · prod: backup 20260301T010000Z-abc failed: pg_dump exited 1");
        let (_, body) = request(HookFormat::Discord, "https://discord.test/x", &n(NotifyEvent::Success));
        assert!(body.unwrap()["content"].as_str().unwrap().starts_with("✓ Tideline · prod"));
        let (_, body) = request(HookFormat::Generic, "https://example.test/hook", &n(NotifyEvent::Stale));
        let body = body.unwrap();
        assert_eq!((body["event"].as_str(), body["schedule_id"].as_str()), (Some("stale"), Some("sch-1")));
        assert_eq!(
            request(HookFormat::Ping, "https://hc.test/uuid/", &n(NotifyEvent::Failure)),
            ("https://hc.test/uuid/fail".into(), None)
        );
        assert_eq!(
            request(HookFormat::Ping, "https://hc.test/uuid", &n(NotifyEvent::Success)),
            ("https://hc.test/uuid".into(), None)
        );
    }
}

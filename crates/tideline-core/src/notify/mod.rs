//! Notifications: webhooks per profile and event. A hook's URL is a secret (it lets anyone post
//! to the channel): it lives in the keychain, never in the catalog, logs or errors. Delivery is
//! retried on 5xx answers, timeouts and connection failures, logged, and never fails the run
//! that caused it.

#[cfg(test)]
mod deliver_tests;
pub mod desktop;
#[doc(hidden)]
pub mod loopback;
pub mod payload;

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::secret::Secret;
use payload::{HookFormat, Notification, NotifyEvent};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Hook {
    pub id: String,
    /// None: every profile.
    pub profile: Option<String>,
    pub format: HookFormat,
    pub events: Vec<NotifyEvent>,
    /// Where it points, without path or query (the secret part): `https://hooks.slack.com`.
    pub host: String,
    /// What the user should know about it (an `http://` hook sends its messages unencrypted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub warning: Option<String>,
}

impl Hook {
    fn with_warning(mut self) -> Hook {
        self.warning = self.host.starts_with("http://").then(|| {
            "this hook is http://: its messages (and the hook's secret URL) cross the network unencrypted".to_string()
        });
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Delivery {
    pub hook_id: String,
    pub delivered: bool,
    pub attempts: u32,
    /// The last HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// How hard delivery tries: attempts, the wait before each retry (doubling), the timeout.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 3, backoff: Duration::from_secs(2), timeout: Duration::from_secs(10) }
    }
}

fn hook_account(id: &str) -> String {
    format!("webhook/{id}")
}

fn host_of(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| {
        Error::invalid_input("that is not a URL".to_string(), "Give the full https://… URL the service gave you.")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid_input("a webhook URL is http or https".to_string(), "Give the https://… URL."));
    }
    Ok(format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or_default()))
}

/// One POST with retries; the URL never appears in what is returned or logged.
pub async fn deliver(
    url: &str,
    format: HookFormat,
    n: &Notification,
    retry: Retry,
) -> (bool, u32, Option<u16>, Option<String>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // No redirects: one could send the payload (failures, names) somewhere the user never chose,
    // or from https down to http.
    let client = reqwest::Client::builder().timeout(retry.timeout).redirect(reqwest::redirect::Policy::none()).build();
    let client = match client {
        Ok(c) => c,
        Err(e) => return (false, 0, None, Some(format!("no HTTP client: {}", e.without_url()))),
    };
    let (target, body) = payload::request(format, url, n);
    let mut wait = retry.backoff;
    let mut last = (None, None);
    for attempt in 1..=retry.attempts.max(1) {
        let mut req = client.post(&target);
        if let Some(b) = &body {
            req = req.json(b);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => return (true, attempt, Some(r.status().as_u16()), None),
            Ok(r) => {
                let status = r.status();
                last = (Some(status.as_u16()), Some(format!("answered {status}")));
                if status.is_redirection() {
                    last.1 = Some(format!("answered {status}: redirects are not followed; give the hook's final URL"));
                }
                // A 4xx (or a redirect) will not change on retry (a revoked hook, a bad payload).
                if status.is_client_error() || status.is_redirection() {
                    return (false, attempt, last.0, last.1);
                }
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "failed"
                };
                last = (None, Some(format!("{what}: {}", e.without_url())));
            }
        }
        if attempt < retry.attempts {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    (false, retry.attempts.max(1), last.0, last.1)
}

impl Engine {
    /// `url` is None for desktop notifications (and required for every other format).
    pub fn hook_add(
        &self,
        profile: Option<&str>,
        format: HookFormat,
        events: Vec<NotifyEvent>,
        url: Option<&Secret>,
    ) -> Result<Hook> {
        if let Some(p) = profile {
            self.profile(p)?;
        }
        let host = match (format, url) {
            (HookFormat::Desktop, _) => "desktop".to_string(),
            (_, Some(url)) => host_of(url.expose())?,
            (_, None) => {
                return Err(Error::invalid_input("a webhook needs its URL".to_string(), "Pipe it in with --url-stdin."))
            }
        };
        let events = if events.is_empty() {
            vec![NotifyEvent::Failure, NotifyEvent::Stale, NotifyEvent::Archiver]
        } else {
            events
        };
        let hook = Hook {
            id: format!("hook-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            profile: profile.map(str::to_string),
            format,
            events,
            host,
            warning: None,
        }
        .with_warning();
        if let (Some(url), false) = (url, format == HookFormat::Desktop) {
            self.secrets.set(&hook_account(&hook.id), url)?;
        }
        if let Err(e) = self.catalog().save_hook(&hook) {
            let _ = self.secrets.delete(&hook_account(&hook.id));
            return Err(e);
        }
        Ok(hook)
    }

    pub fn hooks(&self) -> Result<Vec<Hook>> {
        Ok(self.catalog().hooks()?.into_iter().map(Hook::with_warning).collect())
    }

    pub fn hook_remove(&self, id: &str) -> Result<()> {
        if !self.catalog().delete_hook(id)? {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!("no webhook {id}"),
                "`tideline notify list` shows them.",
            ));
        }
        self.secrets.delete(&hook_account(id))
    }

    /// Sends `n` to every hook that wants it; failures are reported, never raised.
    pub async fn notify(&self, n: &Notification, retry: Retry) -> Vec<Delivery> {
        let hooks = self.catalog().hooks().unwrap_or_default();
        let mut out = Vec::new();
        for h in hooks
            .into_iter()
            .filter(|h| h.events.contains(&n.event) && h.profile.as_deref().is_none_or(|p| p == n.profile))
        {
            out.push(self.deliver_to(&h, n, retry).await);
        }
        out
    }

    /// Sends `n` to one hook, whatever its events (`notify test`).
    pub async fn deliver_to(&self, h: &Hook, n: &Notification, retry: Retry) -> Delivery {
        if h.format == HookFormat::Desktop {
            let shown = match self.desktop_notifier() {
                Some(desktop) => desktop.show(n),
                None => Err("this process shows no desktop notifications".to_string()),
            };
            if let Err(e) = &shown {
                tracing::warn!(hook = %h.id, error = %e, "desktop notification not shown");
            }
            return Delivery {
                hook_id: h.id.clone(),
                delivered: shown.is_ok(),
                attempts: 1,
                status: None,
                error: shown.err(),
            };
        }
        let url = match self.secrets.get(&hook_account(&h.id)) {
            Ok(Some(u)) => u,
            Ok(None) => {
                return Delivery {
                    hook_id: h.id.clone(),
                    delivered: false,
                    attempts: 0,
                    status: None,
                    error: Some("its URL is not in the keychain".into()),
                }
            }
            Err(e) => {
                return Delivery {
                    hook_id: h.id.clone(),
                    delivered: false,
                    attempts: 0,
                    status: None,
                    error: Some(e.message),
                }
            }
        };
        let (delivered, attempts, status, error) = deliver(url.expose(), h.format, n, retry).await;
        if !delivered {
            tracing::warn!(hook = %h.id, host = %h.host, attempts, error = ?error, "webhook not delivered");
        }
        Delivery { hook_id: h.id.clone(), delivered, attempts, status, error }
    }

    /// Sends a test notification to hook `id`, whatever its events; refused with
    /// `notify_failed` (and why) when it does not arrive.
    pub async fn hook_test(&self, id: &str) -> Result<Delivery> {
        let h = self.hook(id)?;
        let n = Notification {
            event: NotifyEvent::Success,
            profile: h.profile.clone().unwrap_or_else(|| "tideline".into()),
            message: "a test notification".into(),
            backup_id: None,
            schedule_id: None,
            at: self.clock.now_rfc3339(),
        };
        let d = self.deliver_to(&h, &n, Retry::default()).await;
        if !d.delivered {
            return Err(Error::new(
                ErrorCode::NotifyFailed,
                format!(
                    "webhook {id} was not delivered after {} attempts: {}",
                    d.attempts,
                    d.error.clone().unwrap_or_default()
                ),
                "Check the URL with the service (set it again: remove the webhook and add it anew); its host is listed with it.",
            ));
        }
        Ok(d)
    }

    pub fn hook(&self, id: &str) -> Result<Hook> {
        self.hooks()?.into_iter().find(|h| h.id == id).ok_or_else(|| {
            Error::new(ErrorCode::InvalidInput, format!("no webhook {id}"), "`tideline notify list` shows them.")
        })
    }
}

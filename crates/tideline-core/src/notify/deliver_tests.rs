//! Delivery against an HTTP server on loopback that answers as told: retried on 500s and on
//! silence (a timeout), not on a 404; the body each format sends arrives as sent.

use super::loopback::Requests;
use super::payload::{HookFormat, Notification, NotifyEvent};
use super::{deliver, Retry};
use std::time::Duration;

/// The loopback server, its URL with a secret path as a real hook's has.
fn server(statuses: Vec<u16>) -> (String, Requests) {
    let (base, seen) = super::loopback::server(statuses);
    (format!("{base}/hook/secret-token"), seen)
}

fn note(event: NotifyEvent) -> Notification {
    Notification {
        event,
        profile: "prod".into(),
        message: "scheduled backup failed".into(),
        backup_id: None,
        schedule_id: Some("sch-1".into()),
        at: "2026-03-01T01:00:05Z".into(),
    }
}

const FAST: Retry = Retry { attempts: 3, backoff: Duration::from_millis(10), timeout: Duration::from_millis(300) };

#[tokio::test]
async fn a_500_is_retried_until_it_is_delivered() {
    let (url, seen) = server(vec![500, 502, 200]);
    let (ok, attempts, status, error) = deliver(&url, HookFormat::Slack, &note(NotifyEvent::Failure), FAST).await;
    assert_eq!((ok, attempts, status, error), (true, 3, Some(200), None));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].0, "POST /hook/secret-token HTTP/1.1");
    let body: serde_json::Value = serde_json::from_str(&seen[2].1).unwrap();
    assert_eq!(body["text"], "⚠ Tideline · prod: scheduled backup failed");
}

#[tokio::test]
async fn a_silent_server_times_out_and_a_404_is_not_retried() {
    let (url, seen) = server(vec![0, 0, 0]);
    let (ok, attempts, status, error) = deliver(&url, HookFormat::Generic, &note(NotifyEvent::Stale), FAST).await;
    assert!(!ok && attempts == 3 && status.is_none());
    let error = error.unwrap();
    assert!(error.starts_with("timed out"), "{error}");
    assert!(!error.contains("secret-token"), "the URL is a secret: {error}");
    assert_eq!(seen.lock().unwrap().len(), 3);

    let (url, seen) = server(vec![404, 200]);
    let (ok, attempts, status, _) = deliver(&url, HookFormat::Discord, &note(NotifyEvent::Failure), FAST).await;
    assert_eq!((ok, attempts, status), (false, 1, Some(404)));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (url, seen) = server(vec![302, 200]);
    let (ok, attempts, status, error) = deliver(&url, HookFormat::Slack, &note(NotifyEvent::Failure), FAST).await;
    assert_eq!((ok, attempts, status), (false, 1, Some(302)));
    assert!(error.unwrap().contains("redirects are not followed"));
    assert_eq!(seen.lock().unwrap().len(), 1, "nothing was sent where the redirect pointed");
}

#[tokio::test]
async fn a_ping_calls_the_url_or_its_fail_endpoint() {
    let (url, seen) = server(vec![200, 200]);
    deliver(&url, HookFormat::Ping, &note(NotifyEvent::Success), FAST).await;
    deliver(&url, HookFormat::Ping, &note(NotifyEvent::Failure), FAST).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].0, "POST /hook/secret-token HTTP/1.1");
    assert_eq!(seen[1].0, "POST /hook/secret-token/fail HTTP/1.1");
    assert_eq!(seen[1].1, "");
}

//! Webhooks through the CLI against an HTTP server on loopback: the URL goes to the keychain
//! (never the catalog or logs), `notify test` posts the format's payload, a failed scheduled
//! backup posts a failure to the hooks that want one, and an undeliverable hook is a coded
//! error after its retries.

use crate::support::Home;
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use tideline_core::notify::loopback::Requests;

/// Answers every request with `status`; records (request line, body).
fn server(status: u16) -> (String, Requests) {
    tideline_core::notify::loopback::server(vec![status])
}

#[test]
fn webhooks_keep_their_url_secret_and_hear_about_failed_backups() {
    let home = Home::new();
    // A profile whose server is not there: its scheduled backups fail.
    home.cli(
        &["profile", "add", "p", "--url", "postgresql://u@127.0.0.1:1/db?connect_timeout=2", "--no-password"],
        None,
    )
    .ok();
    let (base, seen) = server(200);
    let token = "T0KEN-7f3a9c";
    let slack = format!("{base}/services/{token}");
    let hook = home
        .cli(&["notify", "add", "--format", "slack", "--url-stdin", "--on", "failure,success"], Some(&slack))
        .ok()
        .clone();
    let id = hook["id"].as_str().unwrap().to_string();
    assert_eq!(hook["host"], format!("http://127.0.0.1"), "{hook}");
    assert!(hook["warning"].as_str().unwrap().contains("unencrypted"), "an http:// hook is warned: {hook}");
    let generic = format!("{base}/generic/{token}");
    home.cli(&["notify", "add", "--url-stdin", "--profile", "p"], Some(&generic)).ok();
    let listed = home.cli(&["notify", "list"], None).ok().clone();
    assert_eq!(listed["hooks"].as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(token));

    let d = home.cli(&["notify", "test", &id], None).ok().clone();
    assert_eq!((d["delivered"].as_bool(), d["attempts"].as_u64()), (Some(true), Some(1)), "{d}");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0, format!("POST /services/{token} HTTP/1.1"));
        let body: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
        assert_eq!(body["text"], "✓ Tideline · tideline: a test notification");
    }

    // A scheduled backup fails: both hooks hear of it, each in its own format.
    home.cli_env(
        &["schedule", "add", "p", "--hourly", "0", "--tz", "UTC"],
        None,
        &[("TIDELINE_NOW", "2026-03-01T00:30:00Z")],
    )
    .ok();
    let r = home.cli_env(&["schedule", "run-due"], None, &[("TIDELINE_NOW", "2026-03-01T01:01:00Z")]).ok().clone();
    assert_eq!(r["ran"][0]["status"], "failed", "{r}");
    let seen = seen.lock().unwrap().clone();
    let generic_body = seen
        .iter()
        .find(|(l, _)| l.contains("/generic/"))
        .map(|(_, b)| b.clone())
        .expect("the generic hook was called");
    let body: serde_json::Value = serde_json::from_str(&generic_body).unwrap();
    assert_eq!((body["event"].as_str(), body["profile"].as_str()), (Some("failure"), Some("p")));
    assert!(body["message"].as_str().unwrap().starts_with("scheduled backup failed ("), "{body}");
    let slack_body = seen.iter().rev().find(|(l, _)| l.contains("/services/")).unwrap().1.clone();
    assert!(slack_body.contains("⚠ Tideline · p: scheduled backup failed"), "{slack_body}");

    // The URL is in the keychain only.
    assert!(home.files_containing(token).is_empty(), "{:?}", home.files_containing(token));

    // A hook that only ever answers 500: retried, then a coded error.
    let (bad, bad_seen) = server(500);
    let broken = home.cli(&["notify", "add", "--url-stdin"], Some(&format!("{bad}/x/{token}"))).ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e = home.cli(&["notify", "test", &broken], None).err("notify_failed").clone();
    assert!(e["message"].as_str().unwrap().contains("after 3 attempts"), "{e}");
    assert!(!e.to_string().contains(token));
    assert_eq!(bad_seen.lock().unwrap().len(), 3);
    home.cli(&["notify", "remove", &broken], None).ok();
    assert_eq!(home.cli(&["notify", "list"], None).ok()["hooks"].as_array().unwrap().len(), 2);
}

#[test]
fn a_desktop_notification_goes_out_on_the_session_bus() {
    let home = Home::new();
    let hook = home.cli(&["notify", "add", "--format", "desktop", "--on", "failure,success"], None).ok().clone();
    assert_eq!(hook["host"], "desktop");
    home.cli(&["notify", "add", "--format", "slack"], None).err("invalid_input");

    // Watch the session bus the tests run in (dbus-run-session) for Notifications calls.
    let mut monitor = std::process::Command::new("dbus-monitor")
        .args(["--session", "interface='org.freedesktop.Notifications'"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("dbus-monitor (package dbus-bin)");
    let heard = Arc::new(Mutex::new(String::new()));
    let sink = heard.clone();
    let out = monitor.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
        }
    });
    // It says hello (its own NameAcquired) once it listens.
    crate::support::wait_for("dbus-monitor to listen", || !heard.lock().unwrap().is_empty());

    // Shown if a notification daemon runs; either way the call is on the bus.
    let id = hook["id"].as_str().unwrap();
    let sent = home.cli(&["notify", "test", id], None);
    if !sent.output.status.success() {
        sent.err("notify_failed");
    }
    crate::support::wait_for("the Notify call", || heard.lock().unwrap().contains("member=Notify"));
    let _ = monitor.kill();
    let _ = monitor.wait();
    let heard = heard.lock().unwrap().clone();
    assert!(
        heard.contains("\"Tideline\"")
            && heard.contains("Tideline · tideline")
            && heard.contains("a test notification"),
        "{heard}"
    );
}

#[test]
fn stale_backups_are_alerted_hourly_at_most_and_once_a_day() {
    let home = Home::new();
    home.cli(
        &["profile", "add", "p", "--url", "postgresql://u@127.0.0.1:1/db?connect_timeout=2", "--no-password"],
        None,
    )
    .ok();
    let (base, seen) = server(200);
    home.cli(&["notify", "add", "--url-stdin", "--on", "stale"], Some(&format!("{base}/stale"))).ok();
    let run = |now: &str| home.cli_env(&["schedule", "run-due"], None, &[("TIDELINE_NOW", now)]).ok().clone();

    let r = run("2026-03-01T10:00:00Z");
    assert_eq!(r["alerts"][0]["event"], "stale", "{r}");
    assert_eq!(r["alerts"][0]["message"], "no complete backup");
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Within the hour: not even checked; two hours on: checked, but already said today.
    assert!(run("2026-03-01T10:30:00Z")["alerts"].as_array().unwrap().is_empty());
    assert!(run("2026-03-01T12:00:00Z")["alerts"].as_array().unwrap().is_empty());
    // A day on, still stale: said again.
    assert_eq!(run("2026-03-02T10:05:00Z")["alerts"].as_array().unwrap().len(), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&seen[1].1).unwrap();
    assert_eq!((body["event"].as_str(), body["profile"].as_str()), (Some("stale"), Some("p")));
}

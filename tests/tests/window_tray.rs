//! The tray icon of the real app, read and clicked over D-Bus the way a desktop's panel does
//! (StatusNotifierItem with a com.canonical.dbusmenu menu): its status line tells the profiles'
//! health, "Back up now" runs every enabled schedule, and "Quit" ends the app.

use crate::support::webdriver::Driver;
use crate::support::{majors, password, Home, TestCluster};
use std::process::Command;

const ITEM: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_tideline";

fn gdbus(args: &[&str]) -> Option<String> {
    let out = Command::new("gdbus").arg("call").arg("--session").args(args).output().expect("gdbus (libglib2.0-bin)");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The bus name of whoever exports Tideline's tray item.
fn tray_owner() -> Option<String> {
    let names = gdbus(&[
        "--dest",
        "org.freedesktop.DBus",
        "--object-path",
        "/org/freedesktop/DBus",
        "--method",
        "org.freedesktop.DBus.ListNames",
    ])?;
    names.split('\'').filter(|n| n.starts_with(":1.")).map(str::to_string).find(|n| {
        gdbus(&[
            "--dest",
            n,
            "--object-path",
            ITEM,
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.kde.StatusNotifierItem",
            "Menu",
        ])
        .is_some()
    })
}

/// The menu's items as (id, label).
fn menu(owner: &str) -> Vec<(i32, String)> {
    let layout = gdbus(&[
        "--dest",
        owner,
        "--object-path",
        &format!("{ITEM}/Menu"),
        "--method",
        "com.canonical.dbusmenu.GetLayout",
        "0",
        "--",
        "-1",
        "@as []",
    ])
    .expect("the tray menu's layout");
    layout
        .split("<(")
        .skip(1)
        .filter_map(|item| {
            let id = item.split(',').next()?.trim().parse().ok()?;
            let label = item.split("'label': <'").nth(1)?.split("'>").next()?.to_string();
            Some((id, label))
        })
        .collect()
}

/// Clicks the menu item labelled `label`, as a panel does; the call's reply, if any.
fn click(owner: &str, label: &str) -> Option<String> {
    let (id, _) = menu(owner).into_iter().find(|(_, l)| l == label).unwrap_or_else(|| panic!("no {label} item"));
    gdbus(&[
        "--dest",
        owner,
        "--object-path",
        &format!("{ITEM}/Menu"),
        "--method",
        "com.canonical.dbusmenu.Event",
        &id.to_string(),
        "clicked",
        "<0>",
        "0",
    ])
}

fn wait_for_label(owner: &str, index: usize, pred: impl Fn(&str) -> bool) -> String {
    for _ in 0..300 {
        if let Some((_, label)) = menu(owner).get(index) {
            if pred(label) {
                return label.clone();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the tray's item {index} never showed what was expected: {:?}", menu(owner));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn the_tray_shows_health_and_backs_up_now() {
    let home = Home::new();
    let major = *majors().first().unwrap();
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["backup", "p"], None).ok();
    let s = home.cli(&["schedule", "add", "p", "--weekly", "sun@04:00"], None).ok().clone();
    let id = s["id"].as_str().unwrap().to_string();

    let driver = Driver::start(&home, None);
    let c = driver.open_app().await;
    let mut owner = None;
    for _ in 0..100 {
        owner = tray_owner();
        if owner.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let owner = owner.expect("the app exports a tray item on the session bus");
    let labels: Vec<String> = menu(&owner).into_iter().map(|(_, l)| l).collect();
    assert_eq!(labels[1..], ["Back up now", "Open Tideline", "Quit"], "{labels:?}");
    wait_for_label(&owner, 0, |l| l == "All 1 profile healthy");

    // "Back up now" runs the schedule by hand, and the status line says how it went.
    click(&owner, "Back up now").expect("clicking the menu item");
    wait_for_label(&owner, 0, |l| l == "Backed up: 1 done");
    let shown = home.cli(&["schedule", "show", &id], None).ok().clone();
    assert_eq!(
        (shown["runs"][0]["kind"].as_str(), shown["runs"][0]["status"].as_str()),
        (Some("manual"), Some("succeeded")),
        "{shown}"
    );

    // "Quit" ends the app: its tray item leaves the bus.
    // (The app may be gone before it answers the click.)
    let _ = click(&owner, "Quit");
    for _ in 0..100 {
        if tray_owner().is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(tray_owner().is_none(), "the app still runs after Quit");
    // The session's window is gone with it.
    let _ = c.close().await;
}

//! The real app window, driven through tauri-driver and WebKitWebDriver under Xvfb, with a real
//! gnome-keyring: add password-protected profiles for real clusters of every major, test them,
//! see the server version, check the keychain and the data directory, and see each failure's
//! code and hint on screen. Run by `npm test` (it needs a display and the drivers).

use crate::support::webdriver::{click, css, el, error_shown, gone, screenshot, text_when, type_into, Driver};
use crate::support::{keychain_get, majors, password, Home, TestCluster};
use fantoccini::Client;
use std::time::{Duration, Instant};

async fn add_profile(c: &Client, name: &str, uri: &str, pw: Option<&str>) {
    click(c, "[data-testid=profiles-add]").await;
    type_into(c, "[data-testid=form-uri]", uri).await;
    click(c, "[data-testid=form-parse]").await;
    // The engine parsed the URI and filled the fields.
    let host = el(c, "[data-testid=form-host]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.prop("value").await.unwrap().as_deref() != Some("127.0.0.1") {
        assert!(Instant::now() < deadline, "fields were not filled from the URI");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    type_into(c, "[data-testid=form-name]", name).await;
    if let Some(pw) = pw {
        type_into(c, "[data-testid=form-password]", pw).await;
    }
    click(c, "[data-testid=form-save]").await;
}

/// Adds a profile and waits until it is saved and listed.
async fn add_saved(c: &Client, name: &str, uri: &str, pw: Option<&str>) {
    add_profile(c, name, uri, pw).await;
    gone(c, "[data-testid=form-save]").await;
    el(c, &format!("[data-testid=profile-item][data-name='{name}']")).await;
}

async fn select_and_test(c: &Client, name: &str) {
    click(c, &format!("[data-testid=profile-item][data-name='{name}']")).await;
    click(c, "[data-testid=profile-test]").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn profiles_screen_adds_tests_and_shows_errors() {
    let clusters: Vec<(u32, String, TestCluster)> = majors()
        .into_iter()
        .map(|m| {
            let pw = password();
            let pg = TestCluster::start(m, Some(&pw));
            (m, pw, pg)
        })
        .collect();
    let home = Home::new();
    let driver = Driver::start(&home, None);
    let c = driver.open_app().await;
    // The app opens on the Timeline; profiles are managed on their own screen.
    click(&c, "[data-testid=nav-profiles]").await;
    el(&c, "[data-testid=profiles-empty]").await;
    for (major, pw, pg) in &clusters {
        let name = format!("pg{major}");
        add_saved(&c, &name, &pg.url("postgres"), Some(pw)).await;
        select_and_test(&c, &name).await;
        let version = text_when(&c, "[data-testid=facts-version]", |t| t.starts_with(&format!("{major}."))).await;
        assert!(version.starts_with(&format!("{major}.")));
        assert_eq!(el(&c, "[data-testid=facts-user]").await.text().await.unwrap(), "postgres");
    }
    let shot = screenshot(&c, "profiles-tested").await;

    // The Tools screen lists each major the bootstrap installed.
    click(&c, "[data-testid=nav-tools]").await;
    for (major, _, _) in &clusters {
        el(&c, &format!("[data-testid=tools-row][data-major='{major}']")).await;
    }
    screenshot(&c, "tools").await;
    click(&c, "[data-testid=nav-profiles]").await;
    eprintln!("screenshot: {}", shot.display());

    // The engine's own view: every password is in the keychain, none under TIDELINE_HOME.
    let engine = tideline_core::Engine::open(
        home.path(),
        std::sync::Arc::new(tideline_core::keychain::OsKeychain),
        std::sync::Arc::new(tideline_core::clock::SystemClock),
    )
    .unwrap();
    for (major, pw, _) in &clusters {
        let p = engine.profile(&format!("pg{major}")).unwrap();
        assert_eq!(keychain_get(&p.id).as_deref(), Some(pw.as_str()));
        assert!(home.files_containing(pw).is_empty(), "password found under TIDELINE_HOME");
    }

    // Failures, each with its own code and hint on screen.
    let (_, pw, pg) = &clusters[0];
    add_saved(&c, "wrong-password", &pg.url("postgres"), Some("not-it")).await;
    select_and_test(&c, "wrong-password").await;
    error_shown(&c, "auth_failed").await;

    add_saved(&c, "missing-db", &pg.url("no_such_db"), Some(pw)).await;
    select_and_test(&c, "missing-db").await;
    error_shown(&c, "database_missing").await;

    let closed = tideline_core::cluster::free_port().unwrap();
    add_saved(&c, "unreachable", &format!("postgresql://postgres@127.0.0.1:{closed}/postgres?sslmode=disable"), None)
        .await;
    select_and_test(&c, "unreachable").await;
    error_shown(&c, "host_unreachable").await;

    // Remove asks for confirmation in the page, then the profile is gone.
    click(&c, "[data-testid=profile-remove]").await;
    click(&c, "[data-testid=profile-remove-confirm]").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.find_all(css("[data-testid=profile-item][data-name='unreachable']")).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the removed profile is still listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(engine.profile("unreachable").unwrap_err().code, tideline_core::ErrorCode::ProfileMissing);

    // Fix the wrong password through Edit; the keychain gets the new one and the test passes.
    select_and_test(&c, "wrong-password").await;
    error_shown(&c, "auth_failed").await;
    click(&c, "[data-testid=profile-edit]").await;
    click(&c, "[data-testid=form-password-set]").await;
    type_into(&c, "[data-testid=form-password]", pw).await;
    click(&c, "[data-testid=form-save]").await;
    gone(&c, "[data-testid=form-save]").await;
    select_and_test(&c, "wrong-password").await;
    text_when(&c, "[data-testid=facts-version]", |t| !t.is_empty()).await;
    let fixed = engine.profile("wrong-password").unwrap();
    assert_eq!(keychain_get(&fixed.id).as_deref(), Some(pw.as_str()));

    click(&c, "[data-testid=profiles-add]").await;
    type_into(&c, "[data-testid=form-uri]", "mysql://nope@127.0.0.1/db").await;
    click(&c, "[data-testid=form-parse]").await;
    error_shown(&c, "invalid_uri").await;
    screenshot(&c, "profiles-invalid-uri").await;
    c.close().await.unwrap();
    drop(driver);

    // A locked keychain: the app says so, and saves nothing.
    let locked_home = Home::new();
    let keyrings = tempfile::tempdir().unwrap();
    let driver = Driver::start(&locked_home, Some(keyrings.path()));
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-profiles]").await;
    add_profile(&c, "locked", &pg.url("postgres"), Some("Locked-Window-Secret")).await;
    error_shown(&c, "keychain_locked").await;
    screenshot(&c, "profiles-keychain-locked").await;
    c.close().await.unwrap();
    drop(driver);
    assert!(locked_home.files_containing("Locked-Window-Secret").is_empty());
}

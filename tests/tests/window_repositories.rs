//! Settings → Repositories elsewhere in the real window, against a real Garage cluster: a
//! bucket added from the Garage preset, encrypted with a recovery kit, tested check by check,
//! then this computer's backups copied into it with progress, its key rotated into a new kit,
//! and a profile kept in it; a wrong secret is refused with its code on screen.

use crate::support::garage::Garage;
use crate::support::webdriver::{click, el, error_shown, screenshot, text_when, type_into, Driver};
use crate::support::{load_sample, majors, password, Home, TestCluster};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn a_bucket_is_added_tested_and_filled_from_the_window() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-window");
    let home = Home::new();
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    load_sample(&pg, "shop");
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["backup", "p"], None).ok();
    let kits = tempfile::tempdir().unwrap();
    let kit = kits.path().join("kit.age");

    let driver = Driver::start(&home, None);
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-settings]").await;
    el(&c, "[data-testid=repos-empty]").await;

    let fill = |secret: String| {
        let (c, bucket, garage) = (&c, &bucket, &garage);
        async move {
            click(c, "[data-testid=repo-add]").await;
            el(c, "[data-testid=repo-preset]").await.select_by_value("garage").await.unwrap();
            type_into(c, "[data-testid=repo-url]", &format!("s3://{}/team", bucket.name)).await;
            type_into(c, "[data-testid=repo-endpoint]", &garage.endpoint(0)).await;
            type_into(c, "[data-testid=repo-key-id]", &bucket.key_id).await;
            type_into(c, "[data-testid=repo-secret]", &secret).await;
        }
    };

    // A wrong secret: refused, its code on screen, nothing listed.
    fill("not-the-secret".into()).await;
    click(&c, "[data-testid=repo-encrypt]").await;
    click(&c, "[data-testid=repo-add-save]").await;
    error_shown(&c, "repository_credentials").await;
    click(&c, "[data-testid=repo-form] button:not(.primary)").await;

    // The real secret, encrypted: the kit is written before the repository is listed.
    fill(bucket.secret.clone()).await;
    type_into(&c, "[data-testid=repo-kit]", kit.to_str().unwrap()).await;
    type_into(&c, "[data-testid=repo-passphrase]", "window passphrase").await;
    type_into(&c, "[data-testid=repo-passphrase-again]", "window passphrase").await;
    crate::support::webdriver::doc_screenshot(&c, "repository-add").await;
    click(&c, "[data-testid=repo-add-save]").await;
    el(&c, "[data-testid=repo-item][data-name=offsite]").await;
    assert!(kit.exists(), "the recovery kit was not written");
    text_when(&c, "[data-testid=repo-encrypted]", |t| t == "encrypted").await;

    // Added, it is tested at once: every check listed, Garage's ignored If-None-Match a warning.
    el(&c, "[data-testid=repo-checks][data-usable=true]").await;
    let checks = c.find_all(crate::support::webdriver::css("[data-testid=repo-check]")).await.unwrap();
    assert_eq!(checks.len(), 11);
    let warned = el(&c, "[data-testid=repo-check][data-check=conditional_create]").await;
    assert_eq!(warned.attr("data-state").await.unwrap().as_deref(), Some("warning"));
    screenshot(&c, "repository-tested").await;

    // This computer's backups into the bucket.
    click(&c, "[data-testid=repo-sync-to]").await;
    let done = text_when(&c, "[data-testid=repo-synced]", |t| t.contains("copied")).await;
    assert!(done.starts_with("local → offsite"), "{done}");
    crate::support::webdriver::doc_screenshot(&c, "repository-synced").await;
    let listed = home.cli(&["repo", "sync", "local", "offsite"], None).ok().clone();
    assert_eq!(listed["copied"], 0, "the window's copy left something out: {listed}");

    // A new key into a new kit, from the window.
    let before = home.cli(&["repo", "show", "offsite"], None).ok()["recipient"].clone();
    let kit2 = kits.path().join("kit-2.age");
    click(&c, "[data-testid=repo-key]").await;
    type_into(&c, "[data-testid=repo-key-path]", kit2.to_str().unwrap()).await;
    type_into(&c, "[data-testid=repo-key-passphrase]", "second window passphrase").await;
    click(&c, "[data-testid=repo-key-rotate]").await;
    text_when(&c, "[data-testid=repo-key-done]", |t| t.contains("opens old and new files")).await;
    assert!(kit2.exists(), "the new kit was not written");
    assert_ne!(home.cli(&["repo", "show", "offsite"], None).ok()["recipient"], before);

    // The profile kept in the bucket: its next backup is uploaded there.
    click(&c, "[data-testid=nav-profiles]").await;
    click(&c, "[data-testid=profile-item][data-name=p]").await;
    el(&c, "[data-testid=kept-in-repo]").await.select_by_value("offsite").await.unwrap();
    text_when(&c, "[data-testid=kept-in-note]", |t| t.contains("into offsite")).await;
    screenshot(&c, "profile-kept-in-bucket").await;
    let made = home.cli(&["backup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    let copies = home.cli(&["backups", "show", &made], None).ok()["copies"].clone();
    assert_eq!((&copies[0]["repository"], &copies[0]["complete"]), (&"offsite".into(), &true.into()), "{copies}");

    // The backups list says where each backup is copied.
    click(&c, "[data-testid=nav-backups]").await;
    let row = format!("[data-testid=backup-row][data-id='{made}'] [data-testid=backup-row-copy]");
    let copy = text_when(&c, &row, |t| !t.is_empty()).await;
    assert_eq!(copy, "✓ offsite");
    // The backup the window synced there is listed as copied too.
    let all = c.find_all(crate::support::webdriver::css("[data-testid=backup-row-copy]")).await.unwrap();
    assert_eq!(all.len(), 2, "one copy per backup");
    screenshot(&c, "backups-with-copies").await;
}

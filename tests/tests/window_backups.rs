//! The Backups and Restore screens in the real window, against real servers of every major:
//! back up now (with the command preview), verify with a test restore, and restore one table
//! into a new database through the wizard; a non-empty target is refused on screen.

use crate::support::webdriver::{click, el, error_shown, screenshot, text_when, type_into, Driver};
use crate::support::{load_sample, majors, password, psql, Home, TestCluster};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn back_up_verify_and_restore_from_the_window() {
    let home = Home::new();
    let mut clusters = Vec::new();
    for major in majors() {
        let pw = password();
        let pg = TestCluster::start(major, Some(&pw));
        load_sample(&pg, "shop");
        let name = format!("pg{major}");
        home.cli(&["profile", "add", &name, "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
        clusters.push((major, name, pg));
    }
    let driver = Driver::start(&home, None);
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-backups]").await;

    for (major, name, pg) in &clusters {
        crate::support::webdriver::select_when_listed(&c, "[data-testid=backups-profile]", name).await;
        click(&c, "[data-testid=backup-now]").await;
        el(&c, "[data-testid=bk-format]").await.select_by_value("custom").await.unwrap();
        let command = text_when(&c, "[data-testid=bk-command]", |t| t.contains("pg_dump")).await;
        assert!(command.contains("--format=c") && !command.contains(pg.password.as_deref().unwrap()), "{command}");
        click(&c, "[data-testid=bk-start]").await;
        let result = el(&c, "[data-testid=bk-result]").await;
        let id = result.attr("data-id").await.unwrap().expect("the new backup's id");
        if *major == clusters[0].0 {
            screenshot(&c, "backup-done").await;
        }

        // Details, then verify with a test restore into a throwaway cluster.
        assert!(el(&c, &format!("[data-testid=backup-row][data-id='{id}']")).await.is_displayed().await.unwrap());
        click(&c, "[data-testid=bk-open]").await;
        el(&c, "[data-testid=backup-details]").await;
        click(&c, "[data-testid=backup-verify-restore]").await;
        click(&c, "[data-testid=backup-verify]").await;
        let verified = el(&c, "[data-testid=verify-result]").await;
        assert_eq!(verified.attr("data-status").await.unwrap().as_deref(), Some("passed"));

        // Restore one table into a new database through the wizard.
        click(&c, "[data-testid=backup-restore]").await;
        let target = format!("actor_only_{major}");
        type_into(&c, "[data-testid=rs-to-db]", &target).await;
        click(&c, "[data-testid=rs-table][data-name='public.actor']").await;
        // The picker has asked the engine what the table pulls in before we check.
        text_when(&c, "[data-testid=rs-selection]", |t| t.to_lowercase().contains("table data")).await;
        click(&c, "[data-testid=rs-dry-run]").await;
        // The check in words; pg_restore's own list (folded away) says the same in its terms.
        let said = text_when(&c, "[data-testid=rs-summary]", |t| t.starts_with("Restores")).await;
        assert!(said.contains("1 table with its data") && said.contains("1 sequence"), "{said}");
        let plan = el(&c, "[data-testid=rs-plan]").await.prop("textContent").await.unwrap().unwrap_or_default();
        assert!(plan.contains("TABLE DATA public actor"), "{plan}");
        assert!(plan.contains("SEQUENCE SET public actor_actor_id_seq"), "{plan}");
        click(&c, "[data-testid=rs-start]").await;
        let rows = text_when(&c, "[data-testid=rs-row-count][data-table='public.actor']", |t| !t.is_empty()).await;
        let digits: String = rows.chars().filter(|ch| ch.is_ascii_digit()).collect();
        assert_eq!(digits, "2000", "{rows}");
        assert_eq!(psql(pg, &target, "SELECT count(*) FROM actor"), "2000");
        if *major == clusters[0].0 {
            screenshot(&c, "restore-done").await;
        }

        // Into the live, non-empty database without --clean: refused on screen, nothing changed.
        type_into(&c, "[data-testid=rs-to-db]", "shop").await;
        click(&c, "[data-testid=rs-dry-run]").await;
        error_shown(&c, "target_not_empty").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        click(&c, "[data-testid=rs-close]").await;
    }
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn cancel_in_the_window_stops_the_backup_and_keeps_nothing() {
    let home = Home::new();
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    // Another session holds a lock the backup must wait for: it is caught mid-run.
    let lock = crate::support::TableLock::hold(&pg, &pw);
    let driver = Driver::start(&home, None);
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-backups]").await;
    crate::support::webdriver::select_when_listed(&c, "[data-testid=backups-profile]", "p").await;
    click(&c, "[data-testid=backup-now]").await;
    click(&c, "[data-testid=bk-start]").await;
    text_when(&c, "[data-testid=bk-progress]", |t| t.contains("counting rows") || t.contains("dumping")).await;
    screenshot(&c, "backup-running").await;
    click(&c, "[data-testid=bk-cancel]").await;
    el(&c, "[data-testid=bk-cancelled]").await;
    drop(lock);
    c.close().await.unwrap();
    drop(driver);
    assert_eq!(home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len(), 0);
    let left = crate::support::backup_leftovers(&home, "p", "shop");
    assert!(left.is_empty(), "nothing may remain: {left:?}");
}

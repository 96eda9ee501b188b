//! The WAL screen in the real window, against real servers of every major: the setup
//! assistant checks, applies and tests archiving end to end; a base backup runs with progress;
//! a restore point is marked; status shows archiving to Tideline.

use crate::support::webdriver::{click, el, screenshot, text_when, type_into, wait_for_value, Driver};
use crate::support::{majors, password, Home, TestCluster};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn set_up_archiving_back_up_and_mark_from_the_window() {
    let home = Home::new();
    // The CLI the server runs in archive_command, where its OS user can run it, and a
    // repository it can reach.
    let (work, cli) = crate::support::installed_tideline("tideline-wal-ui-");
    home.cli(&["repo", "path", work.path().join("repo").to_str().unwrap()], None).ok();
    let mut clusters = Vec::new();
    for major in majors() {
        let pw = password();
        // archive_mode is on already, so applying needs no restart.
        let pg = TestCluster::start_with(major, Some(&pw), vec![("archive_mode".into(), "on".into())]);
        let name = format!("pg{major}");
        home.cli(&["profile", "add", &name, "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
        clusters.push((major, name, pg));
    }
    let driver = Driver::start_with_env(&home, None, &[("TIDELINE_CLI", cli.to_str().unwrap())]);
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-wal]").await;

    for (major, name, _pg) in &clusters {
        // Chosen in the sidebar, the profile every screen works on: the WAL screen follows.
        crate::support::webdriver::select_when_listed(&c, "[data-testid=sidebar-profile]", name).await;
        wait_for_value(&c, "[data-testid=wal-profile]", name).await;
        click(&c, "[data-testid=wal-check]").await;
        let method = el(&c, "[data-testid=wal-method]").await;
        assert_eq!(method.attr("data-method").await.unwrap().as_deref(), Some("archive"), "PostgreSQL {major}");
        let row = el(&c, "[data-testid=wal-check-row][data-name=archive_command]").await;
        assert_eq!(row.attr("data-ok").await.unwrap().as_deref(), Some("false"));

        click(&c, "[data-testid=wal-apply]").await;
        let test = el(&c, "[data-testid=wal-test]").await;
        assert_eq!(test.attr("data-arrived").await.unwrap().as_deref(), Some("true"), "PostgreSQL {major}");
        text_when(&c, "[data-testid=wal-archiving]", |t| t.contains("to Tideline")).await;
        if *major == clusters[0].0 {
            screenshot(&c, "wal-setup").await;
        }

        // Streaming while the app is open: the slot turns active, Stop ends it.
        click(&c, "[data-testid=stream-start]").await;
        el(&c, "[data-testid=stream-running]").await;
        let mut active = false;
        for _ in 0..40 {
            click(&c, "[data-testid=wal-status-refresh]").await;
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            let status = el(&c, "[data-testid=wal-status]").await.text().await.unwrap();
            if status.contains(&format!("tideline_{name}")) && status.contains("streaming,") {
                active = true;
                break;
            }
        }
        assert!(active, "PostgreSQL {major}: the slot never showed as streaming");
        click(&c, "[data-testid=stream-stop]").await;
        text_when(&c, "[data-testid=stream-summary]", |t| t.contains("Stopped")).await;

        el(&c, "[data-testid=bb-format]").await.select_by_value("tar").await.unwrap();
        click(&c, "[data-testid=bb-start]").await;
        let done = el(&c, "[data-testid=bb-result]").await;
        let id = done.attr("data-id").await.unwrap().expect("the base backup's id");
        let listed = home.cli(&["backups", "list", name], None).ok().clone();
        assert!(listed["backups"].as_array().unwrap().iter().any(|b| b["id"] == id.as_str() && b["kind"] == "base"));

        type_into(&c, "[data-testid=mark-name]", "before-the-change").await;
        click(&c, "[data-testid=mark-create]").await;
        text_when(&c, "[data-testid=mark-result]", |t| t.contains("before-the-change")).await;
        if *major == clusters[0].0 {
            screenshot(&c, "wal-base-backup").await;
        }
        // The Backups screen lists it beside dumps, with its WAL range and no logical actions.
        click(&c, "[data-testid=nav-backups]").await;
        wait_for_value(&c, "[data-testid=backups-profile]", name).await;
        click(&c, &format!("[data-testid=backup-row][data-id='{id}'] button")).await;
        text_when(&c, "[data-testid=manifest-wal]", |t| t.contains("consistent at")).await;
        assert!(c.find_all(crate::support::webdriver::css("[data-testid=backup-restore]")).await.unwrap().is_empty());
        if *major == clusters[0].0 {
            screenshot(&c, "base-backup-details").await;
        }
        click(&c, "[data-testid=nav-wal]").await;
        let timeline = home.cli(&["timeline", name], None).ok().clone();
        assert_eq!(timeline["restore_points"][0]["name"], "before-the-change");
        assert_eq!(timeline["window"]["base_backups"][0]["id"], id.as_str());
        // `tideline wal verify`'s twin: every archived file read back, none damaged.
        click(&c, "[data-testid=wal-verify]").await;
        let verified = el(&c, "[data-testid=wal-verify-result]").await;
        assert_eq!(verified.attr("data-damaged").await.unwrap().as_deref(), Some("0"), "PostgreSQL {major}");
        text_when(&c, "[data-testid=wal-verify-result]", |t| t.contains("read back whole")).await;
        if *major == clusters[0].0 {
            screenshot(&c, "wal-verify").await;
        }
    }
    c.close().await.unwrap();
}

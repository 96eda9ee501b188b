//! The Timeline and Sandboxes screens in the real window: a new user opens the app, takes the
//! demo offer, runs the scripted accident, restores to the restore point before it from the
//! timeline, and on the Sandboxes screen compares, copies the table back and removes the sandbox;
//! then finds the accident's DELETE among the timeline's events and restores to just before it.

use crate::support::webdriver::{click, css, doc_screenshot, el, screenshot, text_when, wait_selected, Driver};
use crate::support::{set_mode, wait_for, Home};
use tideline_core::pg::lsn::lsn;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn from_the_demo_offer_to_a_table_copied_back() {
    let home = Home::new();
    let work = tempfile::Builder::new().prefix("tideline-timeline-ui-").tempdir().unwrap();
    set_mode(work.path(), 0o755);
    let sandboxes = work.path().join("sandboxes");
    let env = [("TIDELINE_SANDBOX_ROOT", sandboxes.to_str().unwrap())];
    home.cli(&["repo", "path", work.path().join("repo").to_str().unwrap()], None).ok();

    let driver = Driver::start_with_env(&home, None, &env);
    let c = driver.open_app().await;
    // No profiles yet: the Timeline (the first screen) offers the demo.
    click(&c, "[data-testid=demo-open]").await;
    el(&c, "[data-testid=demo-accident]").await;
    // The segment with the demo's first commit after its backup reaches the archive a moment
    // later (the server archives asynchronously): until then no moment is recoverable by time.
    let mut covered = false;
    for _ in 0..60 {
        click(&c, "[data-testid=timeline-reload]").await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if c.find(crate::support::webdriver::css("[data-testid=wal-bar]")).await.is_ok() {
            covered = true;
            break;
        }
    }
    assert!(covered, "the demo's WAL coverage never showed");
    // Commit density from the summaries wal-push wrote as the demo's segments landed.
    el(&c, "[data-testid=density-bar]").await;
    el(&c, "[data-testid=marker-base]").await;
    screenshot(&c, "timeline-demo").await;

    click(&c, "[data-testid=demo-accident]").await;
    text_when(&c, "[data-testid=demo-accident-result]", |t| t.contains("film_actor")).await;
    let timeline = || home.cli(&["timeline", "demo"], None).ok().clone();
    let mark = timeline()["restore_points"][0]["lsn"].as_str().unwrap().to_string();
    wait_for("the accident's WAL to be archived", || {
        timeline()["window"]["timelines"][0]["latest"]["lsn"].as_str().and_then(lsn) > lsn(&mark)
    });
    // No Reload: the screen reloads itself as the segments land in the repository it watches
    // (its timer, 60 s, is longer than `el` waits).
    // The restore point marker is a button: pick it, then restore to it.
    // (an SVG element: WebKitWebDriver will not click it, so by keyboard, as the app allows).
    el(&c, "[data-testid=marker-points]").await.send_keys("\u{E007}").await.unwrap();
    click(&c, "[data-testid=restore-point]").await;
    let result = el(&c, "[data-testid=pitr-result]").await;
    let id = result.attr("data-id").await.unwrap().expect("the sandbox id");
    text_when(&c, "[data-testid=pitr-url]", |t| t.starts_with("postgresql://")).await;
    screenshot(&c, "timeline-pitr").await;

    click(&c, "[data-testid=open-sandboxes]").await;
    el(&c, &format!("[data-testid=sandbox-row-{id}]")).await;
    text_when(&c, &format!("[data-testid=sandbox-status-{id}]"), |t| t.to_lowercase().contains("running")).await;
    click(&c, &format!("[data-testid=sandbox-compare-{id}]")).await;
    el(&c, "[data-testid=comparison-table]").await;
    let row = el(&c, "[data-testid=comparison-row][data-name='public.film_actor']").await;
    assert_eq!(row.attr("data-differs").await.unwrap().as_deref(), Some("true"));
    // The table the accident emptied comes ticked; the unchanged ones are not even listed.
    wait_selected(&c, "[data-testid=comparison-row][data-name='public.film_actor'] [data-testid=comparison-pick]")
        .await;
    assert_eq!(c.find_all(css("[data-testid=comparison-row]")).await.unwrap().len(), 1, "only what differs");
    doc_screenshot(&c, "sandboxes-compare").await;
    click(&c, "[data-testid=copy-back-submit]").await;
    let report = text_when(&c, "[data-testid=copy-back-report]", |t| t.contains("film_actor")).await;
    // Counted again after the copy: the new table is there, the form back to its default.
    text_when(&c, "[data-testid=copy-back-done]", |t| t.contains("counted again")).await;
    wait_selected(&c, "[data-testid=copy-mode-new]").await;
    assert!(report.contains("new_table") || report.contains("new table"), "{report}");
    let suffix = id.trim_start_matches("sb-");
    let cmp = home.cli_env(&["sandbox", "compare", &id], None, &env).ok().clone();
    let copied =
        cmp["tables"].as_array().unwrap().iter().find(|t| t["table"] == format!("film_actor_{suffix}")).cloned();
    assert!(copied.is_some_and(|t| t["live_rows"].as_i64() > Some(1000)), "{cmp}");
    screenshot(&c, "sandboxes-copied").await;

    click(&c, &format!("[data-testid=sandbox-remove-{id}]")).await;
    click(&c, &format!("[data-testid=sandbox-remove-confirm-{id}]")).await;
    crate::support::webdriver::gone(&c, &format!("[data-testid=sandbox-row-{id}]")).await;

    // The bad moment, found in the WAL: the DELETE is the timeline's event, named after its
    // table; picked on its marker, the cursor offers to restore to just before it.
    click(&c, "[data-testid=nav-timeline]").await;
    let row = el(&c, "[data-testid=event-row][data-kind=delete]").await;
    let described = row.text().await.unwrap();
    // Every row of the table: all of what it had just before, not "50 %".
    assert!(described.contains("DELETE of") && described.contains("public.film_actor (100%)"), "{described}");
    let event = row.attr("data-event-id").await.unwrap().expect("an event id");
    el(&c, &format!("[data-testid=marker-events][data-event-id='{event}']")).await.send_keys("\u{E007}").await.unwrap();
    text_when(&c, "[data-testid=cursor-event]", |t| t.contains("public.film_actor")).await;
    doc_screenshot(&c, "timeline-event").await;
    click(&c, "[data-testid=restore-before-event]").await;
    let before = loop {
        let r = el(&c, "[data-testid=pitr-result]").await;
        match r.attr("data-id").await.unwrap() {
            Some(other) if other != id => break other,
            _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    };
    let cmp = home.cli_env(&["sandbox", "compare", &before], None, &env).ok().clone();
    let film_actor = cmp["tables"].as_array().unwrap().iter().find(|t| t["table"] == "film_actor").cloned().unwrap();
    assert!(film_actor["sandbox_rows"].as_i64() > Some(1000), "the rows are back just before the DELETE: {cmp}");
    assert_eq!(film_actor["live_rows"].as_i64(), Some(0), "{cmp}");
    screenshot(&c, "timeline-event-pitr").await;
    home.cli_env(&["sandbox", "remove", &before], None, &env).ok();
    drop(c);
    drop(driver);
    home.cli_env(&["demo", "--remove"], None, &env).ok();
}

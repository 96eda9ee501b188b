//! The Calendar and Dashboard screens in the real window, against a real server: a daily
//! schedule made by clicking today on the calendar, run now, its run on today's cell and its
//! next occurrence on tomorrow's, in the month and the week view, exported as .ics; the app's
//! own runner starting what is due when it opens (on time, or missed with one catch-up); the
//! dashboard green after a backup and red once the app's clock is past the threshold.

use crate::support::webdriver::{click, el, screenshot, text_when, Driver};
use crate::support::{majors, password, Home, TestCluster};
use chrono::{Datelike, Duration, Local};

/// Calendar entries with these attributes (the view's current range only).
async fn entries(c: &fantoccini::Client, date: &str, kind: &str) -> usize {
    let sel = format!("[data-testid=calendar-entry][data-date='{date}'][data-kind='{kind}']");
    c.find_all(crate::support::webdriver::css(&sel)).await.unwrap().len()
}

/// Waits for an entry on `date`: in the view shown, else the one before it, else the one
/// after (a test that runs across midnight, or a Sunday, finds "today" a view away).
async fn find_entry(c: &fantoccini::Client, date: &str, kind: &str) {
    // The view shown, the one before (prev), back and the one after (next, next).
    for step in [None, Some(".ec-prev"), Some(".ec-next"), Some(".ec-next")] {
        if let Some(button) = step {
            click(c, button).await;
        }
        for _ in 0..100 {
            if entries(c, date, kind).await > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let shot = screenshot(c, &format!("failed-no-{kind}-on-{date}")).await;
    panic!("no {kind} entry on {date}; see {}", shot.display());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn schedule_from_the_calendar_and_run_it_now() {
    let home = Home::new();
    let major = *majors().last().unwrap();
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    home.cli(&["profile", "add", "nightly", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    // Where "Export .ics" saves: a Downloads folder of the test's own.
    let config = tempfile::tempdir().unwrap();
    let downloads = config.path().join("downloads");
    std::fs::write(config.path().join("user-dirs.dirs"), format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()))
        .unwrap();
    let driver = Driver::start_with_env(&home, None, &[("XDG_CONFIG_HOME", config.path().to_str().unwrap())]);
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-calendar]").await;
    el(&c, "[data-testid=schedules-empty]").await;

    // Today's cell starts a daily schedule at 02:00; the engine describes it before saving.
    let today = Local::now().date_naive();
    let tomorrow = today + Duration::days(1);
    click(&c, ".ec-day.ec-today").await;
    el(&c, "[data-testid=schedule-form]").await;
    assert_eq!(el(&c, "[data-testid=sf-preset]").await.prop("value").await.unwrap().as_deref(), Some("daily"));
    assert_eq!(el(&c, "[data-testid=sf-profile]").await.prop("value").await.unwrap().as_deref(), Some("nightly"));
    let described = text_when(&c, "[data-testid=sf-description]", |t| !t.is_empty()).await;
    assert!(described.contains("02:00"), "{described}");
    text_when(&c, "[data-testid=sf-preview]", |t| t.contains("Next:")).await;
    screenshot(&c, "schedule-form").await;
    click(&c, "[data-testid=sf-save]").await;
    let row = el(&c, "[data-testid=schedule-row]").await;
    let id = row.attr("data-id").await.unwrap().expect("the schedule's id");
    let listed = home.cli(&["schedule", "show", &id], None).ok().clone();
    assert_eq!(listed["spec"]["when"]["kind"], "daily");
    assert_eq!(listed["spec"]["when"]["at"], "02:00");
    assert_eq!(listed["spec"]["profile"], "nightly");

    // Run it now: a real backup, recorded as a run by hand.
    click(&c, "[data-testid=schedule-run-now]").await;
    let result = el(&c, "[data-testid=schedule-run-result]").await;
    assert_eq!(
        result.attr("data-status").await.unwrap().as_deref(),
        Some("succeeded"),
        "{}",
        result.text().await.unwrap()
    );
    let shown = home.cli(&["schedule", "show", &id], None).ok().clone();
    let run = &shown["runs"][0];
    assert_eq!((run["kind"].as_str(), run["status"].as_str()), (Some("manual"), Some("succeeded")));
    let backup = run["backup_ids"][0].as_str().unwrap().to_string();
    let backups = home.cli(&["backups", "list", "nightly"], None).ok().clone();
    assert!(backups["backups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["id"] == backup.as_str() && b["status"] == "complete"));

    // Today's cell shows the run (done), tomorrow's the next occurrence.
    find_entry(&c, &today.to_string(), "manual").await;
    let done = el(&c, &format!("[data-testid=calendar-entry][data-date='{today}'][data-kind=manual]")).await;
    assert_eq!(done.attr("data-status").await.unwrap().as_deref(), Some("succeeded"));
    crate::support::webdriver::doc_screenshot(&c, "calendar-month").await;
    click(&c, &format!("[data-testid=calendar-entry][data-date='{today}'][data-kind=manual]")).await;
    text_when(&c, "[data-testid=picked-state]", |t| t.contains("done") && t.contains("by hand")).await;
    find_entry(&c, &tomorrow.to_string(), "planned").await;

    // The week view has them too (weeks start on Monday: a Sunday's tomorrow is in the next).
    click(&c, ".ec-today").await;
    click(&c, ".ec-timeGridWeek").await;
    find_entry(&c, &today.to_string(), "manual").await;
    screenshot(&c, "calendar-week").await;
    click(&c, ".ec-next").await;
    if tomorrow.weekday() == chrono::Weekday::Mon {
        find_entry(&c, &tomorrow.to_string(), "planned").await;
    } else {
        click(&c, ".ec-prev").await;
        find_entry(&c, &tomorrow.to_string(), "planned").await;
        click(&c, ".ec-next").await;
    }

    // Exported as .ics: the planned occurrences of the week shown, next week's: one a day at
    // 02:00 (six where a daylight-saving change skips 02:00).
    click(&c, "[data-testid=calendar-ics]").await;
    let path = text_when(&c, "[data-testid=calendar-ics-path]", |t| t.contains(".ics")).await;
    let file = std::fs::read_dir(&downloads).unwrap().next().expect("an .ics file in Downloads").unwrap().path();
    assert!(path.contains(file.file_name().unwrap().to_str().unwrap()), "{path}");
    let ics = std::fs::read_to_string(&file).unwrap();
    assert!(ics.contains("BEGIN:VCALENDAR") && (6..=7).contains(&ics.matches("BEGIN:VEVENT").count()), "{ics}");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn the_dashboard_turns_red_when_the_newest_backup_is_stale() {
    let home = Home::new();
    let major = *majors().first().unwrap();
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    home.cli(&["profile", "add", "app", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["backup", "app"], None).ok();

    let driver = Driver::start(&home, None);
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-dashboard]").await;
    let card = el(&c, "[data-testid=health-card][data-profile=app]").await;
    assert_eq!(card.attr("data-state").await.unwrap().as_deref(), Some("ok"), "{}", card.text().await.unwrap());
    text_when(&c, "[data-testid=health-newest]", |t| t.contains("threshold 25")).await;
    text_when(&c, "[data-testid=health-rpo]", |t| t.contains("newest backup")).await;
    screenshot(&c, "dashboard-ok").await;
    c.close().await.unwrap();
    drop(driver);

    // A day and more later by the app's clock: red, saying why.
    let later = (chrono::Utc::now() + Duration::hours(26)).to_rfc3339();
    let driver = Driver::start_with_env(&home, None, &[("TIDELINE_NOW", &later)]);
    let c = driver.open_app().await;
    click(&c, "[data-testid=nav-dashboard]").await;
    let card = el(&c, "[data-testid=health-card][data-profile=app]").await;
    assert_eq!(card.attr("data-state").await.unwrap().as_deref(), Some("failing"), "{}", card.text().await.unwrap());
    let problems = text_when(&c, "[data-testid=health-problems]", |t| t.contains("hours old")).await;
    assert!(problems.contains("threshold 25"), "{problems}");
    text_when(&c, "[data-testid=health-summary]", |t| t.contains("1 of 1 need attention")).await;
    screenshot(&c, "dashboard-stale").await;
    // A higher threshold on screen makes it healthy again.
    crate::support::webdriver::type_into(&c, "[data-testid=health-threshold]", "48").await;
    click(&c, "[data-testid=health-refresh]").await;
    text_when(&c, "[data-testid=health-newest]", |t| t.contains("threshold 48")).await;
    let card = el(&c, "[data-testid=health-card][data-profile=app]").await;
    assert_eq!(card.attr("data-state").await.unwrap().as_deref(), Some("ok"));
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn the_app_runs_what_is_due_while_it_is_open() {
    let home = Home::new();
    let major = *majors().first().unwrap();
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    // A daily schedule two minutes from now; the app opens (by its clock) a minute after that.
    let now = chrono::Utc::now();
    let due = now + Duration::minutes(2);
    let at = due.format("%H:%M").to_string();
    let s = home
        .cli_env(&["schedule", "add", "p", "--daily", &at, "--tz", "UTC"], None, &[("TIDELINE_NOW", &now.to_rfc3339())])
        .ok()
        .clone();
    let id = s["id"].as_str().unwrap().to_string();
    let opened_at = now + Duration::minutes(3);
    let opened = opened_at.to_rfc3339();
    // And an hourly one made three hours before, whose last time was twenty minutes ago: the
    // app was closed for three of its times, which it records as missed, and makes up for them
    // with one catch-up run.
    let minute = (opened_at - Duration::minutes(20)).format("%M").to_string();
    let made = (opened_at - Duration::hours(3)).to_rfc3339();
    let hourly = home
        .cli_env(&["schedule", "add", "p", "--hourly", &minute, "--tz", "UTC"], None, &[("TIDELINE_NOW", &made)])
        .ok()
        .clone();
    let hourly_id = hourly["id"].as_str().unwrap().to_string();
    let driver = Driver::start_with_env(&home, None, &[("TIDELINE_NOW", &opened)]);
    let c = driver.open_app().await;

    // The in-app runner's first pass starts it, on time, signed by the app.
    let mut run = serde_json::Value::Null;
    for _ in 0..300 {
        let shown = home.cli_env(&["schedule", "show", &id], None, &[("TIDELINE_NOW", &opened)]).ok().clone();
        if shown["runs"][0]["status"] == "succeeded" {
            run = shown["runs"][0].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(run["kind"], "scheduled", "{run}");
    assert!(run["runner"].as_str().unwrap().starts_with("app:"), "{run}");
    assert_eq!(run["backup_ids"].as_array().unwrap().len(), 1);
    let mut runs = Vec::new();
    for _ in 0..300 {
        let shown = home.cli_env(&["schedule", "show", &hourly_id], None, &[("TIDELINE_NOW", &opened)]).ok().clone();
        runs = shown["runs"].as_array().unwrap().clone();
        if runs.iter().any(|r| r["kind"] == "catch_up" && r["status"] == "succeeded") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let kinds: Vec<&str> = runs.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "missed").count(), 3, "{runs:#?}");
    assert_eq!(kinds.iter().filter(|k| **k == "catch_up").count(), 1, "{runs:#?}");
    // Another runner at the same moment finds nothing left to start.
    let again = home.cli_env(&["schedule", "run-due"], None, &[("TIDELINE_NOW", &opened)]).ok().clone();
    assert!(again["ran"].as_array().unwrap().is_empty(), "{again}");

    // The calendar's week shows the run on time, the missed times and the catch-up (a month
    // cell shows what fits of an hourly schedule's day).
    click(&c, "[data-testid=nav-calendar]").await;
    click(&c, ".ec-timeGridWeek").await;
    let day = opened_at.with_timezone(&Local).date_naive().to_string();
    find_entry(&c, &day, "scheduled").await;
    let entry = el(&c, &format!("[data-testid=calendar-entry][data-date='{day}'][data-kind=scheduled]")).await;
    assert_eq!(entry.attr("data-status").await.unwrap().as_deref(), Some("succeeded"));
    find_entry(&c, &day, "catch_up").await;
    let last_missed = (opened_at - Duration::minutes(20)).with_timezone(&Local).date_naive().to_string();
    find_entry(&c, &last_missed, "missed").await;
    screenshot(&c, "calendar-missed").await;
    c.close().await.unwrap();
}

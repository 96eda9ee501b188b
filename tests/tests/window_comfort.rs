//! Every screen at the window's minimum size (820 × 560), in the light theme and in the dark one
//! the system asks for: nothing wider than the window (a clipped calendar was), and the dark
//! theme really dark; the theme chosen in Settings overrides the system's. A screenshot of each screen in each theme, to look at.
//! And the window as users get it, drawn without GL (the other tests keep GL for screenshots).

use crate::support::webdriver::{click, el, screenshot, Driver};
use crate::support::{last_log_line, load_sample, majors, password, Home, TestCluster};
use fantoccini::Client;

const SCREENS: &[&str] =
    &["timeline", "dashboard", "sandboxes", "profiles", "backups", "wal", "calendar", "tools", "settings"];

/// How wide the page and its main column are against what the window shows.
const WIDTHS: &str = "const main = document.querySelector('main');
  return [document.documentElement.scrollWidth, window.innerWidth, main.scrollWidth, main.clientWidth];";

/// The page background's brightness, 0–255 (the mean of its red, green and blue; set on :root).
const BRIGHTNESS: &str =
    "const c = getComputedStyle(document.documentElement).backgroundColor.match(/\\d+/g).map(Number);
  return Math.round((c[0] + c[1] + c[2]) / 3);";

async fn numbers(c: &Client, script: &str) -> Vec<i64> {
    let value = c.execute(script, vec![]).await.unwrap();
    match value {
        serde_json::Value::Array(a) => a.iter().map(|v| v.as_i64().unwrap()).collect(),
        v => vec![v.as_i64().unwrap()],
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn every_screen_fits_the_smallest_window_light_and_dark() {
    let home = Home::new();
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    load_sample(&pg, "shop");
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["backup", "p", "--database", "shop"], None).ok();
    for (theme, env) in [("light", vec![]), ("dark", vec![("GTK_THEME", "Adwaita:dark")])] {
        let driver = Driver::start_with_env(&home, None, &env);
        let c = driver.open_app().await;
        c.set_window_size(820, 560).await.unwrap();
        for screen in SCREENS {
            click(&c, &format!("[data-testid=nav-{screen}]")).await;
            el(&c, "main h1").await;
            // Give lists and charts their data and layout.
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            let w = numbers(&c, WIDTHS).await;
            let shot = screenshot(&c, &format!("small-{theme}-{screen}")).await;
            if theme == "dark" && *screen == "timeline" {
                crate::support::webdriver::doc_screenshot(&c, "timeline-dark-small").await;
            }
            assert!(
                w[0] <= w[1],
                "{theme} {screen}: the page is {} px wide in a {} px window; {}",
                w[0],
                w[1],
                shot.display()
            );
            assert!(w[2] <= w[3] + 1, "{theme} {screen}: main holds {} px in {} px; {}", w[2], w[3], shot.display());
            if *screen == "calendar" {
                // The calendar keeps a width its toolbar and seven days fit in.
                let width =
                    numbers(&c, "return document.querySelector('[data-testid=calendar]').clientWidth;").await[0];
                assert!(width >= 560, "{theme}: the calendar is {width} px wide; {}", shot.display());
            }
            let brightness = numbers(&c, BRIGHTNESS).await[0];
            match theme {
                "light" => assert!(brightness > 200, "{screen}: light background at {brightness}"),
                _ => assert!(brightness < 60, "{screen}: dark background at {brightness}; {}", shot.display()),
            }
        }
        // Settings overrides the system: the other theme, chosen there, applies at once.
        let (other, dark) = if theme == "light" { ("dark", true) } else { ("light", false) };
        click(&c, "[data-testid=nav-settings]").await;
        click(&c, &format!("[data-testid=theme-{other}]")).await;
        click(&c, "[data-testid=nav-timeline]").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let brightness = numbers(&c, BRIGHTNESS).await[0];
        let shot = screenshot(&c, &format!("small-{theme}-chose-{other}")).await;
        assert_eq!(
            brightness < 60,
            dark,
            "{theme} system, {other} chosen: background at {brightness}; {}",
            shot.display()
        );
        // Back to the system's, for the next window (the choice is kept in the webview's storage).
        click(&c, "[data-testid=nav-settings]").await;
        click(&c, "[data-testid=theme-system]").await;
        c.close().await.unwrap();
    }
}

/// Users' windows draw without GL (70 MiB less); WebDriver sessions keep GL because its
/// screenshots stall without it, so this test walks every screen in users' mode, no screenshots.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: `npm test` runs it"]
async fn window_software_drawing_shows_every_screen() {
    let home = Home::new();
    let driver = Driver::start_with_env(&home, None, &[("TIDELINE_SOFTWARE_DRAWING", "1")]);
    let c = driver.open_app().await;
    for screen in SCREENS {
        click(&c, &format!("[data-testid=nav-{screen}]")).await;
        let title = el(&c, "main h1").await.text().await.unwrap();
        assert!(!title.is_empty(), "{screen}: no title");
    }
    // The screens are there; the log says how they were drawn.
    last_log_line(&home, "the page is drawn without GL");
    last_log_line(&home, "first screen drawn");
}

//! Driving the real app window: tauri-driver (which starts WebKitWebDriver and the app) in its
//! own process group, and small waits that screenshot what they saw when they fail.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::Home;

/// tauri-driver in its own process group, so SIGTERM reaches WebKitWebDriver and the app too.
pub struct Driver {
    child: Child,
    port: u16,
    /// tauri-driver's, WebKit's and the app's stderr.
    log: PathBuf,
    /// The app's own log files.
    app_logs: PathBuf,
    /// Released after the app is gone (fields drop after `Drop::drop`).
    _turn: WindowTurn,
}

/// One app window at a time. The end-to-end tests share one process and one session bus: two
/// apps at once would export the same tray item path, and a test reading the tray could talk
/// to the other one (seen: its menu vanished mid-test when that app quit).
struct WindowTurn;

/// The scheduling priority of the window's processes (tauri-driver, WebKit, the app).
const WINDOW_NICENESS: i32 = -10;

static WINDOW_BUSY: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
static WINDOW_FREE: std::sync::Condvar = std::sync::Condvar::new();

impl WindowTurn {
    fn take() -> WindowTurn {
        let mut busy = WINDOW_BUSY.lock().unwrap_or_else(|e| e.into_inner());
        while *busy {
            busy = WINDOW_FREE.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy = true;
        WindowTurn
    }
}

impl Drop for WindowTurn {
    fn drop(&mut self) {
        *WINDOW_BUSY.lock().unwrap_or_else(|e| e.into_inner()) = false;
        WINDOW_FREE.notify_one();
    }
}

impl Driver {
    pub fn start(home: &Home, wrap_locked_keyring: Option<&std::path::Path>) -> Driver {
        Self::start_with_env(home, wrap_locked_keyring, &[])
    }

    /// Like `start`, with extra environment for the app.
    pub fn start_with_env(home: &Home, wrap_locked_keyring: Option<&std::path::Path>, env: &[(&str, &str)]) -> Driver {
        let turn = WindowTurn::take();
        let port = tideline_core::cluster::free_port().unwrap();
        let native = tideline_core::cluster::free_port().unwrap();
        let driver_cmd = format!("exec tauri-driver --port {port} --native-port {native}");
        let mut cmd = match wrap_locked_keyring {
            // A D-Bus session of its own whose keyring daemon runs but was never unlocked.
            // A D-Bus session of its own, without service activation, whose keyring daemon runs
            // but was never unlocked.
            Some(keyrings) => {
                let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/no-activation-bus.conf");
                let mut c = Command::new("dbus-run-session");
                c.arg(format!("--config-file={conf}")).args([
                    "--",
                    "sh",
                    "-c",
                    &format!("gnome-keyring-daemon --daemonize --components=secrets >/dev/null; {driver_cmd}"),
                ]);
                c.env("XDG_DATA_HOME", keyrings);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.args(["-c", &driver_cmd]);
                c
            }
        };
        cmd.envs(env.iter().copied());
        // tauri-driver's, WebKit's and the app's own words, kept past the test: a crashed or
        // hung web page says why only there.
        let logs = std::env::var_os("TIDELINE_WINDOW_LOGS")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("tideline-window-logs"));
        std::fs::create_dir_all(&logs).unwrap();
        let log_path = logs.join(format!("driver-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        cmd.env("TIDELINE_HOME", home.path()).stdout(log.try_clone().unwrap()).stderr(log).process_group(0);
        // WebKit ends a session whose page or network process it finds unresponsive (the
        // network process after 6 s), and the tests beside this one keep both cores busy:
        // the window's processes run ahead of them. Only root may raise a priority; others run
        // at their own.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpriority(libc::PRIO_PROCESS, 0, WINDOW_NICENESS);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("tauri-driver (installed by the bootstrap)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port, log: log_path, app_logs: home.path().join("logs"), _turn: turn }
    }

    pub async fn open_app(&self) -> Client {
        // The WebDriver client speaks plain HTTP here, but its builder wants a rustls provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert("tauri:options".into(), json!({ "application": app_binary() }));
        ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with the app")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_processes();
        }
        // SIGTERM, not SIGKILL: a killed tauri-driver orphans WebKitWebDriver.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGTERM) };
        let _ = self.child.wait();
        if std::thread::panicking() {
            self.print_logs();
        }
    }
}

impl Driver {
    /// Which of tauri-driver's, WebKit's and the app's processes still run: a dead session
    /// with the app alive but a WebKit process gone says which one WebKit lost.
    fn print_processes(&self) {
        let group = self.child.id().to_string();
        let ps = Command::new("ps").args(["-eo", "pgid=,pid=,stat=,etime=,comm="]).output();
        let all = ps.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
        let ours: Vec<&str> = all.lines().filter(|l| l.split_whitespace().next() == Some(group.as_str())).collect();
        eprintln!("--- processes of the window's group {group}:\n{}", ours.join("\n"));
    }

    /// Into the failed test's output: a crashed page or a dead app says why only in these,
    /// and CI keeps nothing else.
    fn print_logs(&self) {
        let mut files = vec![self.log.clone()];
        let app_logs = std::fs::read_dir(&self.app_logs).into_iter().flatten().flatten();
        files.extend(app_logs.map(|e| e.path()));
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!("--- {} (last {} lines)", file.display(), tail.len());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

pub fn app_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let app = exe.parent().unwrap().parent().unwrap().join("tideline-app");
    assert!(app.exists(), "{} is missing: build the workspace first", app.display());
    app
}

pub fn css(id: &str) -> Locator<'_> {
    Locator::Css(id)
}

pub async fn el(c: &Client, selector: &str) -> Element {
    match c.wait().at_most(Duration::from_secs(20)).for_element(css(selector)).await {
        Ok(e) => e,
        Err(e) => {
            let shot = screenshot(c, "failed-waiting-for-element").await;
            let shown = match c.find(css("main")).await {
                Ok(main) => main.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("{selector}: {e}; the screen said: {shown:?}; see {}", shot.display())
        }
    }
}

pub async fn click(c: &Client, selector: &str) {
    el(c, selector).await.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

pub async fn type_into(c: &Client, selector: &str, text: &str) {
    let e = el(c, selector).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Waits until `selector` shows text for which `pred` holds; returns it.
pub async fn text_when(c: &Client, selector: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(e) = c.find(css(selector)).await {
            if let Ok(t) = e.text().await {
                if pred(&t) {
                    return t;
                }
            }
        }
        if Instant::now() > deadline {
            let shot = screenshot(c, "failed-waiting-for-text").await;
            panic!("{selector} never showed the expected text; see {}", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Waits until the form control `selector` holds `value` (a select following a choice made
/// elsewhere).
pub async fn wait_for_value(c: &Client, selector: &str, value: &str) {
    wait_for_property(c, selector, "value", value).await
}

/// Waits until the checkbox or radio `selector` is selected.
pub async fn wait_selected(c: &Client, selector: &str) {
    wait_for_property(c, selector, "checked", "true").await
}

/// Waits until the DOM property `property` of `selector` reads `value`, finding the element
/// afresh each time: a form the page redraws (reset after a run) leaves a found one stale.
async fn wait_for_property(c: &Client, selector: &str, property: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = match c.find(css(selector)).await {
            Ok(e) => e.prop(property).await.ok().flatten(),
            Err(_) => None,
        };
        if now.as_deref() == Some(value) {
            return;
        }
        if Instant::now() > deadline {
            let shot = screenshot(c, &format!("failed-waiting-for-{property}")).await;
            panic!("{selector} has {property} {now:?}, not {value:?}; see {}", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Waits until nothing matches `selector` (e.g. a form closed after its save finished).
pub async fn gone(c: &Client, selector: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.find_all(css(selector)).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "{selector} is still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The error box on screen: its code attribute and its hint.
pub async fn error_shown(c: &Client, code: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut seen = Vec::new();
        for e in c.find_all(css("[data-testid=error]")).await.unwrap() {
            let shown = e.attr("data-code").await.unwrap();
            if shown.as_deref() == Some(code) {
                let hint = e.find(css("[data-testid=error-hint]")).await.unwrap().text().await.unwrap();
                assert!(hint.len() > 10, "{code} shows no hint");
                return hint;
            }
            seen.push(format!("{shown:?}: {}", e.text().await.unwrap_or_default()));
        }
        if Instant::now() > deadline {
            let shot = screenshot(c, &format!("failed-waiting-for-{code}")).await;
            panic!("no error with code {code} appeared; on screen: {seen:?}; see {}", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

pub async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let dir = std::env::var_os("TIDELINE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tideline-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    let png = match c.screenshot().await {
        Ok(png) => png,
        // Said, not panicked: a failing wait's own message matters more.
        Err(e) => return PathBuf::from(format!("(no screenshot: {e})")),
    };
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    std::fs::write(&path, png).unwrap();
    path
}

/// A screenshot README or the user guide shows: also written to `$TIDELINE_DOC_SCREENSHOTS`
/// (docs/screenshots, by `scripts/doc-screenshots.sh`) when that is set, so the committed
/// pictures are what the window tests saw.
pub async fn doc_screenshot(c: &Client, name: &str) -> PathBuf {
    let shot = screenshot(c, name).await;
    if let Some(dir) = std::env::var_os("TIDELINE_DOC_SCREENSHOTS").map(PathBuf::from) {
        if shot.is_file() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(&shot, dir.join(format!("{name}.png"))).unwrap();
        }
    }
    shot
}

/// Selects `value` in the `<select>` at `selector` once the list has it: options arrive from
/// IPC a moment after the element itself.
pub async fn select_when_listed(c: &Client, selector: &str, value: &str) {
    el(c, &format!("{selector} option[value='{value}']")).await;
    el(c, selector).await.select_by_value(value).await.unwrap();
}

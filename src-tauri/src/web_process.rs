//! The web page's process, tuned (`tune`) and watched: when WebKit's web process dies (a
//! crash, its memory limit) the window would stay blank, so it is logged with its reason and
//! the page reloaded; a page that stops answering is logged too. Both go to stderr and the app
//! log, where a failed window test and a user's bug report find them.

use tauri::{Manager, Runtime};

pub fn watch<R: Runtime>(app: &tauri::AppHandle<R>) {
    let Some(window) = app.get_webview_window("main") else { return };
    let watched = window.with_webview(|webview| {
        #[cfg(target_os = "linux")]
        {
            linux::tune(&webview.inner());
            linux::watch(&webview.inner());
        }
        #[cfg(not(target_os = "linux"))]
        let _ = webview;
    });
    if let Err(e) = watched {
        tracing::warn!(error = %e, "the web page's process is not watched");
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::{
        CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebProcessTerminationReason, WebView,
        WebViewExt,
    };

    /// One page, never navigated away from: no cache of other documents to keep. The page is
    /// drawn without GL: forms and one SVG need no GPU, GL costs 70 MiB where Mesa draws in
    /// software, and WebKit's GL paths are where Linux webviews go blank on some drivers. Under
    /// WebDriver (the window tests) GL stays on, because WebKitWebDriver's screenshots stall
    /// without it; `window_software_drawing` drives the window as users get it.
    pub fn tune(view: &WebView) {
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        let software = draws_without_gl(|name| std::env::var_os(name));
        if software {
            if let Some(settings) = WebViewExt::settings(view) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        }
        tracing::info!(gl = !software, "the page is drawn {}", if software { "without GL" } else { "with GL" });
    }

    /// Users get software drawing; a WebDriver session gets GL unless a test asks otherwise.
    pub fn draws_without_gl(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
        let driven = env("TAURI_WEBVIEW_AUTOMATION").is_some_and(|v| v == "true");
        let asked = env("TIDELINE_SOFTWARE_DRAWING").is_some_and(|v| v == "1");
        !driven || asked
    }

    pub fn watch(view: &WebView) {
        view.connect_web_process_terminated(|view, reason| {
            let why = match reason {
                WebProcessTerminationReason::Crashed => "crashed",
                WebProcessTerminationReason::ExceededMemoryLimit => "exceeded its memory limit",
                WebProcessTerminationReason::TerminatedByApi => "was terminated by the app",
                _ => "ended for an unknown reason",
            };
            eprintln!("tideline-app: the web page's process {why}; reloading the page");
            tracing::error!(reason = why, "the web page's process ended; reloading the page");
            if reason != WebProcessTerminationReason::TerminatedByApi {
                view.reload();
            }
        });
        view.connect_is_web_process_responsive_notify(|view| {
            let answering = view.is_web_process_responsive();
            eprintln!(
                "tideline-app: the web page's process {}",
                if answering { "answers again" } else { "stopped answering" }
            );
            tracing::warn!(answering, "the web page's process responsiveness changed");
        });
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::linux::draws_without_gl;
    use std::ffi::OsString;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn users_get_software_drawing_and_webdriver_gl_unless_asked() {
        assert!(draws_without_gl(env(&[])));
        assert!(!draws_without_gl(env(&[("TAURI_WEBVIEW_AUTOMATION", "true")])));
        assert!(draws_without_gl(env(&[("TAURI_WEBVIEW_AUTOMATION", "true"), ("TIDELINE_SOFTWARE_DRAWING", "1")])));
    }
}

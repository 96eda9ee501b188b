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
    use webkit2gtk::{CacheModel, WebContextExt, WebProcessTerminationReason, WebView, WebViewExt};

    /// One page, never navigated away from: no cache of other documents to keep. (Drawing
    /// without GL would save 70 MiB under Xvfb, where Mesa draws in software — but in that mode
    /// WebKitWebDriver's screenshots stall, so the window tests could not see the real window;
    /// docs/benchmarks.md has the figures.)
    pub fn tune(view: &WebView) {
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
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

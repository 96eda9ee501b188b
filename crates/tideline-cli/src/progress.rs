//! A job's progress as an indicatif bar on stderr (hidden when stderr is not a terminal), and
//! Ctrl-C, SIGTERM and SIGHUP as the job's cancel.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;
use tideline_core::job::{Job, JobProgress, ProgressSink};

struct Bar(ProgressBar);

impl ProgressSink for Bar {
    fn send(&self, p: &JobProgress) {
        if let Some(total) = p.bytes_total {
            self.0.set_length(total);
        }
        self.0.set_position(p.bytes_done);
        let current = p.current_object.as_deref().map(|c| format!(" {c}")).unwrap_or_default();
        self.0.set_message(format!("{}{current}", p.phase));
    }
}

/// A job with a progress bar (unless `json`, where stderr stays quiet) that Ctrl-C cancels.
pub fn job(json: bool) -> (Job, ProgressBar) {
    let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:40!} {bar:30} {bytes}/{total_bytes} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let job = Job::new(uuid_like(), Arc::new(Bar(bar.clone())));
    let token = job.cancel_token();
    tokio::spawn(async move {
        // SIGTERM (a service stop, `kill`) and SIGHUP (a closed terminal) cancel like Ctrl-C:
        // the children are stopped and nothing half-written stays.
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            let _ = tokio::signal::ctrl_c().await;
            token.cancel();
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        token.cancel();
    });
    (job, bar)
}

fn uuid_like() -> String {
    format!("cli-{}", std::process::id())
}

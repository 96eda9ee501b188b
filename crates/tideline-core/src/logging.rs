//! tracing to a daily-rotated file in `<home>/logs` (kept 14 days) and to stderr at a chosen
//! level. Secrets cannot reach it: they are `Secret`s, which print `<redacted>`.

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Keep the guard alive for the life of the process; dropping it flushes the file.
pub fn init(home: &Path, stderr_level: &str, app: &str) -> Option<WorkerGuard> {
    let logs = home.join("logs");
    let file = crate::home::ensure_private_dir(&logs).ok().and_then(|_| {
        Builder::new()
            .rotation(Rotation::DAILY)
            .filename_prefix(app)
            .filename_suffix("log")
            .max_log_files(14)
            .build(&logs)
            .ok()
    });
    let stderr_filter = EnvFilter::try_from_env("TIDELINE_LOG").unwrap_or_else(|_| EnvFilter::new(stderr_level));
    let stderr_layer = fmt::layer().with_writer(std::io::stderr).with_target(false).with_filter(stderr_filter);
    match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file_layer = fmt::layer().with_writer(writer).with_ansi(false).with_filter(EnvFilter::new("info"));
            let _ = tracing_subscriber::registry().with(stderr_layer).with(file_layer).try_init();
            Some(guard)
        }
        None => {
            let _ = tracing_subscriber::registry().with(stderr_layer).try_init();
            None
        }
    }
}

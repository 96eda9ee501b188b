//! The engine handle that the CLI, the app and the tests share. Each concept adds its
//! operations in its own module (`impl Engine` in `profile/ops.rs`, `tools/…`).

use crate::catalog::Catalog;
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::keychain::{OsKeychain, SecretStore};
use crate::process::{Runner, SystemRunner};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub struct Engine {
    home: PathBuf,
    catalog: Mutex<Catalog>,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Runs the short client-tool commands whose output the engine reads (process.rs).
    runner: Arc<dyn Runner>,
    /// Shows desktop notifications: the CLI's or the app's (notify/desktop.rs).
    desktop: Option<Arc<dyn crate::notify::desktop::DesktopNotifier>>,
    /// Running jobs, so that a cancel from another command reaches them.
    pub jobs: crate::job::JobRegistry,
    pub(crate) tools_cache: Mutex<Option<crate::tools::ToolInventory>>,
}

impl Engine {
    /// The engine on the one data directory, with the OS keychain and the system clock.
    pub fn open_default() -> Result<Self> {
        Self::open(&crate::home::data_dir()?, Arc::new(OsKeychain), clock_from_env()?)
    }
}

/// The system clock. In builds for the test suite (feature `frozen-clock`), `TIDELINE_NOW`
/// (RFC 3339) stops it there, so schedule runners can be tested at any hour; a shipped build
/// ignores it — whoever sets a variable must not make retention think backups are old.
#[cfg(not(feature = "frozen-clock"))]
fn clock_from_env() -> Result<Arc<dyn Clock>> {
    Ok(Arc::new(SystemClock))
}

#[cfg(feature = "frozen-clock")]
fn clock_from_env() -> Result<Arc<dyn Clock>> {
    let clock: Arc<dyn Clock> = match std::env::var("TIDELINE_NOW") {
        Ok(t) if !t.is_empty() => {
            let at = chrono::DateTime::parse_from_rfc3339(&t).map_err(|e| {
                crate::error::Error::invalid_input(
                    format!("TIDELINE_NOW '{t}' is not an RFC 3339 time: {e}"),
                    "Unset it, or write e.g. 2026-03-01T01:02:00Z.",
                )
            })?;
            Arc::new(crate::clock::ManualClock::at(at))
        }
        _ => Arc::new(SystemClock),
    };
    Ok(clock)
}

impl Engine {
    pub fn open(home: &Path, secrets: Arc<dyn SecretStore>, clock: Arc<dyn Clock>) -> Result<Self> {
        let catalog = Catalog::open(home)?;
        crate::process::adopt_groups_in(home);
        let engine = Engine {
            home: home.to_path_buf(),
            catalog: Mutex::new(catalog),
            secrets,
            clock,
            runner: Arc::new(SystemRunner),
            desktop: None,
            jobs: Default::default(),
            tools_cache: Mutex::new(None),
        };
        // What a killed run began is settled before anything lists backups: a deletion is
        // finished, a commit completed or forgotten.
        if let Err(e) = engine.finish_marked_deletions() {
            tracing::warn!(error = %e.message, "finishing an interrupted deletion");
        }
        if let Err(e) = engine.settle_commits() {
            tracing::warn!(error = %e.message, "settling an interrupted commit");
        }
        Ok(engine)
    }

    /// The same engine, running its tools' commands through `runner`.
    pub fn with_runner(mut self, runner: Arc<dyn Runner>) -> Self {
        self.runner = runner;
        self
    }

    /// The same engine, showing desktop notifications through `desktop`.
    pub fn with_desktop_notifier(mut self, desktop: Arc<dyn crate::notify::desktop::DesktopNotifier>) -> Self {
        self.desktop = Some(desktop);
        self
    }

    pub(crate) fn desktop_notifier(&self) -> Option<&dyn crate::notify::desktop::DesktopNotifier> {
        self.desktop.as_deref()
    }

    pub(crate) fn runner(&self) -> &dyn Runner {
        self.runner.as_ref()
    }

    /// The runner, for what outlives a borrow of the engine (an opened archive, a cluster).
    pub(crate) fn shared_runner(&self) -> Arc<dyn Runner> {
        self.runner.clone()
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub(crate) fn catalog(&self) -> MutexGuard<'_, Catalog> {
        // A panic while holding the lock leaves SQLite consistent (statements are atomic).
        self.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }
}

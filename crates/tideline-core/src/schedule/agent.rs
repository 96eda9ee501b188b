//! `tideline schedule agent`: the long-running runner — run-due, then wait for the next tick,
//! until told to stop. The ticks are passed in: the real ones are each minute (until Ctrl-C),
//! the tests' move a manual clock, so the loop is tested without sleeping.

use super::run::{RunDueReport, ScheduledWork};
use crate::engine::Engine;
use crate::error::Result;
use std::future::Future;
use std::pin::Pin;

pub trait Ticker: Send {
    /// Waits for the next tick; false to stop.
    fn tick(&mut self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
}

/// Every minute on the wall clock, until Ctrl-C (or SIGTERM from a service manager) for the
/// CLI's agent; for as long as it lives in the app, which ends with its window.
pub struct Minutes {
    interval: tokio::time::Interval,
    until_signal: bool,
}

impl Minutes {
    pub fn new() -> Minutes {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(60));
        // After a sleep, one tick, not a burst of them.
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Minutes { interval, until_signal: true }
    }

    pub fn in_app() -> Minutes {
        Minutes { until_signal: false, ..Minutes::new() }
    }
}

impl Default for Minutes {
    fn default() -> Self {
        Minutes::new()
    }
}

impl Ticker for Minutes {
    fn tick(&mut self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            if !self.until_signal {
                self.interval.tick().await;
                return true;
            }
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let terminated = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = self.interval.tick() => true,
                _ = tokio::signal::ctrl_c() => false,
                _ = terminated => false,
            }
        })
    }
}

impl Engine {
    /// Runs what is due at every tick; returns each pass's report (the last ones, bounded).
    pub async fn schedule_agent(
        &self,
        runner: &str,
        work: &dyn ScheduledWork,
        limit: u32,
        ticker: &mut dyn Ticker,
    ) -> Result<Vec<RunDueReport>> {
        let mut passes = Vec::new();
        loop {
            match self.schedule_run_due(runner, work, limit).await {
                Ok(r) => {
                    for run in &r.ran {
                        tracing::info!(schedule = %run.schedule_id, occurrence = %run.occurrence, status = %run.status, "agent ran");
                    }
                    if !r.ran.is_empty() || !r.missed.is_empty() {
                        passes.push(r);
                        if passes.len() > 100 {
                            passes.remove(0);
                        }
                    }
                }
                // A bad pass (the catalog busy, a schedule damaged) is logged; the agent lives on.
                Err(e) => tracing::warn!(code = ?e.code, error = %e.message, "agent pass failed"),
            }
            if !ticker.tick().await {
                return Ok(passes);
            }
        }
    }
}

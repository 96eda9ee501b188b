//! Time is passed in so that what depends on it tests without sleeping.

use chrono::{DateTime, Local, SecondsFormat};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Local>;

    /// RFC 3339 with the local offset, as the CLI contract writes times.
    fn now_rfc3339(&self) -> String {
        self.now().to_rfc3339_opts(SecondsFormat::Millis, false)
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Local> {
        Local::now()
    }
}

/// A clock that says what it is told: tests move it instead of sleeping, and the CLI honours
/// `TIDELINE_NOW` (RFC 3339) with it, so runners can be tested end to end at any hour.
pub struct ManualClock(std::sync::Mutex<DateTime<Local>>);

impl ManualClock {
    pub fn at(t: DateTime<chrono::FixedOffset>) -> ManualClock {
        ManualClock(std::sync::Mutex::new(t.with_timezone(&Local)))
    }

    pub fn set(&self, t: DateTime<chrono::FixedOffset>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t.with_timezone(&Local);
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Local> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

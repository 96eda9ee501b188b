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

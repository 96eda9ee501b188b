//! What is due, from the occurrences since a schedule was last considered: the newest one runs
//! when it is recent (within the grace period a polling runner needs); anything older was
//! missed — the machine slept, or no runner was up — and is recorded so, with one catch-up
//! run instead of one per missed occurrence.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The occurrence to run now, and whether it is a catch-up for missed ones.
    pub run: Option<(DateTime<Utc>, bool)>,
    pub missed: Vec<DateTime<Utc>>,
}

/// `occurrences`: every occurrence since the schedule was last considered, up to `now`,
/// oldest first.
pub fn plan(occurrences: &[DateTime<Utc>], now: DateTime<Utc>, grace: Duration, catch_up: bool) -> Due {
    let Some((&newest, older)) = occurrences.split_last() else {
        return Due { run: None, missed: Vec::new() };
    };
    if now - newest <= grace {
        return Due { run: Some((newest, false)), missed: older.to_vec() };
    }
    Due { run: catch_up.then_some((newest, true)), missed: occurrences.to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 1, h, m, 0).unwrap()
    }

    #[test]
    fn the_newest_runs_on_time_and_older_ones_were_missed() {
        let grace = Duration::minutes(10);
        assert_eq!(plan(&[], at(3, 0), grace, true), Due { run: None, missed: vec![] });
        assert_eq!(plan(&[at(2, 0)], at(2, 3), grace, true), Due { run: Some((at(2, 0), false)), missed: vec![] });
        // Asleep from 00:30 to 02:03: 01:00 was missed, 02:00 still runs on time.
        assert_eq!(
            plan(&[at(1, 0), at(2, 0)], at(2, 3), grace, true),
            Due { run: Some((at(2, 0), false)), missed: vec![at(1, 0)] }
        );
    }

    #[test]
    fn after_a_long_sleep_every_occurrence_was_missed_and_one_catch_up_runs() {
        let grace = Duration::minutes(10);
        let slept = [at(1, 0), at(2, 0), at(3, 0)];
        assert_eq!(plan(&slept, at(3, 30), grace, true), Due { run: Some((at(3, 0), true)), missed: slept.to_vec() });
        assert_eq!(plan(&slept, at(3, 30), grace, false), Due { run: None, missed: slept.to_vec() });
    }
}

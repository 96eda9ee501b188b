//! When a schedule runs: a cron expression (parsed by croner) or a preset that stands for one,
//! in an IANA time zone. Occurrences are computed in that zone, so "daily at 02:30" stays at
//! 02:30 local time across DST changes: on the spring-forward day, when 02:30 does not exist,
//! it runs at the first instant after the gap; on the fall-back day it runs once.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum When {
    /// Five fields: minute hour day-of-month month day-of-week.
    Cron {
        expression: String,
    },
    Hourly {
        minute: u32,
    },
    /// `HH:MM`.
    Daily {
        at: String,
    },
    /// Monday to Friday.
    Weekdays {
        at: String,
    },
    /// `weekday`: mon … sun.
    Weekly {
        weekday: String,
        at: String,
    },
    /// Day 1–28 of each month (every month has them).
    Monthly {
        day: u32,
        at: String,
    },
}

fn invalid(message: String, hint: &str) -> Error {
    Error::invalid_input(message, hint)
}

/// `HH:MM` → (hour, minute).
fn clock_time(at: &str) -> Result<(u32, u32)> {
    let parsed = chrono::NaiveTime::parse_from_str(at.trim(), "%H:%M")
        .map_err(|_| invalid(format!("'{at}' is not a time of day"), "Write it as HH:MM, e.g. 02:30."))?;
    Ok((chrono::Timelike::hour(&parsed), chrono::Timelike::minute(&parsed)))
}

impl When {
    /// The cron expression this stands for (checked).
    pub fn expression(&self) -> Result<String> {
        let expr = match self {
            When::Cron { expression } => expression.trim().to_string(),
            When::Hourly { minute } if *minute < 60 => format!("{minute} * * * *"),
            When::Hourly { minute } => {
                return Err(invalid(format!("minute {minute} is past the hour"), "Give a minute from 0 to 59."))
            }
            When::Daily { at } => {
                let (h, m) = clock_time(at)?;
                format!("{m} {h} * * *")
            }
            When::Weekdays { at } => {
                let (h, m) = clock_time(at)?;
                format!("{m} {h} * * MON-FRI")
            }
            When::Weekly { weekday, at } => {
                let (h, m) = clock_time(at)?;
                let day = weekday.trim().to_ascii_lowercase();
                let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
                let Some(d) = days.iter().find(|d| day.starts_with(*d)) else {
                    return Err(invalid(
                        format!("'{weekday}' is not a weekday"),
                        "Give mon, tue, wed, thu, fri, sat or sun.",
                    ));
                };
                format!("{m} {h} * * {}", d.to_ascii_uppercase())
            }
            When::Monthly { day, at } => {
                if !(1..=28).contains(day) {
                    return Err(invalid(
                        format!("day {day} is not in every month"),
                        "Give a day from 1 to 28, or a cron expression for month ends.",
                    ));
                }
                let (h, m) = clock_time(at)?;
                format!("{m} {h} {day} * *")
            }
        };
        parse(&expr)?;
        Ok(expr)
    }
}

fn parse(expr: &str) -> Result<Cron> {
    if expr.split_whitespace().count() != 5 {
        return Err(invalid(
            format!("'{expr}' is not a five-field cron expression"),
            "Write minute hour day-of-month month day-of-week, e.g. '30 2 * * *' for 02:30 daily.",
        ));
    }
    Cron::from_str(expr).map_err(|e| {
        invalid(
            format!("'{expr}' is not a cron expression: {e}"),
            "Write minute hour day-of-month month day-of-week, e.g. '30 2 * * *'.",
        )
    })
}

pub fn time_zone(name: &str) -> Result<Tz> {
    Tz::from_str(name.trim()).map_err(|_| {
        invalid(
            format!("'{name}' is not a time zone"),
            "Give an IANA name such as Europe/Berlin, America/New_York or UTC.",
        )
    })
}

/// A parsed schedule time: expression and zone.
pub struct Timing {
    cron: Cron,
    zone: Tz,
}

impl Timing {
    pub fn new(when: &When, zone: &str) -> Result<Timing> {
        Ok(Timing { cron: parse(&when.expression()?)?, zone: time_zone(zone)? })
    }

    /// In words, as croner describes the expression, with the zone.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.cron.describe(), self.zone.name())
    }

    /// The next `n` occurrences strictly after `after`.
    pub fn next(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = after.with_timezone(&self.zone);
        while out.len() < n {
            match self.cron.find_next_occurrence(&cursor, false) {
                Ok(t) => {
                    cursor = t;
                    out.push(t);
                }
                Err(_) => break,
            }
        }
        out
    }

    /// Every occurrence in (`from`, `to`], oldest first, at most `limit`.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>, limit: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::new();
        let mut cursor = from.with_timezone(&self.zone);
        while out.len() < limit {
            match self.cron.find_next_occurrence(&cursor, false) {
                Ok(t) if t.with_timezone(&Utc) <= to => {
                    cursor = t;
                    out.push(t);
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn local(times: &[DateTime<Tz>]) -> Vec<String> {
        times.iter().map(|t| t.to_rfc3339()).collect()
    }

    #[test]
    fn presets_stand_for_cron_expressions() {
        assert_eq!(When::Hourly { minute: 15 }.expression().unwrap(), "15 * * * *");
        assert_eq!(When::Daily { at: "02:30".into() }.expression().unwrap(), "30 2 * * *");
        assert_eq!(When::Weekdays { at: "18:05".into() }.expression().unwrap(), "5 18 * * MON-FRI");
        assert_eq!(When::Weekly { weekday: "Sunday".into(), at: "03:00".into() }.expression().unwrap(), "0 3 * * SUN");
        assert_eq!(When::Monthly { day: 1, at: "04:00".into() }.expression().unwrap(), "0 4 1 * *");
        for bad in [
            When::Daily { at: "25:00".into() },
            When::Monthly { day: 31, at: "04:00".into() },
            When::Weekly { weekday: "someday".into(), at: "03:00".into() },
            When::Cron { expression: "* * *".into() },
            When::Cron { expression: "61 * * * *".into() },
        ] {
            assert_eq!(bad.expression().unwrap_err().code, crate::error::ErrorCode::InvalidInput, "{bad:?}");
        }
        assert!(Timing::new(&When::Daily { at: "02:30".into() }, "Mars/Olympus").is_err());
    }

    #[test]
    fn daily_runs_keep_local_time_across_dst_changes() {
        let daily = Timing::new(&When::Daily { at: "02:30".into() }, "Europe/Berlin").unwrap();
        // Spring forward (2026-03-29: 02:00 → 03:00): 02:30 does not exist; it runs right
        // after the gap, once.
        let spring = daily.next(utc("2026-03-27T12:00:00Z"), 4);
        assert_eq!(
            local(&spring),
            [
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:30:00+02:00",
                "2026-03-31T02:30:00+02:00"
            ]
        );
        // Fall back (2026-10-25: 03:00 → 02:00): 02:30 happens twice; it runs once.
        let autumn = daily.next(utc("2026-10-23T12:00:00Z"), 3);
        assert_eq!(
            local(&autumn),
            ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        assert!(daily.describe().contains("Europe/Berlin"), "{}", daily.describe());
    }

    #[test]
    fn occurrences_between_two_moments() {
        let hourly = Timing::new(&When::Hourly { minute: 0 }, "UTC").unwrap();
        let got = hourly.between(utc("2026-01-01T00:00:00Z"), utc("2026-01-01T03:00:00Z"), 100);
        assert_eq!(
            local(&got),
            ["2026-01-01T01:00:00+00:00", "2026-01-01T02:00:00+00:00", "2026-01-01T03:00:00+00:00"]
        );
        assert_eq!(hourly.between(utc("2026-01-01T00:00:00Z"), utc("2026-01-02T00:00:00Z"), 5).len(), 5);
    }
}

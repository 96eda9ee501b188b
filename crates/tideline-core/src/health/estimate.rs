//! RPO and RTO estimates, each with its formula and the numbers in it, so a user can check it.
//! RPO: what a disaster now would lose — the time since the newest WAL safely in the
//! repository, or since the newest backup where there is no WAL. RTO: how long getting it back
//! would take — laying the newest usable backup down at the measured restore throughput, plus
//! replaying the WAL after it at the measured replay rate (stated defaults until a recovery has
//! been measured).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Until a recovery is measured: lay-down and replay rates, bytes per second.
pub const DEFAULT_LAYDOWN_BPS: f64 = 200.0 * 1024.0 * 1024.0;
pub const DEFAULT_REPLAY_BPS: f64 = 50.0 * 1024.0 * 1024.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Estimate {
    pub seconds: Option<f64>,
    /// The formula with its numbers.
    pub formula: String,
    /// Rates measured on this profile's recoveries (else the stated defaults).
    pub measured: bool,
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1024.0 / 1024.0)
}

pub fn rpo(now: DateTime<Utc>, newest_wal: Option<DateTime<Utc>>, newest_backup: Option<DateTime<Utc>>) -> Estimate {
    match (newest_wal, newest_backup) {
        (Some(w), _) => Estimate {
            seconds: Some((now - w).num_milliseconds().max(0) as f64 / 1000.0),
            formula: format!("now − newest WAL in the repository ({})", w.to_rfc3339()),
            measured: true,
        },
        (None, Some(b)) => Estimate {
            seconds: Some((now - b).num_milliseconds().max(0) as f64 / 1000.0),
            formula: format!("now − newest backup ({}); no WAL is archived", b.to_rfc3339()),
            measured: true,
        },
        (None, None) => Estimate { seconds: None, formula: "no backup and no WAL: everything".into(), measured: false },
    }
}

/// `rates`: measured (lay-down, replay) bytes per second, when a recovery was measured.
pub fn rto(backup_bytes: Option<u64>, wal_bytes: u64, rates: Option<(f64, f64)>) -> Estimate {
    let Some(backup) = backup_bytes else {
        return Estimate { seconds: None, formula: "no usable backup".into(), measured: false };
    };
    let (laydown, replay) = rates.unwrap_or((DEFAULT_LAYDOWN_BPS, DEFAULT_REPLAY_BPS));
    let seconds = backup as f64 / laydown + wal_bytes as f64 / replay;
    Estimate {
        seconds: Some(seconds),
        formula: format!(
            "{} backup ÷ {}/s lay-down + {} WAL after it ÷ {}/s replay{}",
            mb(backup as f64),
            mb(laydown),
            mb(wal_bytes as f64),
            mb(replay),
            if rates.is_some() {
                " (rates measured on this profile's last recovery)"
            } else {
                " (default rates: no recovery measured yet)"
            }
        ),
        measured: rates.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpo_counts_from_the_newest_wal_else_the_newest_backup() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let wal = now - chrono::Duration::seconds(90);
        let backup = now - chrono::Duration::hours(3);
        assert_eq!(rpo(now, Some(wal), Some(backup)).seconds, Some(90.0));
        assert_eq!(rpo(now, None, Some(backup)).seconds, Some(10800.0));
        assert!(rpo(now, None, Some(backup)).formula.contains("no WAL"));
        assert_eq!(rpo(now, None, None).seconds, None);
    }

    #[test]
    fn rto_is_lay_down_plus_replay_at_measured_or_default_rates() {
        let mb = 1024 * 1024;
        let d = rto(Some(400 * mb), 100 * mb, None);
        assert_eq!(d.seconds, Some(2.0 + 2.0));
        assert!(!d.measured && d.formula.contains("400.0 MB backup ÷ 200.0 MB/s"), "{}", d.formula);
        let m = rto(Some(400 * mb), 100 * mb, Some((100.0 * mb as f64, 10.0 * mb as f64)));
        assert_eq!(m.seconds, Some(4.0 + 10.0));
        assert!(m.measured);
        assert_eq!(rto(None, 0, None).seconds, None);
    }
}

//! What a point-in-time recovery aims at, and how it is written for PostgreSQL: a time (always
//! with an explicit offset), a transaction id, an LSN, a named restore point, or "as soon as
//! consistent"; inclusive or not; on which timeline.

use crate::error::{Error, ErrorCode, Result};
use crate::pg::lsn::lsn;
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[ts(export)]
pub enum TargetPoint {
    /// RFC 3339 with its offset.
    Time(String),
    Xid(String),
    Lsn(String),
    Name(String),
    Immediate,
    /// Just before a WAL event's commit (`timeline:xid` from `tideline events`); planning
    /// turns it into that commit's LSN, exclusive, on the event's timeline.
    BeforeEvent(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RecoveryTarget {
    pub point: TargetPoint,
    /// Stop just before the target instead of just after it (`recovery_target_inclusive = off`).
    pub exclusive: bool,
    /// A timeline number; None for the newest timeline the repository can reach.
    pub timeline: Option<u32>,
}

fn invalid(message: String, hint: &str) -> Error {
    Error::new(ErrorCode::TargetInvalid, message, hint)
}

/// A moment as the user wrote it: RFC 3339, or `YYYY-MM-DD HH:MM:SS[.ffffff]` in the local
/// time zone. Returned with an explicit offset, which is how PostgreSQL will be told it.
pub fn parse_user_time(text: &str) -> Result<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    // As psql prints a timestamptz: `2026-11-24 14:29:03.512345+00`.
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Ok(t);
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            // A local time inside a DST gap does not exist; in the repeated hour, the earlier.
            return Local.from_local_datetime(&naive).earliest().map(|t| t.fixed_offset()).ok_or_else(|| {
                invalid(
                    format!("{text} does not exist in the local time zone (a daylight-saving gap)"),
                    "Give the time with an explicit offset, e.g. 2026-03-29T02:30:00+01:00.",
                )
            });
        }
    }
    Err(invalid(
        format!("'{text}' is not a time"),
        "Write RFC 3339 (2026-11-24T14:29:03+01:00) or local time as YYYY-MM-DD HH:MM:SS[.ffffff].",
    ))
}

impl TargetPoint {
    /// Checks the value and normalises it (times get their offset, LSNs upper case).
    pub fn normalised(self) -> Result<TargetPoint> {
        Ok(match self {
            TargetPoint::Time(t) => {
                TargetPoint::Time(parse_user_time(&t)?.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
            }
            TargetPoint::Xid(x) => {
                let x = x.trim().to_string();
                if x.parse::<u64>().map(|v| v < 3).unwrap_or(true) {
                    return Err(invalid(
                        format!("'{x}' is not a transaction id"),
                        "A transaction id is a number ≥ 3, as txid_current() or pg_waldump show it.",
                    ));
                }
                TargetPoint::Xid(x)
            }
            TargetPoint::Lsn(l) => {
                let v = lsn(l.trim()).ok_or_else(|| {
                    invalid(format!("'{l}' is not an LSN"), "Write an LSN as two hexadecimal numbers, e.g. 0/3000148.")
                })?;
                TargetPoint::Lsn(crate::pg::lsn::lsn_text(v))
            }
            TargetPoint::Name(n) => {
                if n.is_empty() || n.len() > 63 {
                    return Err(invalid(
                        "a restore point name has 1 to 63 bytes".into(),
                        "Use the name given to `tideline mark`.",
                    ));
                }
                TargetPoint::Name(n)
            }
            TargetPoint::Immediate => TargetPoint::Immediate,
            TargetPoint::BeforeEvent(id) => {
                let id = id.trim().to_string();
                let valid =
                    id.split_once(':').is_some_and(|(t, x)| t.parse::<u32>().is_ok() && x.parse::<u32>().is_ok());
                if !valid {
                    return Err(invalid(
                        format!("'{id}' is not an event id"),
                        "Event ids are timeline:xid, as `tideline events PROFILE` lists them.",
                    ));
                }
                TargetPoint::BeforeEvent(id)
            }
        })
    }

    pub fn describe(&self) -> String {
        match self {
            TargetPoint::Time(t) => format!("time {t}"),
            TargetPoint::Xid(x) => format!("transaction {x}"),
            TargetPoint::Lsn(l) => format!("LSN {l}"),
            TargetPoint::Name(n) => format!("restore point '{n}'"),
            TargetPoint::Immediate => "the end of the backup (immediate)".into(),
            TargetPoint::BeforeEvent(id) => format!("just before event {id}"),
        }
    }
}

/// A postgresql.conf string value. The file's parser reads backslash escapes inside quotes, so
/// backslashes are doubled and line breaks written as `\n` (a raw one would end the line).
pub fn conf_quote(v: &str) -> String {
    let escaped = v.replace('\\', "\\\\").replace('\'', "''").replace('\n', "\\n").replace('\r', "\\r");
    format!("'{escaped}'")
}

/// A path inside archive_command / restore_command: shell-quoted, and `%` doubled (the server
/// replaces `%p`, `%f`, `%r` and reads `%%` as one `%`).
pub fn command_path(path: &std::path::Path) -> String {
    super::table_names::shell_quote(&path.to_string_lossy()).replace('%', "%%")
}

impl RecoveryTarget {
    /// The recovery settings for this target (besides restore_command), as postgresql.conf lines.
    pub fn settings(&self, timeline: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let (key, value) = match &self.point {
            TargetPoint::Time(t) => ("recovery_target_time", t.clone()),
            TargetPoint::Xid(x) => ("recovery_target_xid", x.clone()),
            TargetPoint::Lsn(l) => ("recovery_target_lsn", l.clone()),
            TargetPoint::Name(n) => ("recovery_target_name", n.clone()),
            TargetPoint::Immediate => ("recovery_target", "immediate".into()),
            // Planning resolves events to LSNs; should one slip through, the server refuses
            // to start rather than recover to the end of the WAL.
            TargetPoint::BeforeEvent(id) => ("recovery_target_lsn", format!("event {id}")),
        };
        out.push((key.to_string(), conf_quote(&value)));
        if !matches!(self.point, TargetPoint::Immediate | TargetPoint::Name(_)) {
            out.push(("recovery_target_inclusive".into(), if self.exclusive { "off" } else { "on" }.into()));
        }
        out.push(("recovery_target_timeline".into(), conf_quote(timeline)));
        out.push(("recovery_target_action".into(), conf_quote("promote")));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_values_and_command_paths_keep_quotes_backslashes_newlines_and_percents() {
        assert_eq!(conf_quote(r"it's C:\x"), r"'it''s C:\\x'");
        assert_eq!(conf_quote("two\nlines"), r"'two\nlines'");
        assert!(!conf_quote("a\r\nb").contains(['\n', '\r']));
        assert_eq!(command_path(std::path::Path::new("/srv/100%/repo")), "/srv/100%%/repo");
        assert_eq!(command_path(std::path::Path::new("/srv/a b's")), r"'/srv/a b'\''s'");
    }

    #[test]
    fn local_times_get_an_explicit_offset_and_rfc3339_keeps_its_own() {
        let t = parse_user_time("2026-11-24T14:29:03.512+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T14:29:03.512+01:00");
        let local = parse_user_time("2026-11-24 14:29:03.512").unwrap();
        assert_eq!(local.naive_local().to_string(), "2026-11-24 14:29:03.512");
        let psql = parse_user_time("2026-11-24 14:29:03.512345+00").unwrap();
        assert_eq!(psql.to_rfc3339(), "2026-11-24T14:29:03.512345+00:00");
        assert_eq!(parse_user_time("yesterday").unwrap_err().code, ErrorCode::TargetInvalid);
    }

    #[test]
    fn settings_name_the_target_inclusiveness_timeline_and_promotion() {
        let t = RecoveryTarget { point: TargetPoint::Xid("745".into()), exclusive: true, timeline: None };
        let s = t.settings("2");
        assert!(s.contains(&("recovery_target_xid".into(), "'745'".into())));
        assert!(s.contains(&("recovery_target_inclusive".into(), "off".into())));
        assert!(s.contains(&("recovery_target_timeline".into(), "'2'".into())));
        assert!(s.contains(&("recovery_target_action".into(), "'promote'".into())));
        let n = RecoveryTarget { point: TargetPoint::Name("it's".into()), exclusive: false, timeline: None };
        assert_eq!(n.settings("1")[0], ("recovery_target_name".into(), "'it''s'".into()));
        assert_eq!(TargetPoint::Lsn("0/3000148".into()).normalised().unwrap(), TargetPoint::Lsn("0/3000148".into()));
        assert_eq!(TargetPoint::Lsn("zz".into()).normalised().unwrap_err().code, ErrorCode::TargetInvalid);
        assert_eq!(TargetPoint::Xid("1".into()).normalised().unwrap_err().code, ErrorCode::TargetInvalid);
    }
}

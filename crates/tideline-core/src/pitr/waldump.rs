//! Commits in a WAL segment as `pg_waldump --rmgr=Transaction` reads them (`tx: 745, lsn:
//! 0/03000108, … desc: COMMIT 2026-11-24 10:00:00.123456 UTC`, with TZ=UTC so the zone is
//! known). The timeline's latest moment and a sandbox's reached point come from here until the
//! native WAL reader lands.

use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Commit {
    pub xid: String,
    pub lsn: String,
    /// RFC 3339, UTC.
    pub time: String,
}

fn parse_line(line: &str) -> Option<Commit> {
    let rest = line.split("desc: COMMIT ").nth(1)?;
    let stamp: String = rest.split(';').next()?.trim().trim_end_matches(" UTC").to_string();
    let time = chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let field = |key: &str| line.split(key).nth(1).map(|v| v.split(',').next().unwrap_or("").trim().to_string());
    let lsn = crate::physical::progress::lsn(&field("lsn:")?)?;
    Some(Commit {
        xid: field("tx:")?,
        lsn: super::window::lsn_text(lsn),
        time: time.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
    })
}

/// Every commit in `segment` (its bytes, named `name`), in WAL order.
pub fn commits_in(pg_waldump: &Path, segment: &[u8], name: &str) -> Vec<Commit> {
    let Ok(dir) = tempfile::tempdir() else {
        return Vec::new();
    };
    let path = dir.path().join(name);
    if std::fs::write(&path, segment).is_err() {
        return Vec::new();
    }
    // pg_waldump stops with an error at the end of valid WAL; the records before it count.
    let Ok(out) = std::process::Command::new(pg_waldump).arg("--rmgr=Transaction").arg(&path).env("TZ", "UTC").output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout).lines().filter_map(parse_line).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_xid_lsn_and_time_of_a_commit() {
        let line = "rmgr: Transaction len (rec/tot):     34/    34, tx:        745, lsn: 0/03000108, prev 0/030000D0, desc: COMMIT 2026-11-24 14:00:00.123456 UTC";
        let c = super::parse_line(line).unwrap();
        assert_eq!(
            (c.xid.as_str(), c.lsn.as_str(), c.time.as_str()),
            ("745", "0/3000108", "2026-11-24T14:00:00.123456+00:00")
        );
        let with_subxacts = "rmgr: Transaction len (rec/tot): 46/46, tx: 800, lsn: 0/03000200, prev 0/03000108, desc: COMMIT 2026-11-24 14:00:01.5 UTC; subxacts: 801";
        assert_eq!(super::parse_line(with_subxacts).unwrap().xid, "800");
        assert!(super::parse_line("rmgr: Transaction ... desc: ABORT 2026-11-24 14:00:01 UTC").is_none());
    }
}

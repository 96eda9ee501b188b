//! Reading pg_basebackup's `--progress` and its `backup_manifest`.

use serde::Deserialize;

/// `done/total` in bytes from a progress line: `123456/2345678 kB (5%), 0/1 tablespace …`
/// (pg_basebackup ends each with a newline when stderr is not a terminal).
pub fn parse_progress(line: &str) -> Option<(u64, u64)> {
    let (before, _) = line.split_once(" kB (")?;
    let figures = before.split_whitespace().last()?;
    let (done, total) = figures.split_once('/')?;
    Some((done.parse::<u64>().ok()? * 1024, total.parse::<u64>().ok()? * 1024))
}

/// What PostgreSQL's `backup_manifest` says about the WAL a backup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRange {
    pub timeline: u32,
    pub start_lsn: String,
    pub end_lsn: String,
}

#[derive(Deserialize)]
struct ManifestJson {
    #[serde(rename = "WAL-Ranges")]
    wal_ranges: Vec<WalRangeJson>,
}

#[derive(Deserialize)]
struct WalRangeJson {
    #[serde(rename = "Timeline")]
    timeline: u32,
    #[serde(rename = "Start-LSN")]
    start_lsn: String,
    #[serde(rename = "End-LSN")]
    end_lsn: String,
}

/// The backup's WAL range: from where replay must start to the consistency point. A backup
/// taken across a timeline switch lists several ranges; the first starts it, the last ends it.
pub fn wal_range(backup_manifest: &str) -> Option<WalRange> {
    let m: ManifestJson = serde_json::from_str(backup_manifest).ok()?;
    let first = m.wal_ranges.iter().min_by_key(|r| r.timeline)?;
    let last = m.wal_ranges.iter().max_by_key(|r| r.timeline)?;
    Some(WalRange { timeline: last.timeline, start_lsn: first.start_lsn.clone(), end_lsn: last.end_lsn.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_progress_lines_of_every_major() {
        assert_eq!(parse_progress("  1234/56789 kB (2%), 0/1 tablespace"), Some((1234 * 1024, 56789 * 1024)));
        assert_eq!(
            parse_progress("30578/30578 kB (100%), 1/1 tablespace                                         "),
            Some((30578 * 1024, 30578 * 1024))
        );
        assert_eq!(parse_progress("pg_basebackup: write-ahead log start point: 0/2000028 on timeline 1"), None);
    }

    #[test]
    fn reads_the_wal_range_of_a_backup_manifest() {
        let text = r#"{ "PostgreSQL-Backup-Manifest-Version": 1, "Files": [],
            "WAL-Ranges": [ { "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" } ],
            "Manifest-Checksum": "x" }"#;
        assert_eq!(
            wal_range(text),
            Some(WalRange { timeline: 1, start_lsn: "0/2000028".into(), end_lsn: "0/2000100".into() })
        );
        assert_eq!(wal_range("{}"), None);
    }
}

//! Watching a recovering server until it promotes, from its log (lc_messages is forced to C) and
//! pg_controldata: `pg_ctl -w start` returns as soon as read-only connections are accepted,
//! long before the target is reached, so it cannot be trusted for this. FATALs become coded
//! errors; the point reached is read from the server's own words.

use super::Reached;
use crate::cluster::ManagedCluster;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use std::time::{Duration, Instant};

/// What the log says so far.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogFacts {
    pub promoted: bool,
    pub fatal: Option<String>,
    pub last_restored: Option<String>,
    pub stop: Option<String>,
    pub redo_done_lsn: Option<String>,
    pub last_commit_time: Option<String>,
    pub new_timeline: Option<u32>,
    /// What restore_command (wal-fetch) said of a damaged archived file.
    pub damaged_wal: Option<String>,
}

fn after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.find(key).map(|i| &line[i + key.len()..])
}

/// A log timestamp like `2026-11-24 14:29:03.512345+00` (or `+05:30`) as RFC 3339.
pub fn log_time(text: &str) -> Option<String> {
    let text = text.trim().trim_end_matches('.');
    let t = chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z").ok()?;
    Some(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
}

pub fn read_log(text: &str) -> LogFacts {
    let mut f = LogFacts::default();
    for line in text.lines() {
        if let Some(rest) = after(line, "restored log file \"") {
            f.last_restored = rest.split('"').next().map(str::to_string);
        } else if let Some(rest) = after(line, "LOG:  recovery stopping ") {
            f.stop = Some(format!("recovery stopping {}", rest.trim()));
        } else if let Some(rest) = after(line, "redo done at ") {
            f.redo_done_lsn = rest.split_whitespace().next().map(str::to_string);
        } else if let Some(rest) = after(line, "last completed transaction was at log time ") {
            f.last_commit_time = log_time(rest);
        } else if let Some(rest) = after(line, "selected new timeline ID: ") {
            f.new_timeline = rest.split_whitespace().next().and_then(|v| v.parse().ok());
        } else if let Some(rest) = after(line, "error: ").filter(|r| r.contains(" is damaged: ")) {
            f.damaged_wal.get_or_insert_with(|| rest.trim().to_string());
        } else if line.contains("database system is ready to accept connections") {
            f.promoted = true;
        } else if let Some(rest) = after(line, "FATAL:  ").or_else(|| after(line, "PANIC:  ")) {
            // The first one is the cause; the ones after it are consequences.
            f.fatal.get_or_insert_with(|| rest.trim().to_string());
        }
    }
    f
}

/// A server FATAL during recovery, as a coded error; `log` is where the server's log is kept.
pub fn fatal_error(facts: &LogFacts, fatal: &str, log_tail: &str, log: &std::path::Path) -> Error {
    let message = format!("recovery failed: {fatal}\nserver.log ({}):\n{log_tail}", log.display());
    // The archive could not serve a file replay needed: that, not the target, is the cause.
    if let Some(damaged) = &facts.damaged_wal {
        Error::new(
            ErrorCode::ChecksumMismatch,
            format!("recovery stopped at a damaged WAL file: {damaged}\n{message}"),
            "Replay cannot pass a damaged file. Choose a moment before it, or a base backup taken after it; `tideline wal verify PROFILE` checks the whole archive. The sandbox was removed.",
        )
    } else if fatal.contains("recovery ended before configured recovery target was reached") {
        Error::new(
            ErrorCode::TargetBeyondWal,
            message,
            "The WAL in the repository ends before the target (or the named point / transaction is not in it). Choose an earlier moment, or check `tideline timeline PROFILE`.",
        )
    } else if fatal.contains("before consistent recovery point") {
        Error::new(
            ErrorCode::TargetBeforeConsistency,
            message,
            "The target lies inside the base backup's own run. Choose a later moment or an older backup (--from-backup).",
        )
    } else if fatal.contains("timeline") {
        Error::new(
            ErrorCode::TargetTimelineUnreachable,
            message,
            "The backup is not on the requested timeline's history. Choose another timeline or backup.",
        )
    } else {
        Error::new(
            ErrorCode::SandboxFailed,
            message,
            format!("The server's log (kept at {}) has the details; the sandbox was removed.", log.display()),
        )
    }
}

/// Waits until the server has promoted (or died). Reports restored segments as progress.
pub async fn until_promoted(
    cluster: &ManagedCluster,
    job: &Job,
    segments_total: Option<u64>,
    first_segment: u64,
    seg_bytes: u64,
    kept_log: &std::path::Path,
) -> Result<LogFacts> {
    let started = Instant::now();
    let mut seen_running = false;
    // The log is read every 50 ms (promotion is seen soon after it happens); whether the
    // server still runs costs a process (pg_ctl status), so it is asked every half second.
    for round in 0u64.. {
        job.check_cancelled()?;
        let text = std::fs::read_to_string(cluster.log_path()).unwrap_or_default();
        let facts = read_log(&text);
        // pg_controldata is missing from server-only builds: the log's word is enough there.
        if facts.promoted && cluster.control_state().is_none_or(|s| s == "in production") {
            return Ok(facts);
        }
        if let Some(name) = &facts.last_restored {
            let n =
                crate::wal::file_names::segment(name, seg_bytes).map(|s| s.number.saturating_sub(first_segment) + 1);
            job.progress(
                "replaying",
                Some(name.clone()),
                n.unwrap_or(0) * seg_bytes,
                segments_total.map(|t| t * seg_bytes),
            );
        }
        if round % 10 != 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let running = cluster.is_running();
        seen_running |= running;
        if !running && (seen_running || started.elapsed() > Duration::from_secs(5)) {
            // Read once more: the last lines may have landed as it exited.
            let text = std::fs::read_to_string(cluster.log_path()).unwrap_or_default();
            let facts = read_log(&text);
            let fatal = facts.fatal.clone().unwrap_or_else(|| "the server exited during recovery".into());
            return Err(fatal_error(&facts, &fatal, &cluster.log_tail(15), kept_log));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    unreachable!("the rounds never run out")
}

/// Turns the log's facts into the reached point (the commit's xid comes from the WAL later).
pub fn reached_from(facts: &LogFacts) -> Reached {
    Reached {
        time: facts.last_commit_time.clone(),
        lsn: facts.redo_done_lsn.as_deref().and_then(crate::pg::lsn::lsn).map(crate::pg::lsn::lsn_text),
        xid: None,
        stop: facts.stop.clone(),
        timeline: facts.new_timeline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_how_recovery_went_from_the_log() {
        let log = "2026-11-24 14:30:00.100 UTC [9] LOG:  restored log file \"000000010000000000000004\" from archive\n\
            2026-11-24 14:30:00.200 UTC [9] LOG:  recovery stopping before commit of transaction 746, time 2026-11-24 14:29:03.512345+00\n\
            2026-11-24 14:30:00.210 UTC [9] LOG:  redo done at 0/4000F10 system usage: CPU: user: 0.00 s\n\
            2026-11-24 14:30:00.211 UTC [9] LOG:  last completed transaction was at log time 2026-11-24 14:29:01.001+00\n\
            2026-11-24 14:30:00.300 UTC [9] LOG:  selected new timeline ID: 2\n\
            2026-11-24 14:30:00.400 UTC [7] LOG:  database system is ready to accept connections\n";
        let f = read_log(log);
        assert!(f.promoted);
        assert_eq!(f.last_restored.as_deref(), Some("000000010000000000000004"));
        assert_eq!(
            f.stop.as_deref(),
            Some("recovery stopping before commit of transaction 746, time 2026-11-24 14:29:03.512345+00")
        );
        let r = reached_from(&f);
        assert_eq!(r.lsn.as_deref(), Some("0/4000F10"));
        assert_eq!(r.time.as_deref(), Some("2026-11-24T14:29:01.001+00:00"));
        assert_eq!(r.timeline, Some(2));
        // PostgreSQL 18 pads the low half of an LSN.
        assert_eq!(read_log("LOG:  redo done at 0/04000F10 system usage").redo_done_lsn.as_deref(), Some("0/04000F10"));
    }

    #[test]
    fn fatals_map_to_codes() {
        let log = std::path::Path::new("/kept/server.log");
        let code = |fatal: &str| fatal_error(&LogFacts::default(), fatal, "", log).code;
        let f = read_log("FATAL:  recovery ended before configured recovery target was reached\nLOG:  startup process (PID 9) exited with exit code 1\n");
        assert_eq!(code(f.fatal.as_deref().unwrap()), ErrorCode::TargetBeyondWal);
        assert_eq!(
            code("requested recovery stop point is before consistent recovery point"),
            ErrorCode::TargetBeforeConsistency
        );
        let failed = fatal_error(&LogFacts::default(), "could not locate required checkpoint record", "", log);
        assert_eq!(failed.code, ErrorCode::SandboxFailed);
        assert!(failed.hint.contains("/kept/server.log"), "{}", failed.hint);
        // wal-fetch's words in the log name the damaged file: that is the cause, not the target.
        let damaged = read_log("error: /r/wal/000000010000000000000005.zst is damaged: Data corruption detected\n  hint: …\nFATAL:  recovery ended before configured recovery target was reached\n");
        let e = fatal_error(&damaged, damaged.fatal.as_deref().unwrap(), "", log);
        assert_eq!(e.code, ErrorCode::ChecksumMismatch);
        assert!(e.message.contains("000000010000000000000005.zst is damaged"), "{}", e.message);
        assert_eq!(log_time("2026-11-24 14:29:01+05:30").as_deref(), Some("2026-11-24T14:29:01+05:30"));
    }
}

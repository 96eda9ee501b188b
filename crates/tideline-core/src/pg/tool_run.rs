//! Running pg_dump / pg_dumpall / pg_restore as a job: output kept in a log file, progress read
//! from the tool's verbose log while it runs, cancellation that kills the child.

use crate::error::{Error, ErrorCode, Result};
use crate::job::{cancelled, Job};
use crate::libpq_env::ClientCommand;
use std::collections::HashMap;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

/// On-disk size of each table's data (`schema.table` as pg_dump's log prints it), for progress.
pub type TableSizes = HashMap<String, u64>;

/// The tables the log says the tool has started on, in order, read from `offset` on; every
/// whole line also goes to `on_line`.
fn started_tables(log_path: &Path, offset: &mut u64, seen: &mut Vec<String>, on_line: &(dyn Fn(&str) + Sync)) {
    let Ok(mut file) = std::fs::File::open(log_path) else { return };
    if file.seek(SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut reader = std::io::BufReader::new(file);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        if !line.ends_with('\n') {
            break; // a partial line: read it whole next time
        }
        *offset += line.len() as u64;
        on_line(line.trim_end());
        // pg_dump: dumping contents of table "public.actor"; pg_restore: processing data for table "public.actor"
        for marker in ["dumping contents of table \"", "processing data for table \""] {
            if let Some(rest) = line.split(marker).nth(1) {
                if let Some(name) = rest.trim_end().strip_suffix('"') {
                    seen.push(name.to_string());
                }
            }
        }
        line.clear();
    }
}

/// Free space below which a failed tool is taken to have filled the disk.
const NEARLY_FULL: u64 = 1 << 20;

/// Runs `cc` with stdout and stderr in `log_path`, reporting progress as `phase` until it exits.
/// A failure is `failure_code` with the tool's own last words; cancelling kills the child.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_logged(
    runner: &dyn crate::process::Runner,
    cc: ClientCommand,
    log_path: &Path,
    tool: &str,
    job: &Job,
    phase: &str,
    sizes: &TableSizes,
    failure_code: ErrorCode,
) -> Result<()> {
    run_watched(runner, cc, log_path, tool, job, phase, sizes, failure_code, &|_| {}).await
}

/// [`run_logged`], handing each line of the tool's log to `on_line` as it appears.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_watched(
    runner: &dyn crate::process::Runner,
    mut cc: ClientCommand,
    log_path: &Path,
    tool: &str,
    job: &Job,
    phase: &str,
    sizes: &TableSizes,
    failure_code: ErrorCode,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<()> {
    let log = std::fs::File::create(log_path).map_err(|e| Error::io(format!("creating {}", log_path.display()), e))?;
    let out = log.try_clone().map_err(|e| Error::io("log file", e))?;
    cc.command.stdout(out).stderr(log);
    let program = std::path::PathBuf::from(cc.command.get_program());
    let mut child = runner
        .spawn(std::mem::replace(&mut cc.command, std::process::Command::new("true")))
        .map_err(|e| Error::io(format!("running {tool}"), e))?;
    // The tool with everything it forks: killed together on cancel, on failure and when this
    // future is dropped, so nothing keeps writing (or holding WAL senders) after the job.
    let group = crate::process::ChildGroup::of(child.id(), &program);
    let total: u64 = sizes.values().sum();
    let (mut offset, mut seen) = (0u64, Vec::new());
    let cancel = job.cancel_token();
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|e| Error::io(format!("waiting for {tool}"), e))?,
            _ = cancel.cancelled() => {
                group.kill();
                let _ = child.wait().await;
                tracing::info!(tool, job = %job.id, "cancelled");
                return Err(cancelled());
            }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                started_tables(log_path, &mut offset, &mut seen, on_line);
                // Tables before the last one started are done (parallel jobs make this an estimate).
                // With nothing to go on, leave progress to `on_line` (pg_basebackup's own figures).
                if total > 0 || !seen.is_empty() {
                    let done: u64 = seen.iter().rev().skip(1).filter_map(|t| sizes.get(t)).sum();
                    job.progress(phase, seen.last().cloned(), done, (total > 0).then_some(total));
                }
            }
        }
    };
    drop(group);
    drop(cc);
    started_tables(log_path, &mut offset, &mut seen, on_line);
    if !status.success() {
        // A full disk is often why, and the tool's own words may be lost with it (its log is
        // on that disk): the reason is said plainly.
        let dir = log_path.parent().unwrap_or(log_path);
        if let Some(free) = crate::repo::free_bytes(dir).filter(|free| *free < NEARLY_FULL) {
            return Err(Error::new(
                ErrorCode::InsufficientSpace,
                format!(
                    "{tool} failed ({status}): the disk holding {} filled up ({free} bytes free)\n{}",
                    dir.display(),
                    log_tail(log_path, 12)
                ),
                format!("Nothing was kept. {}", crate::repo::ROOM_HINT),
            ));
        }
        let hint = match failure_code {
            ErrorCode::BackupFailed => {
                format!("Nothing was kept; the message above is {tool}'s own. Fix the cause and run the backup again.")
            }
            _ => format!("The full output is in {}.", log_path.display()),
        };
        return Err(Error::new(failure_code, format!("{tool} failed ({status}):\n{}", log_tail(log_path, 12)), hint));
    }
    job.progress(phase, None, total, (total > 0).then_some(total));
    Ok(())
}

pub fn log_tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.contains(": reading ") && !l.contains(": dumping ")).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

//! `tideline wal stream PROFILE`: pg_receivewal on a replication slot Tideline creates, run as
//! the Tideline user (no server-side command), restarted when it fails. Finished segments move
//! into the repository exactly as wal-push stores them; the growing `.partial` segment is kept
//! there too (replaced as it grows), so a restore gets every commit streamed so far.

use super::archive::WalArchive;
use super::control::segment_header;
use super::names::{classify, WalFileKind};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::logical::dump::query_failed;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StreamSummary {
    pub profile: String,
    pub slot: String,
    #[ts(type = "number")]
    pub segments_stored: u64,
    pub last_segment: Option<String>,
    pub partial: Option<String>,
    /// How many times pg_receivewal had to be started again after failing.
    pub restarts: u32,
}

/// Tideline's slot for a profile: `tideline_` and the profile name, as a slot name may be.
pub fn slot_name(profile: &str) -> String {
    let clean: String =
        profile.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let mut name = format!("{}{clean}", super::status::SLOT_PREFIX);
    name.truncate(63);
    name
}

/// Moves what pg_receivewal finished from `dir` into the archive; stores the partial if it
/// changed since `last_partial`. Returns the segments stored.
fn sweep(
    dir: &Path,
    archive: &WalArchive,
    sysid: u64,
    last_partial: &mut Option<(String, u64)>,
) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| classify(n).is_ok())
        .collect();
    names.sort();
    let mut stored = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let kind = classify(&name)?;
        let content = std::fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if matches!(kind, WalFileKind::Segment | WalFileKind::Partial) {
            let header = segment_header(&content)?;
            if header.system_identifier != sysid {
                return Err(Error::new(
                    ErrorCode::WalForeignCluster,
                    format!("{name} in {} belongs to cluster {}, not {sysid}", dir.display(), header.system_identifier),
                    "The stream directory holds another cluster's WAL; move it aside.",
                ));
            }
        }
        match kind {
            WalFileKind::Partial => {
                let fingerprint = blake3::hash(&content);
                let key = u64::from_le_bytes(fingerprint.as_bytes()[..8].try_into().expect("8 bytes"));
                if last_partial.as_ref() != Some(&(name.clone(), key)) {
                    archive.store_partial(&name, &content)?;
                    *last_partial = Some((name, key));
                }
            }
            _ => {
                archive.push(&name, &content)?;
                if kind == WalFileKind::Segment {
                    archive.remove_partial(&name)?;
                    let segment_bytes = content.len() as u64;
                    if let Err(e) = archive.write_summary(&name, &content, segment_bytes, None) {
                        // Stored all the same; `tideline wal index` summarises it later.
                        tracing::warn!(segment = %name, error = %e.message, "segment not summarised");
                    }
                }
                std::fs::remove_file(&path).map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
                stored.push(name);
            }
        }
    }
    Ok(stored)
}

impl Engine {
    /// Streams until the job is cancelled (Ctrl-C in the CLI, stop in the app).
    pub async fn wal_stream(&self, profile_name: &str, job: &Job) -> Result<StreamSummary> {
        job.phase("connecting");
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let draft = profile.draft();
        let client = crate::connect::connect(&draft, password.as_ref()).await?;
        let (_, major) = crate::logical::dump::server_version(&client).await?;
        let sysid: String = client
            .query_one("SELECT system_identifier::text FROM pg_control_system()", &[])
            .await
            .map_err(query_failed("reading the cluster's identity"))?
            .get(0);
        let slot = slot_name(&profile.name);
        client
            .execute(
                "SELECT pg_create_physical_replication_slot($1, true)
                 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
                &[&slot],
            )
            .await
            .map_err(|e| {
                let text = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
                Error::new(
                    ErrorCode::AccessDenied,
                    format!("cannot create replication slot {slot}: {text}"),
                    "Streaming needs a role with REPLICATION and a free slot (max_replication_slots); `tideline wal setup` checks both.",
                )
            })?;
        let inst = self.tools()?.client_for(major, "pg_receivewal")?.clone();
        let repo = self.repository()?;
        let sysid_n: u64 = sysid.parse().unwrap_or(0);
        let archive = WalArchive::open(repo.root(), sysid_n);
        let dir = super::archive::cluster_dir(repo.root(), sysid_n).join("stream");
        crate::home::ensure_private_dir(&dir)?;
        let mut summary = StreamSummary { profile: profile.name.clone(), slot: slot.clone(), ..Default::default() };
        let mut last_partial = None;
        let cancel = job.cancel_token();
        let mut backoff = Duration::from_secs(1);
        tracing::info!(profile = %profile.name, slot = %slot, "streaming WAL");
        loop {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("pg_receivewal.log"))
                .map_err(|e| Error::io("opening pg_receivewal.log", e))?;
            let mut cc = crate::libpq_env::client_command(&inst.path("pg_receivewal"), &draft, password.as_ref())?;
            cc.command
                .arg(format!("--directory={}", dir.display()))
                .arg(format!("--slot={slot}"))
                // fsync as WAL arrives: the .partial then holds every streamed commit.
                .args(["--synchronous", "--no-loop", "--verbose"])
                .stdout(log.try_clone().map_err(|e| Error::io("log", e))?)
                .stderr(log);
            let mut child =
                tokio::process::Command::from(std::mem::replace(&mut cc.command, std::process::Command::new("true")))
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| Error::io("running pg_receivewal", e))?;
            job.phase("streaming");
            let exited = loop {
                tokio::select! {
                    status = child.wait() => break Some(status),
                    _ = cancel.cancelled() => break None,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {
                        for name in sweep(&dir, &archive, sysid_n, &mut last_partial)? {
                            summary.segments_stored += 1;
                            job.progress("streaming", Some(name.clone()), summary.segments_stored, None);
                            summary.last_segment = Some(name);
                            backoff = Duration::from_secs(1);
                        }
                    }
                }
            };
            if exited.is_none() {
                // pg_receivewal flushes and closes its .partial on SIGINT.
                if let Some(pid) = child.id() {
                    unsafe { libc::kill(pid as i32, libc::SIGINT) };
                }
                if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
                    let _ = child.start_kill();
                }
            }
            drop(cc);
            for name in sweep(&dir, &archive, sysid_n, &mut last_partial)? {
                summary.segments_stored += 1;
                summary.last_segment = Some(name);
            }
            summary.partial = last_partial.as_ref().map(|(n, _)| n.clone());
            if exited.is_none() {
                tracing::info!(profile = %profile.name, stored = summary.segments_stored, "streaming stopped");
                return Ok(summary);
            }
            summary.restarts += 1;
            tracing::warn!(profile = %profile.name, backoff_s = backoff.as_secs(), "pg_receivewal exited; starting it again");
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = cancel.cancelled() => return Ok(summary),
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slot_names_are_valid_and_bounded() {
        assert_eq!(super::slot_name("Prod EU-1"), "tideline_prod_eu_1");
        assert_eq!(super::slot_name(&"x".repeat(100)).len(), 63);
    }
}

//! `tideline wal stream PROFILE`: pg_receivewal on a replication slot Tideline creates, run as
//! the Tideline user (no server-side command), restarted when it fails. Finished segments move
//! into the repository exactly as wal-push stores them; the growing `.partial` segment is kept
//! there too (replaced as it grows), so a restore gets every commit streamed so far.

use super::archive::WalArchive;
use super::control::segment_header;
use super::file_names::{classify, WalFileKind};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::job::Job;
use crate::pg::server::query_failed;
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
    /// Why the profile's slot was made anew: the server had invalidated it (`idle_timeout`:
    /// idle_replication_slot_timeout, from 18; `wal_removed`: max_slot_wal_keep_size). WAL the
    /// server removed meanwhile is a gap in the repository, which the recovery window shows.
    #[serde(default)]
    pub slot_recreated: Option<String>,
}

/// Tideline's slot for a profile: `tideline_`, the profile's name as a slot name may hold it, and
/// a hash of the profile's id. The id is unique to this installation and survives a rename, so
/// two profiles (or two machines) never share a slot, even with names that differ only in case
/// or punctuation, and teardown can drop exactly this profile's slot.
pub fn slot_name(profile: &crate::profile::Profile) -> String {
    slot_name_for(&profile.id, &profile.name)
}

fn slot_name_for(id: &str, name: &str) -> String {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let tag = blake3::hash(id.as_bytes()).to_hex();
    let mut name = format!("{}{clean}", super::status::SLOT_PREFIX);
    name.truncate(63 - 9);
    format!("{name}_{}", &tag[..8])
}

/// What the supervisor keeps between sweeps: the partial last stored, and the failures already
/// logged (a file that keeps failing is retried every sweep but logged once).
#[derive(Default)]
struct SweepState {
    last_partial: Option<(String, u64)>,
    logged: std::collections::HashSet<(String, String)>,
    /// Stored here, not yet in the profile's repository (when it has one elsewhere).
    to_upload: Vec<String>,
}

/// Moves what pg_receivewal finished from `dir` into the archive; stores the partial if it
/// changed. Returns the segments stored. pg_receivewal renames `.partial` files and creates new
/// ones at any moment, so a file that vanished since the listing is skipped (its new name is
/// taken next time), and a failure on one file is logged and retried next sweep: nothing here
/// may end the stream.
fn sweep(dir: &Path, archive: &WalArchive, sysid: u64, state: &mut SweepState) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| classify(n).is_ok())
            .collect(),
        Err(e) => {
            state.log_once(dir.display().to_string(), &Error::io(format!("reading {}", dir.display()), e));
            return vec![];
        }
    };
    names.sort();
    let mut stored = Vec::new();
    for name in names {
        match sweep_one(dir, &name, archive, sysid, &mut state.last_partial) {
            Ok(Swept::Stored) => stored.push(name),
            Ok(Swept::Kept | Swept::Vanished) => {}
            Err(e) => state.log_once(name, &e),
        }
    }
    stored
}

enum Swept {
    /// A finished file, now in the archive and gone from the stream directory.
    Stored,
    /// The growing `.partial`, stored if it changed.
    Kept,
    /// Renamed or removed by pg_receivewal between the listing and the read.
    Vanished,
}

fn sweep_one(
    dir: &Path,
    name: &str,
    archive: &WalArchive,
    sysid: u64,
    last_partial: &mut Option<(String, u64)>,
) -> Result<Swept> {
    let path = dir.join(name);
    let kind = classify(name)?;
    let content = match std::fs::read(&path) {
        Ok(content) => content,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Swept::Vanished),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    if kind == WalFileKind::Partial && content.iter().take(8).all(|&b| b == 0) {
        return Ok(Swept::Kept); // padded, no WAL in it yet
    }
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
    if kind == WalFileKind::Partial {
        let fingerprint = blake3::hash(&content);
        let key = u64::from_le_bytes(fingerprint.as_bytes()[..8].try_into().expect("8 bytes"));
        if last_partial.as_ref() != Some(&(name.to_string(), key)) {
            archive.store_partial(name, &content)?;
            *last_partial = Some((name.to_string(), key));
        }
        return Ok(Swept::Kept);
    }
    archive.push(name, &content)?;
    if kind == WalFileKind::Segment {
        archive.remove_partial(name)?;
        if let Err(e) = archive.write_summary(name, &content, content.len() as u64, None) {
            // Stored all the same; `tideline wal index` summarises it later.
            tracing::warn!(segment = %name, error = %e.message, "segment not summarised");
        }
    }
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Swept::Stored),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Swept::Stored),
        Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
    }
}

/// pg_receivewal fills a new `.partial` with zeros up to the segment size before it writes WAL
/// into it. Killed during that, it leaves a shorter file that every later start refuses ("has
/// 81920 bytes, should be 0 or 16777216"), so streaming would never resume. Such a file holds
/// nothing but the zeros written so far: finish the padding it was doing.
fn complete_padding(dir: &Path, segment_bytes: u64) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if classify(&name).ok() != Some(WalFileKind::Partial) {
            continue;
        }
        let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 || len >= segment_bytes {
            continue;
        }
        let only_zeros = std::fs::read(entry.path()).is_ok_and(|b| b.iter().all(|&x| x == 0));
        if !only_zeros {
            tracing::warn!(file = %name, len, "a short .partial holds WAL; left for pg_receivewal to report");
            continue;
        }
        let padded = std::fs::OpenOptions::new()
            .write(true)
            .open(entry.path())
            .and_then(|f| f.set_len(segment_bytes).and_then(|()| f.sync_all()));
        match padded {
            Ok(()) => {
                tracing::warn!(file = %name, len, "finished the padding of a .partial a killed pg_receivewal left")
            }
            Err(e) => tracing::warn!(file = %name, error = %e, "could not pad a short .partial"),
        }
    }
}

/// After the slot was made anew: the `.partial` the old one left ends where that slot stopped,
/// and the server no longer has the rest of its segment, so pg_receivewal could never resume it
/// (it would fail on every start). Its WAL is stored in the repository first (the sweep), then
/// it leaves the stream directory, and pg_receivewal begins where the new slot stands.
fn set_aside_stale_partials(dir: &Path, archive: &WalArchive, sysid: u64, state: &mut SweepState) {
    sweep(dir, archive, sysid, state);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if classify(&name).ok() == Some(WalFileKind::Partial) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::warn!(file = %name, "the old slot's .partial is in the repository; streaming begins anew")
                }
                Err(e) => tracing::warn!(file = %name, error = %e, "could not set aside the old slot's .partial"),
            }
        }
    }
}

impl SweepState {
    fn log_once(&mut self, what: String, e: &Error) {
        if self.logged.insert((what.clone(), e.message.clone())) {
            tracing::warn!(file = %what, code = ?e.code, error = %e.message, "not stored yet; retrying on the next sweep");
        }
    }
}

impl Engine {
    /// Before 15, where pg_receivewal would begin without one (see resume.rs), an empty
    /// `.partial` where the repository or the slot stands. A failure here leaves pg_receivewal
    /// to choose.
    async fn point_the_restart(
        &self,
        client: &tokio_postgres::Client,
        slot: &str,
        major: u32,
        dir: &Path,
        archive: &WalArchive,
        segment_bytes: u64,
    ) {
        if major >= 15 {
            return;
        }
        let row = client
            .query_opt(
                "SELECT s.restart_lsn::text, c.timeline_id::bigint
                   FROM pg_replication_slots s, pg_control_checkpoint() c WHERE s.slot_name = $1",
                &[&slot],
            )
            .await;
        let slot = match row {
            Ok(Some(r)) => super::resume::SlotPosition {
                restart_lsn: r.get::<_, Option<String>>(0).and_then(|l| crate::pg::lsn::lsn(&l)),
                timeline: r.get::<_, i64>(1) as u32,
            },
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the slot's position; pg_receivewal chooses where to begin");
                return;
            }
        };
        if let Some(name) = super::resume::resume_partial(dir, archive, major, slot, segment_bytes) {
            match super::resume::place_partial(dir, &name, segment_bytes) {
                Ok(()) => tracing::info!(file = %name, "pg_receivewal begins where the repository or the slot stands"),
                Err(e) => tracing::warn!(file = %name, error = %e, "could not place the resume point"),
            }
        }
    }

    /// Streams until the job is cancelled (Ctrl-C in the CLI, stop in the app).
    pub async fn wal_stream(&self, profile_name: &str, job: &Job) -> Result<StreamSummary> {
        job.phase("connecting");
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let draft = profile.draft();
        let client = crate::connect::connect(&draft, password.as_ref()).await?;
        let (_, major) = crate::pg::server::server_version(&client).await?;
        let (sysid, segment_bytes): (String, i64) = client
            .query_one(
                "SELECT system_identifier::text, pg_size_bytes(current_setting('wal_segment_size'))
                   FROM pg_control_system()",
                &[],
            )
            .await
            .map_err(query_failed("reading the cluster's identity"))
            .map(|row| (row.get(0), row.get(1)))?;
        let slot = slot_name(&profile);
        let slot_recreated = prepare_slot(&client, &slot, major).await?;
        let repo = self.repository()?;
        let sysid: u64 = sysid.parse().unwrap_or(0);
        let dir = super::archive::cluster_dir(repo.root(), sysid).join("stream");
        crate::home::ensure_private_dir(&dir)?;
        let receiver = Receiver {
            inst: self.tools()?.client_for(major, "pg_receivewal")?.clone(),
            draft: &draft,
            password: password.as_ref(),
            slot: &slot,
            archive: WalArchive::open(repo.root(), sysid),
            dir,
            sysid,
            profile_id: &profile.id,
        };
        let mut summary =
            StreamSummary { profile: profile.name.clone(), slot: slot.clone(), slot_recreated, ..Default::default() };
        let mut state = SweepState::default();
        if summary.slot_recreated.is_some() {
            set_aside_stale_partials(&receiver.dir, &receiver.archive, sysid, &mut state);
        }
        let cancel = job.cancel_token();
        let mut backoff = Duration::from_secs(1);
        tracing::info!(profile = %profile.name, slot = %slot, "streaming WAL");
        loop {
            complete_padding(&receiver.dir, segment_bytes as u64);
            self.point_the_restart(&client, &slot, major, &receiver.dir, &receiver.archive, segment_bytes as u64).await;
            let cancelled = self.receive(&receiver, job, &mut summary, &mut state, &mut backoff).await?;
            summary.partial = state.last_partial.as_ref().map(|(n, _)| n.clone());
            if cancelled {
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

    /// One pg_receivewal, swept into the repository until it exits or the job is cancelled;
    /// true when cancelled.
    async fn receive(
        &self,
        receiver: &Receiver<'_>,
        job: &Job,
        summary: &mut StreamSummary,
        state: &mut SweepState,
        backoff: &mut Duration,
    ) -> Result<bool> {
        let Receiver { inst, dir, archive, sysid, .. } = receiver;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("pg_receivewal.log"))
            .map_err(|e| Error::io("opening pg_receivewal.log", e))?;
        let mut cc = crate::libpq_env::client_command(&inst.path("pg_receivewal"), receiver.draft, receiver.password)?;
        cc.command
            .arg(format!("--directory={}", dir.display()))
            .arg(format!("--slot={}", receiver.slot))
            // fsync as WAL arrives: the .partial then holds every streamed commit.
            .args(["--synchronous", "--no-loop", "--verbose"])
            .stdout(log.try_clone().map_err(|e| Error::io("log", e))?)
            .stderr(log);
        let mut child = self
            .runner()
            .spawn(std::mem::replace(&mut cc.command, std::process::Command::new("true")))
            .map_err(|e| Error::io("running pg_receivewal", e))?;
        let group = crate::process::ChildGroup::of(child.id(), &inst.path("pg_receivewal"));
        job.phase("streaming");
        let cancel = job.cancel_token();
        let exited = loop {
            tokio::select! {
                status = child.wait() => break Some(status),
                _ = cancel.cancelled() => break None,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    for name in sweep(dir, archive, *sysid, state) {
                        summary.segments_stored += 1;
                        job.progress("streaming", Some(name.clone()), summary.segments_stored, None);
                        state.to_upload.push(name.clone());
                        summary.last_segment = Some(name);
                        *backoff = Duration::from_secs(1);
                    }
                    self.upload_wal(receiver.profile_id, *sysid, &mut state.to_upload).await;
                }
            }
        };
        if exited.is_none() {
            // pg_receivewal flushes and closes its .partial on SIGINT.
            if let Some(pid) = child.id() {
                unsafe { libc::kill(pid as i32, libc::SIGINT) };
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
                group.kill();
                let _ = child.wait().await;
            }
        }
        drop(group);
        drop(cc);
        for name in sweep(dir, archive, *sysid, state) {
            summary.segments_stored += 1;
            state.to_upload.push(name.clone());
            summary.last_segment = Some(name);
        }
        self.upload_wal(receiver.profile_id, *sysid, &mut state.to_upload).await;
        Ok(exited.is_none())
    }
}

/// What each pg_receivewal of one stream is started with.
struct Receiver<'a> {
    inst: crate::tools::Installation,
    draft: &'a crate::profile::ProfileDraft,
    password: Option<&'a crate::Secret>,
    slot: &'a str,
    archive: WalArchive,
    /// pg_receivewal's directory: `<repo>/clusters/<id>/stream`.
    dir: std::path::PathBuf,
    sysid: u64,
    profile_id: &'a str,
}

/// The profile's slot, made if missing. An invalidated slot keeps its name but can stream
/// nothing: it is dropped and made anew, and why is returned.
async fn prepare_slot(client: &tokio_postgres::Client, slot: &str, major: u32) -> Result<Option<String>> {
    let slot_recreated = super::status::invalidation(client, slot, major).await?;
    if let Some(reason) = &slot_recreated {
        tracing::warn!(slot = %slot, reason = %reason, "the server invalidated the slot; making it anew");
        client
            .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
            .await
            .map_err(query_failed("dropping the invalidated replication slot"))?;
    }
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
    Ok(slot_recreated)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_partial_left_half_padded_is_padded_and_one_holding_wal_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let half = dir.path().join("00000001000000000000005D.partial");
        std::fs::write(&half, vec![0u8; 81920]).unwrap();
        let walled = dir.path().join("00000001000000000000005E.partial");
        std::fs::write(&walled, [0u8, 7, 0]).unwrap();
        let empty = dir.path().join("00000001000000000000005F.partial");
        std::fs::write(&empty, b"").unwrap();
        super::complete_padding(dir.path(), 1 << 24);
        assert_eq!(std::fs::metadata(&half).unwrap().len(), 1 << 24);
        assert!(std::fs::read(&half).unwrap().iter().all(|&b| b == 0));
        assert_eq!(std::fs::read(&walled).unwrap(), [0u8, 7, 0]);
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    }

    #[test]
    fn slot_names_are_valid_bounded_and_never_shared() {
        let profile = |id: &str, name: &str| (id.to_string(), name.to_string());
        let slot = |(id, name): &(String, String)| super::slot_name_for(id, name);
        let a = slot(&profile("id-1", "Prod EU-1"));
        assert!(a.starts_with("tideline_prod_eu_1_") && a.len() == "tideline_prod_eu_1_".len() + 8, "{a}");
        assert_eq!(slot(&profile("id-1", "Prod EU-1")), a);
        // Names that differ in case or punctuation, or one name on two installations.
        assert_ne!(slot(&profile("id-2", "prod eu 1")), a);
        assert_ne!(slot(&profile("id-3", "Prod EU-1")), a);
        let long = slot(&profile("id-1", &"x".repeat(100)));
        assert_eq!(long.len(), 63);
        assert!(long.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }
}

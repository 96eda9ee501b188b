//! `tideline wal status PROFILE` and `wal teardown PROFILE`: the archiver's health, Tideline's
//! replication slots and the WAL they hold on the server — a failing archive_command or a
//! forgotten slot fills the server's disk, so status warns long before — and undoing setup.

use crate::engine::Engine;
use crate::error::Result;
use crate::pg::server::query_failed;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use tokio_postgres::Client;
use ts_rs::TS;

/// Slots Tideline creates are named with this prefix; teardown drops only those.
pub const SLOT_PREFIX: &str = "tideline_";
/// Retained WAL above this is a warning.
pub const RETAINED_WARN_BYTES: i64 = 1 << 30;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ArchiveTest {
    /// The segment the test switched away from.
    pub segment: String,
    pub arrived: bool,
    #[ts(type = "number")]
    pub waited_ms: u64,
    pub archiver: Archiver,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Archiver {
    #[ts(type = "number")]
    pub archived_count: i64,
    pub last_archived_wal: Option<String>,
    pub last_archived_time: Option<String>,
    #[ts(type = "number")]
    pub failed_count: i64,
    pub last_failed_wal: Option<String>,
    pub last_failed_time: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SlotStatus {
    pub name: String,
    pub active: bool,
    #[ts(type = "number | null")]
    pub retained_bytes: Option<i64>,
    /// How far the receiver streaming from it (Tideline's pg_receivewal) has not yet flushed:
    /// bytes behind the server's current WAL, and PostgreSQL's own flush lag. Null when nothing
    /// streams, or when the role may not see pg_stat_replication's positions.
    #[ts(type = "number | null")]
    pub lag_bytes: Option<i64>,
    pub lag_seconds: Option<f64>,
    /// Why the server invalidated the slot, if it did (see [`invalidation`]).
    #[serde(default)]
    pub invalidated: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WalStatus {
    pub profile: String,
    pub archive_mode: String,
    pub archive_command: String,
    pub archiving_to_tideline: bool,
    pub archiver: Archiver,
    pub slots: Vec<SlotStatus>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WalTeardown {
    pub profile: String,
    pub archive_command_reset: bool,
    pub dropped_slots: Vec<String>,
    pub restart_needed: bool,
}

pub(crate) async fn archiver(client: &Client) -> Result<Archiver> {
    let r = client
        .query_one(
            "SELECT archived_count, last_archived_wal, to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                    failed_count, last_failed_wal, to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
             FROM pg_stat_archiver",
            &[],
        )
        .await
        .map_err(query_failed("reading pg_stat_archiver"))?;
    Ok(Archiver {
        archived_count: r.get(0),
        last_archived_wal: r.get(1),
        last_archived_time: r.get(2),
        failed_count: r.get(3),
        last_failed_wal: r.get(4),
        last_failed_time: r.get(5),
    })
}

/// Why the server invalidated `slot`, or None while it is usable (or absent). From 17 the
/// server says why (`idle_timeout` is 18's idle_replication_slot_timeout, which can fire while
/// Tideline is closed); before, a slot whose WAL max_slot_wal_keep_size let go is `lost`.
pub(crate) async fn invalidation(client: &Client, slot: &str, major: u32) -> Result<Option<String>> {
    let sql = if major >= 17 {
        "SELECT invalidation_reason::text FROM pg_replication_slots WHERE slot_name = $1 AND invalidation_reason IS NOT NULL"
    } else {
        "SELECT 'wal_removed'::text FROM pg_replication_slots WHERE slot_name = $1 AND wal_status = 'lost'"
    };
    Ok(client.query_opt(sql, &[&slot]).await.map_err(query_failed("reading replication slots"))?.map(|r| r.get(0)))
}

/// The profile's own slot (other profiles on the same cluster, and other installations, have
/// theirs: see `stream::slot_name`).
async fn slots(client: &Client, slot: &str, major: u32) -> Result<Vec<SlotStatus>> {
    let invalidated = invalidation(client, slot, major).await?;
    Ok(client
        .query(
            "SELECT s.slot_name::text, s.active,
                    CASE WHEN s.restart_lsn IS NULL THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint END,
                    -- A physical slot's restart_lsn follows the receiver's flush reports: the
                    -- same measure, for roles pg_stat_replication hides the positions from.
                    CASE WHEN r.flush_lsn IS NOT NULL THEN pg_wal_lsn_diff(pg_current_wal_lsn(), r.flush_lsn)::bigint
                         WHEN s.active AND s.restart_lsn IS NOT NULL THEN pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint
                    END,
                    extract(epoch FROM r.flush_lag)::float8
             FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
             WHERE s.slot_name = $1 ORDER BY 1",
            &[&slot],
        )
        .await
        .map_err(query_failed("reading replication slots"))?
        .iter()
        .map(|r| SlotStatus {
            name: r.get(0),
            active: r.get(1),
            retained_bytes: r.get(2),
            lag_bytes: r.get(3),
            lag_seconds: r.get(4),
            invalidated: invalidated.clone(),
        })
        .collect())
}

fn warnings(archiver: &Archiver, slots: &[SlotStatus], to_tideline: bool, mode: &str) -> Vec<String> {
    let mut out = Vec::new();
    let failing = archiver.failed_count > 0
        && match (&archiver.last_failed_time, &archiver.last_archived_time) {
            (Some(f), Some(a)) => f > a,
            (Some(_), None) => true,
            _ => false,
        };
    if failing {
        out.push(format!(
            "archiving is failing (last failure: {}); the server keeps every unarchived segment until it succeeds, which fills its disk",
            archiver.last_failed_wal.as_deref().unwrap_or("?")
        ));
    }
    if mode != "off" && !to_tideline {
        out.push("archive_mode is on but archive_command is not tideline wal-push".into());
    }
    for s in slots {
        if let Some(reason) = &s.invalidated {
            let why = match reason.as_str() {
                "idle_timeout" => "it was idle longer than idle_replication_slot_timeout".to_string(),
                "wal_removed" => "the server removed WAL it held (max_slot_wal_keep_size)".to_string(),
                other => other.to_string(),
            };
            out.push(format!(
                "the server invalidated slot {}: {why}; WAL written since it stopped may be missing from the repository. Start streaming again (`tideline wal stream`, or Start in the app) to make the slot anew, and check the recovery window for a gap",
                s.name
            ));
        }
        if let Some(bytes) = s.retained_bytes.filter(|b| *b > RETAINED_WARN_BYTES) {
            out.push(format!(
                "slot {} holds {} MB of WAL on the server{}",
                s.name,
                bytes / (1 << 20),
                if s.active {
                    ""
                } else {
                    " and nothing is streaming from it: start `tideline wal stream` or `wal teardown`"
                }
            ));
        }
    }
    out
}

impl Engine {
    pub async fn wal_status(&self, profile_name: &str) -> Result<WalStatus> {
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let client = crate::connect::connect(&profile.draft(), password.as_ref()).await?;
        let mode: String = client.query_one("SHOW archive_mode", &[]).await.map_err(query_failed("SHOW"))?.get(0);
        let command: String = client.query_one("SHOW archive_command", &[]).await.map_err(query_failed("SHOW"))?.get(0);
        let to_tideline = command.contains(" wal-push ");
        let archiver = archiver(&client).await?;
        let (_, major) = crate::pg::server::server_version(&client).await?;
        let slots = slots(&client, &super::stream::slot_name(&profile), major).await?;
        let warnings = warnings(&archiver, &slots, to_tideline, &mode);
        Ok(WalStatus {
            profile: profile.name,
            archive_mode: mode,
            archive_command: command,
            archiving_to_tideline: to_tideline,
            archiver,
            slots,
            warnings,
        })
    }

    /// Switches segments and waits for the archiver to report the one it closed: landed in
    /// `wal_dir` when archiving to a folder, or counted by the archiver (wal-push succeeds
    /// only once the bucket holds the file and its checksum) when archiving to a bucket.
    pub(crate) async fn test_archiving(&self, client: &Client, wal_dir: Option<&Path>) -> Result<ArchiveTest> {
        // Something must be written, or pg_switch_wal has nothing to switch away from.
        let segment: String = client
            .query_one("SELECT pg_walfile_name(pg_switch_wal()) FROM (SELECT txid_current()) x", &[])
            .await
            .map_err(query_failed("switching WAL segments"))?
            .get(0);
        let target = wal_dir.map(|dir| dir.join(format!("{segment}.zst")));
        let landed = || target.as_ref().map(|t| t.exists());
        let started = std::time::Instant::now();
        while landed() == Some(false) && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The file lands before archive_command returns (wal-push still summarises it):
        // report the archiver once it has counted this segment too.
        let mut state = archiver(client).await?;
        while landed() != Some(false)
            && state.last_archived_wal.as_deref() < Some(segment.as_str())
            && started.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
            state = archiver(client).await?;
        }
        let counted = state.last_archived_wal.as_deref() >= Some(segment.as_str());
        Ok(ArchiveTest {
            arrived: landed().unwrap_or(counted),
            waited_ms: started.elapsed().as_millis() as u64,
            segment,
            archiver: state,
        })
    }

    /// Undoes setup: archive_command no longer pushes to Tideline (and archive_mode goes off at
    /// the next restart), and Tideline's inactive slots are dropped.
    pub async fn wal_teardown(&self, profile_name: &str) -> Result<WalTeardown> {
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let client = crate::connect::connect(&profile.draft(), password.as_ref()).await?;
        let command: String = client.query_one("SHOW archive_command", &[]).await.map_err(query_failed("SHOW"))?.get(0);
        let mode: String = client.query_one("SHOW archive_mode", &[]).await.map_err(query_failed("SHOW"))?.get(0);
        let reset = command.contains(" wal-push ");
        if reset {
            // An empty archive_command with archive_mode on makes the server keep every
            // segment; until the restart that turns archive_mode off, segments are let go.
            // One statement each: a multi-statement batch is one transaction, and ALTER SYSTEM
            // refuses to run inside one.
            for sql in [
                "ALTER SYSTEM RESET archive_mode",
                "ALTER SYSTEM SET archive_command = 'true'",
                "SELECT pg_reload_conf()",
            ] {
                client.batch_execute(sql).await.map_err(query_failed("resetting archive_command"))?;
            }
            // A bucket's config holds its access key: gone with the command that read it.
            let sysid = crate::pg::server::system_identifier(&client).await?;
            let target = self.archive_target(&profile.id, &sysid)?;
            if let Some(config) = target.config().filter(|c| command.contains(&*c.to_string_lossy())) {
                if let Err(e) = std::fs::remove_file(config) {
                    tracing::warn!(config = %config.display(), error = %e, "removing the bucket's config");
                }
            }
        }
        let mut dropped = Vec::new();
        let (_, major) = crate::pg::server::server_version(&client).await?;
        for slot in slots(&client, &super::stream::slot_name(&profile), major).await?.into_iter().filter(|s| !s.active)
        {
            client
                .execute("SELECT pg_drop_replication_slot($1)", &[&slot.name])
                .await
                .map_err(query_failed("dropping a replication slot"))?;
            dropped.push(slot.name);
        }
        Ok(WalTeardown {
            profile: profile.name,
            archive_command_reset: reset,
            dropped_slots: dropped,
            restart_needed: reset && mode != "off",
        })
    }
}

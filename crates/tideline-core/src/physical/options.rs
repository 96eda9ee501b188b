//! What `tideline basebackup` can be asked for.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::repo::options::BaseFormat;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CheckpointMode {
    /// Start at once with an immediate checkpoint (I/O burst on the server).
    #[default]
    Fast,
    /// Wait for the next spread checkpoint (gentle, can take minutes).
    Spread,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BaseBackupOptions {
    pub format: BaseFormat,
    /// `[client-|server-]METHOD[:LEVEL]` or `none`; chosen by the binary's build when absent.
    pub compress: Option<String>,
    pub checkpoint: CheckpointMode,
    /// PG 17+: only what changed since the newest plain base backup of the cluster (its parent
    /// in the manifest); `pg_combinebackup` rebuilds a full one from the chain.
    #[serde(default)]
    pub incremental: bool,
    /// pg_basebackup's `--max-rate` (kB/s, or with a `k` or `M` suffix): a gentle copy that
    /// leaves the server's disk to its users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub max_rate: Option<String>,
}

/// Checks a `--max-rate` as pg_basebackup reads it: a number of kB/s, or with `k` or `M`, between
/// 32 kB/s and 1 GB/s.
pub fn check_max_rate(rate: &str) -> crate::error::Result<()> {
    let (digits, factor) = match rate.strip_suffix('M') {
        Some(d) => (d, 1024),
        None => (rate.strip_suffix('k').unwrap_or(rate), 1),
    };
    match digits.parse::<u64>() {
        Ok(n) if (32..=1024 * 1024).contains(&(n * factor)) => Ok(()),
        _ => Err(crate::error::Error::invalid_input(
            format!("'{rate}' is not a transfer rate pg_basebackup takes"),
            "Give kB/s as a number (e.g. 20000), or with k or M (e.g. 20M); from 32 kB/s to 1 GB/s.",
        )),
    }
}

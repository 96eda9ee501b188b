//! What `tideline basebackup` can be asked for.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BaseFormat {
    /// A copy of the data directory, file by file (what a restore lays down fastest).
    Plain,
    /// One tar per tablespace, compressible (the default: smallest, and one file to move).
    #[default]
    Tar,
}

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
}

//! Sandboxes: Tideline-managed local servers that a recovery lands in, so the user can look,
//! compare and copy tables back without touching anything live. Each lives in its own 0700
//! directory (a [`ManagedCluster`] laid down from a base backup) and is indexed in the catalog;
//! its state (running or not) is always read from the server, never remembered.

pub mod access;
pub mod compare;
pub mod copy_back;
pub mod lifecycle;
pub mod restored;
pub mod watch;

use crate::cluster::ManagedCluster;
use crate::error::{Error, ErrorCode, Result};
use crate::pitr::target::RecoveryTarget;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

/// The point a recovery actually stopped at, as the server and the WAL report it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Reached {
    /// The commit time of the last transaction replayed (RFC 3339).
    pub time: Option<String>,
    /// Where replay stopped (`redo done at`).
    pub lsn: Option<String>,
    /// The last transaction replayed.
    pub xid: Option<String>,
    /// The server's own words on why it stopped (`recovery stopping before commit of …`).
    pub stop: Option<String>,
    /// The new timeline the sandbox promoted onto.
    pub timeline: Option<u32>,
}

/// How a sandbox came to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SandboxKind {
    /// Point-in-time recovery from a base backup and WAL.
    #[default]
    Recovery,
    /// A new cluster a logical backup was restored into (`restore --sandbox`).
    Restore,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SandboxRecord {
    pub id: String,
    #[serde(default)]
    pub kind: SandboxKind,
    pub profile: String,
    pub system_identifier: String,
    pub root: String,
    pub major: u32,
    pub port: u16,
    /// The database the profile names, and the role it connects as: the sandbox has the
    /// source's roles and passwords as of the target.
    pub database: String,
    pub user: String,
    /// The base backup recovered from, and its incremental chain (full backup first); for a
    /// restore, the logical backup restored.
    pub backup_id: String,
    pub backup_chain: Vec<String>,
    pub target: RecoveryTarget,
    pub timeline: u32,
    pub reached: Reached,
    pub created_at: String,
    #[ts(type = "number")]
    pub laydown_ms: u64,
    #[ts(type = "number")]
    pub replay_ms: u64,
    /// Data page checksums read after the lay-down; absent where the cluster has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub page_checksums: Option<crate::physical::page_checksums::PageCheck>,
    /// While it is being made: the Tideline process making it (`pid:start-time`). Recorded
    /// before its server starts, so a Tideline killed meanwhile leaves a sandbox that is listed
    /// (as `unfinished`) and removed, never a hidden server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub creating: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SandboxStatus {
    Running,
    Stopped,
    /// Its directory is gone (removed by hand): only `remove` applies.
    Missing,
    /// Being made by a Tideline that is running.
    Creating,
    /// Its making was cut off (Tideline killed): only `remove` applies, and the next sandbox
    /// made removes it.
    Unfinished,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Sandbox {
    #[serde(flatten)]
    pub record: SandboxRecord,
    pub status: SandboxStatus,
    pub host: String,
    /// A libpq URL without the password (the profile's password works: same roles).
    pub url: String,
}

impl SandboxRecord {
    pub fn cluster(&self) -> Result<ManagedCluster> {
        ManagedCluster::open(&PathBuf::from(&self.root))
    }

    pub fn into_view(self) -> Sandbox {
        let cluster = self.cluster().ok();
        let status = match (&cluster, self.creating.as_deref()) {
            (_, Some(maker)) if crate::process::process_alive(maker) => SandboxStatus::Creating,
            (_, Some(_)) => SandboxStatus::Unfinished,
            (None, None) => SandboxStatus::Missing,
            (Some(c), None) if c.is_running() => SandboxStatus::Running,
            (Some(_), None) => SandboxStatus::Stopped,
        };
        let port = cluster.as_ref().map(|c| c.port).unwrap_or(self.port);
        let url = format!("postgresql://{}@127.0.0.1:{port}/{}", urlencoding(&self.user), urlencoding(&self.database));
        Sandbox { record: SandboxRecord { port, ..self }, status, host: "127.0.0.1".into(), url }
    }
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `sb-` and eight hex digits.
pub fn new_id() -> String {
    format!("sb-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

pub fn missing(id: &str) -> Error {
    Error::new(ErrorCode::SandboxMissing, format!("no sandbox {id}"), "`tideline sandbox list` shows the sandboxes.")
}

/// Where sandboxes live: `TIDELINE_SANDBOX_ROOT`, else `<data dir>/sandboxes`; as root (the
/// server must run as another user, who cannot enter root's private data directory)
/// `/var/lib/tideline/sandboxes`.
pub fn sandboxes_root(home: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("TIDELINE_SANDBOX_ROOT").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    if crate::cluster::running_as_root() {
        return PathBuf::from("/var/lib/tideline/sandboxes");
    }
    home.join("sandboxes")
}

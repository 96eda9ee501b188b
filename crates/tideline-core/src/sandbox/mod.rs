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

pub use crate::catalog::sandboxes::{Reached, Sandbox, SandboxKind, SandboxRecord, SandboxStatus};
pub use crate::cluster::runnable_cli::sandboxes_root;

use crate::cluster::ManagedCluster;
use crate::error::{Error, ErrorCode, Result};
use std::path::PathBuf;

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

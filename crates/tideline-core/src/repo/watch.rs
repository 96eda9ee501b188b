//! Changes in the repository as they land: a WAL segment archived or summarised, a backup
//! finished, one removed. wal-push runs in the server's process and pg_receivewal in its own,
//! so the files are what tell; the app refreshes its screens from these rather than asking
//! every few seconds.
//!
//! Only finished names count: a create, rename or removal of a name with no dot-prefixed
//! component (`.tmp-*` staging, `.deleting-*`, locks are Tideline's own work in progress), so a
//! dump writing for minutes makes no noise, and its rename into place makes one change.

use crate::error::{Error, Result};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use serde::Serialize;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use ts_rs::TS;

/// What changed, for what to reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum RepositoryChange {
    /// Archived WAL or its summaries (`clusters/*/wal/`): the window, the events, WAL status.
    Wal,
    /// A backup's directory came or went.
    Backups,
}

/// Changes a burst of file events makes one report of: a segment lands as its file and then
/// its summary, a moment apart.
const QUIET: Duration = Duration::from_millis(300);

/// A running watch; dropping it stops it.
pub struct RepositoryWatch {
    _watcher: RecommendedWatcher,
}

/// What a path below `root` is, if it is a finished name.
pub fn classify(root: &Path, path: &Path) -> Option<RepositoryChange> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    if parts.is_empty() || parts.iter().any(|p| p.starts_with('.')) {
        return None;
    }
    Some(match parts.as_slice() {
        ["clusters", _, "wal", ..] => RepositoryChange::Wal,
        _ => RepositoryChange::Backups,
    })
}

/// Watches `root` and everything below it; `on_change` runs on the watch's own thread, once
/// per burst and kind. `root` must exist.
pub fn watch(root: &Path, on_change: impl Fn(RepositoryChange) + Send + 'static) -> Result<RepositoryWatch> {
    let (tx, rx) = mpsc::channel::<RepositoryChange>();
    let base: PathBuf = root.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))
        ) {
            return;
        }
        for change in event.paths.iter().filter_map(|p| classify(&base, p)) {
            let _ = tx.send(change);
        }
    })
    .map_err(|e| Error::io(format!("watching {}", root.display()), std::io::Error::other(e)))?;
    watcher
        .watch(root, RecursiveMode::Recursive)
        .map_err(|e| Error::io(format!("watching {}", root.display()), std::io::Error::other(e)))?;
    std::thread::Builder::new()
        .name("repository-watch".into())
        .spawn(move || report_bursts(&rx, on_change))
        .map_err(|e| Error::io("starting the repository watch".to_string(), e))?;
    Ok(RepositoryWatch { _watcher: watcher })
}

/// Waits for a change, gathers what follows until a quiet moment, reports each kind once.
/// Ends when the watcher (the sender) is dropped.
fn report_bursts(rx: &mpsc::Receiver<RepositoryChange>, on_change: impl Fn(RepositoryChange)) {
    while let Ok(first) = rx.recv() {
        let mut kinds = vec![first];
        while let Ok(next) = rx.recv_timeout(QUIET) {
            if !kinds.contains(&next) {
                kinds.push(next);
            }
        }
        for kind in kinds {
            on_change(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_names_only() {
        let root = Path::new("/r");
        assert_eq!(
            classify(root, Path::new("/r/clusters/7/wal/000000010000000000000003.zst")),
            Some(RepositoryChange::Wal)
        );
        assert_eq!(
            classify(root, Path::new("/r/clusters/7/wal/000000010000000000000003.json")),
            Some(RepositoryChange::Wal)
        );
        assert_eq!(
            classify(root, Path::new("/r/clusters/7/base/20261207T010203Z-abcdef")),
            Some(RepositoryChange::Backups)
        );
        assert_eq!(
            classify(root, Path::new("/r/logical/p/db/20261207T010203Z-abcdef")),
            Some(RepositoryChange::Backups)
        );
        assert_eq!(classify(root, Path::new("/r/clusters/7/wal/.tmp-0000000100.123-4.abcd")), None);
        assert_eq!(classify(root, Path::new("/r/logical/p/db/.tmp-20261207T010203Z-abcdef/toc.dat")), None);
        assert_eq!(classify(root, Path::new("/elsewhere/x")), None);
        assert_eq!(classify(root, root), None);
    }

    #[test]
    fn a_burst_is_one_report_per_kind() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let _watch = watch(dir.path(), move |c| tx.send(c).unwrap()).unwrap();
        // Directories made before the watch reaches them (it adds each new one as it sees it)
        // are the repository's own affair here: made, then left to settle.
        let wal = dir.path().join("clusters/7/wal");
        std::fs::create_dir_all(&wal).unwrap();
        while rx.recv_timeout(Duration::from_secs(1)).is_ok() {}
        // A segment as wal-push stores it: a temporary name, renamed; then its summary.
        for name in ["000000010000000000000001.zst", "000000010000000000000001.json"] {
            std::fs::write(wal.join(format!(".tmp-{name}.1-2.x")), b"x").unwrap();
            std::fs::rename(wal.join(format!(".tmp-{name}.1-2.x")), wal.join(name)).unwrap();
        }
        let mut seen = vec![rx.recv_timeout(Duration::from_secs(5)).unwrap()];
        while let Ok(c) = rx.recv_timeout(Duration::from_secs(1)) {
            seen.push(c);
        }
        assert_eq!(seen, vec![RepositoryChange::Wal], "two files, one report");
        // A staging directory filling up says nothing.
        let staging = dir.path().join("logical/p/db/.tmp-b1");
        std::fs::create_dir_all(&staging).unwrap();
        while rx.recv_timeout(Duration::from_secs(1)).is_ok() {}
        for i in 0..20 {
            std::fs::write(staging.join(format!("{i}.dat")), b"rows").unwrap();
        }
        assert!(rx.recv_timeout(Duration::from_secs(1)).is_err());
        std::fs::rename(&staging, dir.path().join("logical/p/db/b1")).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), RepositoryChange::Backups);
    }
}

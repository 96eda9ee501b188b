//! The exact command that restarts a server on this machine, for settings that only take
//! effect then (wal_level, archive_mode): a Debian cluster by `pg_ctlcluster`, any other by
//! `pg_ctl` on its data directory, as the OS user that owns it.

use crate::cluster::os_user::{running_as_root, OsUser};
use crate::pg::table_names::shell_quote;
use std::path::Path;

/// Where Debian keeps its clusters: `<root>/<major>/<name>`, restarted by pg_ctlcluster.
const DEBIAN_CLUSTERS: &str = "/var/lib/postgresql";
const PG_CTLCLUSTER: &str = "/usr/bin/pg_ctlcluster";

/// None when the server is not on this machine (its owner unknown) or no pg_ctl is known.
pub fn restart_command(data_dir: &Path, owner: Option<&OsUser>, pg_ctl: Option<&Path>) -> Option<String> {
    let owner = owner?;
    if let Some((major, name)) = debian_cluster(data_dir) {
        if Path::new(PG_CTLCLUSTER).exists() {
            let root = if running_as_root() { "" } else { "sudo " };
            return Some(format!("{root}pg_ctlcluster {major} {} restart", shell_quote(&name)));
        }
    }
    let me = OsUser::current();
    let as_owner = if me.as_ref().map(|m| m.uid) == Some(owner.uid) {
        String::new()
    } else if running_as_root() {
        format!("runuser -u {} -- ", shell_quote(&owner.name))
    } else {
        format!("sudo -u {} ", shell_quote(&owner.name))
    };
    let pg_ctl = shell_quote(&pg_ctl?.to_string_lossy());
    Some(format!("{as_owner}{pg_ctl} restart -w -m fast -D {}", shell_quote(&data_dir.to_string_lossy())))
}

/// `(major, cluster name)` for a data directory in Debian's layout.
fn debian_cluster(data_dir: &Path) -> Option<(String, String)> {
    let rest = data_dir.strip_prefix(DEBIAN_CLUSTERS).ok()?;
    let parts: Vec<String> = rest.iter().map(|p| p.to_string_lossy().to_string()).collect();
    match parts.as_slice() {
        [major, name] if major.parse::<u32>().is_ok() => Some((major.clone(), name.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_clusters_are_told_by_their_place() {
        assert_eq!(
            debian_cluster(Path::new("/var/lib/postgresql/15/main")),
            Some(("15".to_string(), "main".to_string()))
        );
        assert_eq!(debian_cluster(Path::new("/var/lib/postgresql/15/main/base")), None);
        assert_eq!(debian_cluster(Path::new("/srv/pg/data")), None);
    }

    #[test]
    fn a_server_of_its_own_is_restarted_by_pg_ctl_as_its_owner() {
        let me = OsUser::current().unwrap();
        let own = restart_command(Path::new("/srv/my data"), Some(&me), Some(Path::new("/usr/lib/pg/bin/pg_ctl")));
        assert_eq!(own.as_deref(), Some("/usr/lib/pg/bin/pg_ctl restart -w -m fast -D '/srv/my data'"));
        let other = OsUser { name: "postgres".into(), uid: me.uid + 1, gid: 0 };
        let theirs = restart_command(Path::new("/srv/d"), Some(&other), Some(Path::new("/bin/pg_ctl"))).unwrap();
        let how = if running_as_root() { "runuser -u postgres -- " } else { "sudo -u postgres " };
        assert_eq!(theirs, format!("{how}/bin/pg_ctl restart -w -m fast -D /srv/d"));
        assert_eq!(restart_command(Path::new("/srv/d"), None, Some(Path::new("/bin/pg_ctl"))), None);
    }
}

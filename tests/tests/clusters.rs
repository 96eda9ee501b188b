//! Managed clusters: create, start on a free port, stop, restart, reopen, remove — per major,
//! owned by an unprivileged user when the tests run as root.

use crate::support::server;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use tideline_core::cluster::{running_as_root, ClusterSpec, ManagedCluster};

each_major!(fn lifecycle_on_every_major(major) {
    let parent = tempfile::tempdir().unwrap();
    crate::support::set_mode(parent.path(), 0o755);
    let root = parent.path().join("c");
    let spec = ClusterSpec {
        superuser: "postgres".into(),
        password: None,
        settings: vec![("fsync".into(), "off".into())],
        sandbox_rules: false,
        wal_segment_mb: None,
    };
    let mut c = ManagedCluster::create(&root, server(major), &spec).unwrap();
    let meta = std::fs::metadata(c.data_dir()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    if running_as_root() {
        assert_ne!(meta.uid(), 0, "postgres must not run as root");
    }
    assert!(!c.is_running());
    c.start().unwrap();
    assert!(c.is_running());
    assert!(c.socket_dir().join(format!(".s.PGSQL.{}", c.port)).exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", c.port)).is_ok());

    let reopened = ManagedCluster::open(&root).unwrap();
    assert_eq!(reopened.port, c.port);
    assert_eq!(reopened.major, major);
    reopened.stop().unwrap();
    assert!(!c.is_running());
    c.start().unwrap();
    assert!(c.is_running());

    // Refuses to initdb over something that exists.
    let again = ManagedCluster::create(&root, server(major), &spec).unwrap_err();
    assert_eq!(again.code, tideline_core::ErrorCode::ClusterFailed);

    c.remove().unwrap();
    assert!(!root.exists());
});

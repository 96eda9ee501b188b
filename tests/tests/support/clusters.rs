//! Servers for the tests: a fresh cluster per test on any major, a copy of one's data directory started elsewhere, and queries at a port.

use super::*;

/// A running cluster, removed when dropped.
pub struct TestCluster {
    pub cluster: Option<ManagedCluster>,
    pub password: Option<String>,
    _parent: tempfile::TempDir,
}

impl TestCluster {
    pub fn start(major: u32, password: Option<&str>) -> TestCluster {
        Self::start_with(major, password, vec![])
    }

    pub fn start_with(major: u32, password: Option<&str>, settings: Vec<(String, String)>) -> TestCluster {
        Self::start_prepared(major, password, settings, |_| {})
    }

    /// Like `start_with`, with `prepare` run on the data directory before the first start.
    pub fn start_prepared(
        major: u32,
        password: Option<&str>,
        settings: Vec<(String, String)>,
        prepare: impl FnOnce(&ManagedCluster),
    ) -> TestCluster {
        Self::start_under(&test_tmp(), major, password, settings, prepare)
    }

    /// A cluster whose WAL segments are `mb` MB (initdb --wal-segsize): many segment switches
    /// without writing gigabytes of WAL.
    pub fn start_with_wal_segments(major: u32, password: Option<&str>, mb: u32) -> TestCluster {
        Self::start_spec(&test_tmp(), major, password, vec![], Some(mb), |_| {})
    }

    /// A cluster whose files live under `dir` (e.g. a small file system).
    pub fn start_under(
        dir: &Path,
        major: u32,
        password: Option<&str>,
        settings: Vec<(String, String)>,
        prepare: impl FnOnce(&ManagedCluster),
    ) -> TestCluster {
        Self::start_spec(dir, major, password, settings, None, prepare)
    }

    fn start_spec(
        dir: &Path,
        major: u32,
        password: Option<&str>,
        settings: Vec<(String, String)>,
        wal_segment_mb: Option<u32>,
        prepare: impl FnOnce(&ManagedCluster),
    ) -> TestCluster {
        // The cluster's owner (an unprivileged user when we are root) must traverse the parent.
        let parent = tempfile::Builder::new().prefix("tideline-test-").tempdir_in(dir).expect("tempdir");
        set_mode(parent.path(), 0o755);
        let spec = ClusterSpec {
            superuser: "postgres".into(),
            password: password.map(Secret::new),
            settings,
            sandbox_rules: false,
            wal_segment_mb,
        };
        let mut cluster = ManagedCluster::create(&parent.path().join("cluster"), server(major), &spec)
            .unwrap_or_else(|e| panic!("creating a PostgreSQL {major} cluster: {} ({})", e.message, e.hint));
        let mut guard = TestCluster { cluster: None, password: password.map(str::to_string), _parent: parent };
        prepare(&cluster);
        cluster.start().unwrap_or_else(|e| panic!("starting PostgreSQL {major}: {}", e.message));
        guard.cluster = Some(cluster);
        record_major(major);
        guard
    }

    pub fn get(&self) -> &ManagedCluster {
        self.cluster.as_ref().unwrap()
    }

    pub fn port(&self) -> u16 {
        self.get().port
    }

    /// Starts the (stopped) server again on its port, so profiles pointing at it still work.
    pub fn restart(&mut self) {
        let cluster = self.cluster.as_mut().unwrap();
        let port = cluster.port;
        cluster.start_on(Some(port)).unwrap_or_else(|e| panic!("restarting: {} {}", e.message, e.hint));
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}?sslmode=disable", self.port())
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.take() {
            if let Err(e) = c.remove() {
                eprintln!("warning: removing a test cluster failed: {}", e.message);
            }
        }
    }
}

/// A copy of a backup's data directory running as a new managed cluster; stopped and removed
/// on drop, even when an assertion fails.
pub struct CopyCluster {
    pub cluster: ManagedCluster,
    pub password: Option<String>,
    _parent: tempfile::TempDir,
}

impl Drop for CopyCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

impl CopyCluster {
    /// Lays `src` (a plain backup's data directory) down as a new cluster's data directory,
    /// keeping the new cluster's own settings file (socket directory, port; the copy's is the
    /// source's) plus `settings`; `recover` writes recovery.signal. Then starts it.
    pub fn start(
        major: u32,
        password: Option<&str>,
        src: &Path,
        settings: Vec<(String, String)>,
        recover: bool,
    ) -> Self {
        let parent = tempfile::Builder::new().prefix("tideline-copy-").tempdir_in(test_tmp()).expect("tempdir");
        set_mode(parent.path(), 0o755);
        let spec = ClusterSpec {
            superuser: "postgres".into(),
            password: password.map(Secret::new),
            settings,
            sandbox_rules: false,
            wal_segment_mb: None,
        };
        let mut cluster = ManagedCluster::create(&parent.path().join("c"), server(major), &spec).unwrap();
        let data = cluster.data_dir();
        let ours = std::fs::read_to_string(data.join("tideline.conf")).unwrap();
        std::fs::remove_dir_all(&data).unwrap();
        assert!(Command::new("cp").arg("-a").arg(src).arg(&data).status().unwrap().success());
        std::fs::write(data.join("tideline.conf"), ours).unwrap();
        if recover {
            std::fs::write(data.join("recovery.signal"), "").unwrap();
        }
        set_mode(&data, 0o700);
        if let Some(owner) = tideline_core::cluster::cluster_owner().unwrap() {
            let who = format!("{}:", owner.name);
            assert!(Command::new("chown").args(["-R", &who]).arg(&data).status().unwrap().success());
        }
        cluster.start().unwrap_or_else(|e| panic!("PostgreSQL {major}: the copy did not start: {}", e.message));
        CopyCluster { cluster, password: password.map(str::to_string), _parent: parent }
    }

    /// One value from `sql` (psql -At) in database postgres.
    pub fn query(&self, sql: &str) -> String {
        let draft = self.cluster.tcp_draft("copy", "postgres", "postgres");
        let pw = self.password.as_deref().map(Secret::new);
        let psql = client(self.cluster.major, "psql").path("psql");
        let mut cc = tideline_core::libpq_env::client_command(&psql, &draft, pw.as_ref()).unwrap();
        let out = cc.command.args(["-X", "-At", "-c", sql]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until recovery has ended and the copy accepts writes.
    pub fn wait_promoted(&self) {
        let start = std::time::Instant::now();
        while self.query("SELECT pg_is_in_recovery()") != "f" {
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "recovery did not end");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// One value from `sql` (psql -At) in database postgres of the server on 127.0.0.1:`port`,
/// as role postgres with `password` (a sandbox has the source's roles).
pub fn query_at(major: u32, port: u16, password: &str, sql: &str) -> String {
    query_at_db(major, port, password, "postgres", sql)
}

/// [`query_at`] in another database.
pub fn query_at_db(major: u32, port: u16, password: &str, database: &str, sql: &str) -> String {
    let draft = ProfileDraft {
        host: "127.0.0.1".into(),
        port,
        database: database.into(),
        user: "postgres".into(),
        sslmode: tideline_core::profile::SslMode::Disable,
        ..Default::default()
    };
    let psql = client(major, "psql").path("psql");
    let mut cc = tideline_core::libpq_env::client_command(&psql, &draft, Some(&Secret::new(password))).unwrap();
    let out = cc.command.args(["-X", "-At", "-c", sql]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

//! WAL sources: a cluster archiving into a repository, and a running `tideline wal stream`.

use super::*;

/// A cluster archiving with `tideline wal-push` (a copy its OS user can run) into a repository
/// in a world-traversable work directory, as `wal setup` would leave it.
pub struct ArchivingSource {
    pub pg: TestCluster,
    pub repo: PathBuf,
    pub sysid: String,
    /// `<repo>/clusters/<sysid>/wal`.
    pub wal: PathBuf,
    pub work: tempfile::TempDir,
    _bin_dir: tempfile::TempDir,
}

impl ArchivingSource {
    pub fn start(major: u32, password: Option<&str>, extra: Vec<(String, String)>) -> ArchivingSource {
        let work = tempfile::Builder::new().prefix("tideline-archiving-").tempdir().unwrap();
        set_mode(work.path(), 0o755);
        let (bin_dir, bin) = installed_tideline("tideline-bin-");
        let repo = work.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        if let Some(owner) = tideline_core::cluster::cluster_owner().unwrap() {
            std::os::unix::fs::chown(&repo, Some(owner.uid), Some(owner.gid)).unwrap();
        }
        let mut settings = vec![
            ("wal_level".to_string(), "replica".to_string()),
            ("archive_mode".into(), "on".into()),
            ("archive_command".into(), format!("'{} wal-push --repo {} %p'", bin.display(), repo.display())),
        ];
        settings.extend(extra);
        let pg = TestCluster::start_with(major, password, settings);
        let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
        let wal = repo.join("clusters").join(&sysid).join("wal");
        ArchivingSource { pg, repo, sysid, wal, work, _bin_dir: bin_dir }
    }

    /// Switches to a new segment and waits until the one switched from is archived and
    /// summarised.
    pub fn switch_and_wait(&self) -> String {
        // Something is written first: with nothing since the last switch, pg_switch_wal() does
        // nothing and names a segment that is never completed.
        let sql = "SELECT pg_walfile_name(pg_switch_wal()) FROM (SELECT pg_logical_emit_message(false, 'tideline-test', 'switch')) m";
        let segment = psql(&self.pg, "postgres", sql);
        let archived = || self.wal.join(format!("{segment}.zst")).exists();
        let start = std::time::Instant::now();
        while !archived() {
            if start.elapsed() > std::time::Duration::from_secs(60) {
                // The server's log says why archive_command failed.
                panic!("timed out waiting for {segment} to be archived; server.log:\n{}", self.pg.get().log_tail(30));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // wal-push stores the segment, then its summary (what events and the window read):
        // wait for that too, briefly — a test that breaks summaries on purpose goes on.
        let summarised = || self.wal.join(format!("{segment}.json")).exists();
        let archived_at = std::time::Instant::now();
        while !summarised() && archived_at.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        segment
    }
}

/// `tideline wal stream PROFILE --json` in the background (stdout piped for its summary),
/// returned once the profile's slot is active on `pg`.
pub fn start_stream(home: &Home, pg: &TestCluster, profile: &str) -> std::process::Child {
    let stream = home.spawn(&["wal", "stream", profile]);
    // tideline_<name as a slot name holds it>_<8 hex digits>, as a LIKE pattern.
    let clean: String =
        profile.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let pattern = format!("tideline_{clean}_").replace('_', "\\_") + "%";
    // Active alone is not enough: the backend creating the slot holds it active for a moment,
    // before pg_receivewal has even started. A walsender streaming on it is.
    wait_for("pg_receivewal streaming on the stream's slot", || {
        psql(
            pg,
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid
                  WHERE s.slot_name LIKE '{pattern}' AND r.state = 'streaming'"
            ),
        ) == "1"
    });
    stream
}

/// The numbers of the whole segments in a cluster's WAL archive (`<repo>/clusters/<id>/wal`),
/// in order.
pub fn stored_segments(wal: &Path, segment_bytes: u64) -> Vec<u64> {
    let mut numbers: Vec<u64> = std::fs::read_dir(wal)
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.strip_suffix(".zst"))
        .filter(|n| n.len() == 24)
        .map(|n| tideline_core::wal::file_names::segment(n, segment_bytes).unwrap().number)
        .collect();
    numbers.sort();
    numbers
}

/// Waits until the stored `.partial` at `partial` holds `marker` (a commit streamed into it).
pub fn wait_for_in_partial(partial: &Path, marker: &str) {
    wait_for("the partial to hold the commit", || {
        tideline_core::wal::archive::read_compressed(partial)
            .map(|b| b.windows(marker.len()).any(|w| w == marker.as_bytes()))
            .unwrap_or(false)
    });
}

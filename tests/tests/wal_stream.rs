//! `tideline wal stream` on every major: pg_receivewal on Tideline's slot (started again when it
//! dies), finished segments in the repository, and a commit made after the last full segment
//! kept in the `.partial` — and used at restore: a base backup recovered with wal-fetch has it.

use crate::support::{majors, password, psql, wait_for, CopyCluster, Home, TestCluster};

each_major!(fn streamed_wal_keeps_the_newest_commit_in_the_partial_and_restores_it(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let base = home.cli(&["basebackup", "p", "--format", "plain"], None).ok().clone();
    let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
    let wal = home.path().join("repo/clusters").join(&sysid).join("wal");

    let mut stream = crate::support::start_stream(&home, &pg, "p");
    // pg_receivewal dies: the supervisor starts it again on the same slot.
    let receiver = crate::support::wait_child(stream.id(), &["/pg_receivewal\0"]);
    unsafe { libc::kill(receiver as i32, libc::SIGKILL) };
    wait_for("pg_receivewal to be started again", || {
        crate::support::child_with_args(stream.id(), &["/pg_receivewal\0"]).is_some_and(|pid| pid != receiver)
    });
    wait_for("the slot to be active again", || {
        psql(
            &pg,
            "postgres",
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'tideline\\_p\\_%' AND active",
        ) == "1"
    });
    psql(&pg, "postgres", "CREATE TABLE t (note text); INSERT INTO t VALUES ('before the switch')");
    let full = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    wait_for("the finished segment", || wal.join(format!("{full}.zst")).exists());
    // After the last full segment: only the .partial holds it.
    let marker = format!("streamed-{}", crate::support::uuid_like());
    psql(&pg, "postgres", &format!("INSERT INTO t VALUES ('{marker}')"));
    let current = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    let partial = wal.join(format!("{current}.partial.zst"));
    crate::support::wait_for_in_partial(&partial, &marker);
    let retained = home.cli(&["wal", "status", "p"], None).ok().clone();
    let slot = retained["slots"][0]["name"].as_str().unwrap().to_string();
    assert!(slot.starts_with("tideline_p_") && slot.len() == "tideline_p_".len() + 8, "{slot}");
    assert_eq!(retained["slots"][0]["active"], true);
    // The receiver reports what it flushed (every few seconds): the streaming lag.
    wait_for("the streaming lag", || {
        let s = home.cli(&["wal", "status", "p"], None).ok().clone();
        s["slots"][0]["lag_bytes"].as_i64().is_some_and(|b| b >= 0)
    });

    unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
    let status = stream.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(stream.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{out}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["partial"], format!("{current}.partial"), "{summary}");
    assert_eq!(summary["restarts"], 1, "{summary}");

    // Restore the base backup with wal-fetch: the partial's commit comes back. wal-fetch
    // runs as the server's OS user: give it the binary and read access to the repository.
    let (_bin_dir, bin) = crate::support::installed_tideline("tideline-bin-");
    crate::support::set_mode(home.path(), 0o755);
    assert!(std::process::Command::new("chmod")
        .args(["-R", "o+rX"])
        .arg(home.path().join("repo"))
        .status()
        .unwrap()
        .success());
    let fetch = format!("'{} wal-fetch --repo {} %f %p'", bin.display(), home.path().join("repo").display());
    let src = std::path::Path::new(base["path"].as_str().unwrap()).join("data");
    let copy = CopyCluster::start(major, Some(&pw), &src, vec![("restore_command".into(), fetch)], true);
    copy.wait_promoted();
    assert_eq!(copy.query(&format!("SELECT count(*) FROM t WHERE note = '{marker}'")), "1", "PostgreSQL {major}");
    drop(copy);
    // Teardown drops the (now inactive) slot.
    let t = home.cli(&["wal", "teardown", "p"], None).ok().clone();
    assert_eq!(t["dropped_slots"][0], slot.as_str());
});

// pg_receivewal renames each `.partial` when its segment completes, at any moment: hundreds of
// switches with writes between them while the supervisor sweeps, and pg_receivewal killed
// half-way, must leave every segment in the repository, no gap, and the stream still running.
each_major!(fn streaming_survives_hundreds_of_segment_switches_and_a_killed_receiver(major) {
    const SWITCHES: u32 = 200;
    // 1 MB segments: the switches are the point, not gigabytes of zeros (and a segment size
    // other than 16 MB is one users choose).
    let streamed = Streamed::with_wal_segments(major, 1);
    let (pg, home, wal) = (&streamed.pg, &streamed.home, &streamed.wal);
    let mut stream = crate::support::start_stream(home, pg, "p");
    let first = psql(pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    home.cli(&["basebackup", "p", "--format", "tar"], None).ok();
    psql(pg, "postgres", "CREATE TABLE t (n int, note text)");
    let switches = |from: u32, to: u32| {
        psql(
            pg,
            "postgres",
            &format!(
                "DO $$ BEGIN FOR i IN {from}..{to} LOOP
                   INSERT INTO t SELECT i, repeat('x', 100) FROM generate_series(1, 50);
                   COMMIT;
                   PERFORM pg_switch_wal();
                   PERFORM pg_sleep(0.02);
                 END LOOP; END $$"
            ),
        )
    };
    switches(1, SWITCHES / 2);
    let receiver = crate::support::wait_child(stream.id(), &["/pg_receivewal\0"]);
    // Killed while it writes, or while it pads the next .partial with zeros.
    unsafe { libc::kill(receiver as i32, libc::SIGKILL) };
    switches(SWITCHES / 2 + 1, SWITCHES);
    // A write first, so that the switch completes a segment (with nothing written since the
    // loop's own switch it would not, and the current segment is not finished).
    psql(pg, "postgres", "INSERT INTO t VALUES (0, 'last')");
    let last = psql(pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");

    let segments = 1u64 << 20;
    let number = |name: &str| tideline_core::wal::file_names::segment(name, segments).unwrap().number;
    let wanted: Vec<u64> = (number(&first)..=number(&last)).collect();
    let missing = || -> Vec<u64> {
        let held = crate::support::stored_segments(wal, segments);
        wanted.iter().copied().filter(|n| !held.contains(n)).collect()
    };
    let receiver_log = || {
        let log =
            std::fs::read_to_string(wal.with_file_name("stream").join("pg_receivewal.log")).unwrap_or_default();
        log.lines().rev().take(15).collect::<Vec<_>>().join("\n")
    };
    let start = std::time::Instant::now();
    while !missing().is_empty() {
        assert!(
            stream.try_wait().unwrap().is_none(),
            "PostgreSQL {major}: the stream ended; missing segments {:?}",
            missing()
        );
        assert!(
            start.elapsed().as_secs() < 180,
            "PostgreSQL {major}: still missing {:?}; pg_receivewal's log, newest first:\n{}",
            missing(),
            receiver_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(wanted.len() > SWITCHES as usize, "PostgreSQL {major}: {} segments", wanted.len());
    assert!(stream.try_wait().unwrap().is_none(), "PostgreSQL {major}: the stream ended");

    unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
    let status = stream.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(stream.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "PostgreSQL {major}: {out}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    // pg_receivewal may be refused once or twice while the server still sees the killed one.
    assert!(summary["restarts"].as_u64().unwrap() >= 1, "{summary}");
    // What the catalog's index makes of it: one window, no gap.
    home.cli(&["wal", "index", "p"], None).ok();
    let timeline = home.cli(&["timeline", "p"], None).ok().clone();
    let window = &timeline["window"];
    assert_eq!(window["gaps"].as_array().map(Vec::len), Some(0), "PostgreSQL {major}: {window}");
    assert_eq!(window["timelines"].as_array().map(Vec::len), Some(1), "PostgreSQL {major}: {window}");
    home.cli(&["wal", "teardown", "p"], None).ok();
});

/// Two profiles on one cluster, and a slot of another installation: teardown drops only the
/// profile's own slot; `wal status` shows only it.
#[test]
fn teardown_drops_only_the_profiles_own_slot() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    for name in ["a", "A."] {
        home.cli(&["profile", "add", name, "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    }
    // What another machine's Tideline would have made for a profile called "a".
    psql(&pg, "postgres", "SELECT pg_create_physical_replication_slot('tideline_a', true)");
    let mut slots = Vec::new();
    for name in ["a", "A."] {
        let before = psql(&pg, "postgres", "SELECT count(*) FROM pg_replication_slots");
        let mut stream = crate::support::start_stream(&home, &pg, name);
        unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
        assert!(stream.wait().unwrap().success());
        assert_eq!(
            psql(&pg, "postgres", "SELECT count(*) FROM pg_replication_slots").parse::<u32>().unwrap(),
            before.parse::<u32>().unwrap() + 1,
            "each profile has a slot of its own"
        );
        let status = home.cli(&["wal", "status", name], None).ok().clone();
        let listed = status["slots"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{status}");
        slots.push(listed[0]["name"].as_str().unwrap().to_string());
    }
    assert_ne!(slots[0], slots[1]);
    let t = home.cli(&["wal", "teardown", "a"], None).ok().clone();
    assert_eq!(t["dropped_slots"], serde_json::json!([slots[0]]));
    let left = psql(&pg, "postgres", "SELECT string_agg(slot_name, ',') FROM pg_replication_slots");
    let mut left: Vec<&str> = left.split(',').collect();
    left.sort();
    let mut wanted = vec![slots[1].as_str(), "tideline_a"];
    wanted.sort();
    assert_eq!(left, wanted, "the other profile's and the other machine's stay");
}

// A slot the server invalidates while Tideline is closed — 18's idle_replication_slot_timeout;
// max_slot_wal_keep_size on every major — is reported by `wal status` with what it means, and
// the next stream makes the slot anew and says so.
each_major!(fn an_invalidated_slot_is_reported_and_made_anew(major) {
    let pw = password();
    let setting = if major >= 18 {
        ("idle_replication_slot_timeout".to_string(), "'1s'".to_string())
    } else {
        ("max_slot_wal_keep_size".to_string(), "'1MB'".to_string())
    };
    let pg = TestCluster::start_with(major, Some(&pw), vec![setting]);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let mut stream = crate::support::start_stream(&home, &pg, "p");
    unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
    assert!(stream.wait().unwrap().success());

    // Nothing streams: the slot goes idle, or the server moves past the WAL it holds.
    std::thread::sleep(std::time::Duration::from_secs(2));
    for _ in 0..3 {
        psql(&pg, "postgres", "CREATE TABLE IF NOT EXISTS filler (x text); INSERT INTO filler SELECT repeat('x', 500) FROM generate_series(1, 2000); SELECT pg_switch_wal();");
    }
    let reason = if major >= 18 { "idle_timeout" } else { "wal_removed" };
    wait_for("the server to invalidate the slot", || {
        psql(&pg, "postgres", "CHECKPOINT");
        home.cli(&["wal", "status", "p"], None).ok()["slots"][0]["invalidated"] == reason
    });
    let status = home.cli(&["wal", "status", "p"], None).ok().clone();
    let warnings = status["warnings"].to_string();
    assert!(warnings.contains("invalidated slot") && warnings.contains("may be missing"), "PostgreSQL {major}: {status}");

    let mut stream = crate::support::start_stream(&home, &pg, "p");
    unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
    let status = stream.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(stream.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{out}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["slot_recreated"], reason, "PostgreSQL {major}: {summary}");
    assert_eq!(home.cli(&["wal", "status", "p"], None).ok()["slots"][0]["invalidated"], serde_json::Value::Null);
});

/// A cluster with profile `p` whose WAL is streamed, and what the cases do to the stream.
struct Streamed {
    pg: TestCluster,
    home: Home,
    /// `<repo>/clusters/<id>/wal`.
    wal: std::path::PathBuf,
}

const SEGMENT: u64 = 16 << 20;

impl Streamed {
    fn new(major: u32) -> Streamed {
        let pw = password();
        Self::on(TestCluster::start(major, Some(&pw)), &pw)
    }

    /// On a cluster whose WAL segments are `mb` MB.
    fn with_wal_segments(major: u32, mb: u32) -> Streamed {
        let pw = password();
        Self::on(TestCluster::start_with_wal_segments(major, Some(&pw), mb), &pw)
    }

    fn on(pg: TestCluster, pw: &str) -> Streamed {
        let home = Home::new();
        home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(pw)).ok();
        let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
        let wal = home.path().join("repo/clusters").join(&sysid).join("wal");
        Streamed { pg, home, wal }
    }

    fn write(&self) {
        psql(&self.pg, "postgres", "CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t VALUES (1)");
    }

    fn number(name: &str) -> u64 {
        tideline_core::wal::file_names::segment(name, SEGMENT).unwrap().number
    }

    /// The segment being written now, after some WAL: right after a switch the position sits
    /// on a segment boundary, which pg_walfile_name names as the segment before.
    fn current(&self) -> u64 {
        self.write();
        Self::number(&psql(&self.pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())"))
    }

    /// Writes, switches, and returns the segment the switch finished.
    fn switch(&self) -> u64 {
        self.write();
        Self::number(&psql(&self.pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())"))
    }

    fn stored(&self) -> Vec<u64> {
        crate::support::stored_segments(&self.wal, SEGMENT)
    }

    fn start(&self) -> std::process::Child {
        crate::support::start_stream(&self.home, &self.pg, "p")
    }

    fn stop(mut stream: std::process::Child) {
        unsafe { libc::kill(stream.id() as i32, libc::SIGINT) };
        assert!(stream.wait().unwrap().success());
    }

    /// What pg_receivewal was writing is gone, as if it had stopped between two segments.
    fn remove_partials(&self) {
        for e in std::fs::read_dir(self.wal.with_file_name("stream")).unwrap().flatten() {
            if e.file_name().to_string_lossy().ends_with(".partial") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
    }

    /// Fails naming the segments from `first` to `last` the repository lacks.
    fn assert_all_stored(&self, major: u32, first: u64, last: u64) {
        let held = self.stored();
        let missing: Vec<u64> = (first..=last).filter(|n| !held.contains(n)).collect();
        let log = std::fs::read_to_string(self.wal.with_file_name("stream").join("pg_receivewal.log"));
        assert!(
            missing.is_empty(),
            "PostgreSQL {major}: segments {missing:?} missing (first {first}, last {last}, held {held:?})\n{}",
            log.unwrap_or_default()
        );
    }
}

// Stopped where pg_receivewal had finished a segment and not yet opened the next, the stream
// directory is empty. On the next start, a 15+ server tells pg_receivewal where the slot
// stands; a 13 or 14 server cannot, and pg_receivewal began at the server's current position —
// a silent gap in the repository. Every major must resume after the newest stored segment.
each_major!(fn a_restart_on_an_empty_stream_directory_leaves_no_gap(major) {
    let r = Streamed::new(major);
    let stream = r.start();
    let first = r.current();
    let mut last = 0;
    for _ in 0..3 {
        last = r.switch();
    }
    wait_for("the first segments in the repository", || r.stored().last() >= Some(&last));
    Streamed::stop(stream);
    r.remove_partials();
    // The server moves on while nothing streams (the slot keeps its WAL).
    for _ in 0..3 {
        r.switch();
    }
    let stream = r.start();
    last = r.switch();
    wait_for("the segments written while stopped", || r.stored().last() >= Some(&last));
    Streamed::stop(stream);
    r.assert_all_stored(major, first, last);
});

// A stream stopped before it finished its first segment has stored no segment; with its
// `.partial` gone, a 13 or 14 server's pg_receivewal began at the server's current position,
// past what the slot had held for it since it was made. It begins where the slot stands.
each_major!(fn a_first_start_that_stored_nothing_begins_where_the_slot_stands(major) {
    let r = Streamed::new(major);
    let stream = r.start();
    let first = r.current();
    Streamed::stop(stream);
    assert_eq!(r.stored(), Vec::<u64>::new());
    r.remove_partials();
    for _ in 0..3 {
        r.switch();
    }
    let stream = r.start();
    let last = r.switch();
    wait_for("the segments written while stopped", || r.stored().last() >= Some(&last));
    Streamed::stop(stream);
    r.assert_all_stored(major, first, last);
});

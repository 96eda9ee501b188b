//! `tideline wal stream` on every major: pg_receivewal on Tideline's slot (started again when it
//! dies), finished segments in the repository, and a commit made after the last full segment
//! kept in the `.partial` — and used at restore: a base backup recovered with wal-fetch has it.

mod support;

use support::{majors, password, psql, wait_for, CopyCluster, Home, TestCluster};

#[test]
fn streamed_wal_keeps_the_newest_commit_in_the_partial_and_restores_it() {
    for major in majors() {
        let pw = password();
        let pg = TestCluster::start(major, Some(&pw));
        let home = Home::new();
        home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
        let base = home.cli(&["basebackup", "p", "--format", "plain"], None).ok().clone();
        let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
        let wal = home.path().join("repo/clusters").join(&sysid).join("wal");

        let mut stream = std::process::Command::new(support::tideline_bin())
            .env("TIDELINE_HOME", home.path())
            .args(["wal", "stream", "p", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("the slot to be active", || {
            psql(&pg, "postgres", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tideline_p' AND active")
                == "1"
        });
        // pg_receivewal dies: the supervisor starts it again on the same slot.
        let receiver = support::child_with_args(stream.id(), &["/pg_receivewal\0"]).expect("pg_receivewal runs");
        unsafe { libc::kill(receiver as i32, libc::SIGKILL) };
        wait_for("pg_receivewal to be started again", || {
            support::child_with_args(stream.id(), &["/pg_receivewal\0"]).is_some_and(|pid| pid != receiver)
        });
        wait_for("the slot to be active again", || {
            psql(&pg, "postgres", "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tideline_p' AND active")
                == "1"
        });
        psql(&pg, "postgres", "CREATE TABLE t (note text); INSERT INTO t VALUES ('before the switch')");
        let full = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        wait_for("the finished segment", || wal.join(format!("{full}.zst")).exists());
        // After the last full segment: only the .partial holds it.
        let marker = format!("streamed-{}", support::uuid_like());
        psql(&pg, "postgres", &format!("INSERT INTO t VALUES ('{marker}')"));
        let current = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
        let partial = wal.join(format!("{current}.partial.zst"));
        wait_for("the partial to hold the commit", || {
            tideline_core::wal::archive::read_compressed(&partial)
                .map(|b| b.windows(marker.len()).any(|w| w == marker.as_bytes()))
                .unwrap_or(false)
        });
        let retained = home.cli(&["wal", "status", "p"], None).ok().clone();
        assert_eq!(retained["slots"][0]["name"], "tideline_p");
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
        let (_bin_dir, bin) = support::installed_tideline("tideline-bin-");
        support::set_mode(home.path(), 0o755);
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
        assert_eq!(t["dropped_slots"][0], "tideline_p");
    }
}

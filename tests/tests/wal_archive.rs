//! Archive mode end to end on every major: `tideline wal-push` as archive_command, run by the
//! server as its own OS user; segments, `.backup` and `.history` files land in the repository;
//! a base backup restores with the brief's plain `zstd -dc` restore_command (PostgreSQL alone)
//! and with `tideline wal-fetch`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{client, majors, psql, set_mode, wait_for, CopyCluster, TestCluster};
use tideline_core::cluster::cluster_owner;

fn give_to_cluster_owner(path: &Path) {
    if let Some(owner) = cluster_owner().unwrap() {
        let status = Command::new("chown").arg("-R").arg(format!("{}:", owner.name)).arg(path).status().unwrap();
        assert!(status.success());
    }
}

fn wal_dir(repo: &Path, sysid: &str) -> PathBuf {
    repo.join("clusters").join(sysid).join("wal")
}

fn archived(repo: &Path, sysid: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(wal_dir(repo, sysid))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

each_major!(fn archive_command_files_land_and_restore_with_postgres_alone_and_with_wal_fetch(major) {
    let work = tempfile::Builder::new().prefix("tideline-wal-").tempdir().unwrap();
    set_mode(work.path(), 0o755);
    let (_bin_dir, bin) = crate::support::installed_tideline("tideline-bin-");
    let (repo, repo2) = (work.path().join("repo"), work.path().join("repo2"));
    for dir in [&repo, &repo2] {
        std::fs::create_dir(dir).unwrap();
        give_to_cluster_owner(dir);
    }
    let push = |repo: &Path| format!("'{} wal-push --repo {} %p'", bin.display(), repo.display());
    let source = TestCluster::start_with(
        major,
        None,
        vec![
            ("wal_level".into(), "replica".into()),
            ("archive_mode".into(), "on".into()),
            ("archive_command".into(), push(&repo)),
        ],
    );
    let sysid = psql(&source, "postgres", "SELECT system_identifier FROM pg_control_system()");
    psql(&source, "postgres", "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)");

    // A base backup that takes its WAL from the archive (-X none), as archive mode means.
    let base = work.path().join("base");
    let out = Command::new(client(major, "pg_basebackup").path("pg_basebackup"))
        .args(["-h", "127.0.0.1", "-U", "postgres", "-X", "none", "-c", "fast", "-p"])
        .arg(source.port().to_string())
        .arg("-D")
        .arg(&base)
        .env("PGPASSFILE", "/nonexistent")
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_basebackup: {}", String::from_utf8_lossy(&out.stderr));
    psql(&source, "postgres", "INSERT INTO t SELECT generate_series(101, 150)");
    let last = psql(&source, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    // wal-push stores the segment, then its summary: only then has it nothing in flight.
    wait_for("the last segment to be archived and summarised", || {
        let names = archived(&repo, &sysid);
        names.contains(&format!("{last}.zst")) && names.contains(&format!("{last}.json"))
    });
    let names = archived(&repo, &sysid);
    assert!(names.iter().any(|n| n.ends_with(".backup.zst")), "no .backup file in {names:?}");
    assert!(names.iter().all(|n| !n.starts_with(".tmp-")), "{names:?}");
    let stats = psql(&source, "postgres", "SELECT archived_count > 0, failed_count FROM pg_stat_archiver");
    assert_eq!(stats, "t|0", "PostgreSQL {major}: pg_stat_archiver");

    // PostgreSQL alone: the brief's restore_command, no Tideline involved.
    let plain = format!("'zstd -dc {}/%f.zst > %p'", wal_dir(&repo, &sysid).display());
    let r1 = CopyCluster::start(
        major,
        None,
        &base,
        vec![("restore_command".into(), plain), ("archive_mode".into(), "off".into())],
        true,
    );
    r1.wait_promoted();
    assert_eq!(r1.query("SELECT count(*) FROM t"), "150", "PostgreSQL {major}: zstd -dc restore");
    drop(r1);

    // wal-fetch as restore_command; the promoted copy archives into its own repository,
    // never the source's, and its timeline history file lands there.
    let fetch = format!("'{} wal-fetch --repo {} %f %p'", bin.display(), repo.display());
    let r2 = CopyCluster::start(
        major,
        None,
        &base,
        vec![
            ("restore_command".into(), fetch),
            ("archive_mode".into(), "on".into()),
            ("archive_command".into(), push(&repo2)),
        ],
        true,
    );
    r2.wait_promoted();
    assert_eq!(r2.query("SELECT count(*) FROM t"), "150", "PostgreSQL {major}: wal-fetch restore");
    wait_for("the new timeline's history file", || {
        archived(&repo2, &sysid).contains(&"00000002.history.zst".to_string())
    });
    assert!(!archived(&repo, &sysid).iter().any(|n| n.contains(".history")), "the source's archive forked");
    drop(r2);
});

#[test]
fn wal_push_refuses_another_clusters_segment_and_wal_fetch_speaks_in_exit_codes() {
    let major = majors()[0];
    let source = TestCluster::start_with(major, None, vec![("wal_level".into(), "replica".into())]);
    let data = source.get().data_dir();
    let segment = psql(&source, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    let bin = crate::support::tideline_bin();
    let run = |args: &[&str]| {
        let out =
            Command::new(&bin).args(args).env_remove("HOME").env("TIDELINE_HOME", "/nonexistent").output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let repo_s = repo.to_str().unwrap();
    let seg_path = data.join("pg_wal").join(&segment);
    let pgdata = data.to_str().unwrap();

    // Its own segment: stored, then stored again (same content) without complaint.
    let (code, out) = run(&["wal-push", "--json", "--repo", repo_s, "--pgdata", pgdata, seg_path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(r#""stored":true"#), "{out}");
    let (code, out) = run(&["wal-push", "--json", "--repo", repo_s, "--pgdata", pgdata, seg_path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(r#""already_archived":true"#), "{out}");

    // The same segment offered as another cluster's (a data directory with another identity).
    let other = work.path().join("other");
    std::fs::create_dir_all(other.join("global")).unwrap();
    std::fs::write(other.join("global/pg_control"), 12345u64.to_le_bytes()).unwrap();
    let (code, out) =
        run(&["wal-push", "--json", "--repo", repo_s, "--pgdata", other.to_str().unwrap(), seg_path.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(out.contains(r#""code":"wal_foreign_cluster""#), "{out}");
    assert!(!repo.join("clusters/12345").exists());

    // wal-fetch: 0 restored (byte for byte), 1 absent, 126 (fatal to recovery) when damaged.
    let dest = work.path().join("RECOVERYXLOG");
    let dest_s = dest.to_str().unwrap();
    assert_eq!(run(&["wal-fetch", "--repo", repo_s, "--pgdata", pgdata, &segment, dest_s]).0, Some(0));
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&seg_path).unwrap());
    assert_eq!(run(&["wal-fetch", "--repo", repo_s, "--pgdata", pgdata, "00000009.history", dest_s]).0, Some(1));
    let sysid = psql(&source, "postgres", "SELECT system_identifier FROM pg_control_system()");
    let stored = repo.join("clusters").join(&sysid).join("wal").join(format!("{segment}.zst"));
    let mut bytes = std::fs::read(&stored).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&stored, bytes).unwrap();
    let (code, out) = run(&["wal-fetch", "--json", "--repo", repo_s, "--pgdata", pgdata, &segment, dest_s]);
    assert_eq!(code, Some(126), "{out}");
    assert!(out.contains(r#""code":"checksum_mismatch""#), "{out}");
    // A different file under a stored name fails loudly and changes nothing.
    let (code, out) = run(&["wal-push", "--json", "--repo", repo_s, "--pgdata", pgdata, seg_path.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(out.contains(r#""code":"wal_conflict""#), "{out}");
}

//! `tideline basebackup` against real servers of every major: tar and plain backups recorded
//! with their WAL range and timeline, checked by pg_verifybackup where it can read them, a
//! plain one that starts as a server; and a killed pg_basebackup that leaves nothing complete.

use crate::support::{add_profile, password, psql, Home, TestCluster};
use std::path::Path;
use std::time::{Duration, Instant};

fn manifest(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(Path::new(path).join("manifest.json")).unwrap()).unwrap()
}

each_major!(fn tar_and_plain_base_backups_are_recorded_verified_and_start(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 5000) g");
    let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");
    let home = Home::new();
    add_profile(&home, &pg, &pw);

    let tar = home.cli(&["basebackup", "p"], None).ok().clone();
    assert_eq!((tar["kind"].as_str(), tar["format"].as_str()), (Some("base"), Some("tar")), "{tar}");
    let path = tar["path"].as_str().unwrap();
    assert!(path.contains(&format!("/clusters/{sysid}/base/")), "{path}");
    let m = manifest(path);
    let phys = &m["physical"];
    assert_eq!(phys["system_identifier"], sysid.as_str());
    assert_eq!(phys["timeline"], 1);
    let lsn = |v: &serde_json::Value| {
        let (hi, lo) = v.as_str().unwrap().split_once('/').unwrap();
        (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
    };
    assert!(lsn(&phys["start_lsn"]) <= lsn(&phys["stop_lsn"]), "{phys}");
    // The build's best method: zstd where pg_basebackup has it (the PyPI 18 build has only gzip).
    let compression = phys["compression"].as_str().unwrap_or_default();
    assert!(compression.starts_with("client-") && compression.ends_with(":1"), "{phys}");
    // initdb turns data checksums on by default from 18 (the test clusters take its default);
    // pg_basebackup checked every page it copied.
    assert_eq!(phys["data_checksums"], major >= 18, "PostgreSQL {major}: {phys}");
    let verified = phys["pg_verifybackup"].as_str().unwrap().starts_with("verified");
    assert_eq!(verified, major >= 18, "PostgreSQL {major}: {phys}");
    assert!(!m.to_string().contains(&pw));
    for f in m["files"].as_array().unwrap() {
        assert_eq!(f["blake3"].as_str().unwrap().len(), 64);
    }
    assert!(m["command"].as_array().unwrap().iter().any(|a| a == "--wal-method=stream"));
    assert!(!std::fs::read_to_string(Path::new(path).join("pg_basebackup.log")).unwrap().contains(&pw));

    // The tar backup, unpacked by the engine (its compression undone, pg_wal.tar into
    // pg_wal), is a data directory that starts on its own.
    let laid = tempfile::Builder::new().prefix("tideline-laid-").tempdir().unwrap();
    let dest = laid.path().join("data");
    let tar_manifest = tideline_core::repo::manifest::Manifest::read(Path::new(path)).unwrap();
    tideline_core::physical::laydown::lay_down(Path::new(path), &tar_manifest, &dest).unwrap();
    assert!(dest.join("pg_wal").read_dir().unwrap().next().is_some(), "PostgreSQL {major}: no WAL laid down");
    assert_eq!(rows_in_copy(major, &pw, &dest), 5000, "PostgreSQL {major}: the laid-down tar backup");
    let again = tideline_core::physical::laydown::lay_down(Path::new(path), &tar_manifest, &dest);
    assert_eq!(again.unwrap_err().code, tideline_core::ErrorCode::InvalidInput, "never into an existing directory");

    let plain = home.cli(&["basebackup", "p", "--format", "plain", "--checkpoint", "spread"], None).ok().clone();
    let m = manifest(plain["path"].as_str().unwrap());
    // pg_verifybackup reads the WAL with pg_waldump of its own major; where this major has
    // none (the server-only 13, 14 and 16 builds), Tideline's reader checks it.
    let verified = m["physical"]["pg_verifybackup"].as_str().unwrap();
    if crate::support::inventory().server_for(major, "pg_waldump").is_ok() {
        assert_eq!(verified, "verified", "PostgreSQL {major}");
    } else {
        assert!(verified.starts_with("verified (files by pg_verifybackup "), "PostgreSQL {major}: {verified}");
        assert!(verified.contains("WAL by Tideline's reader"), "PostgreSQL {major}: {verified}");
    }
    assert_eq!(m["physical"]["compression"], serde_json::Value::Null);
    let listed = home.cli(&["backups", "list"], None).ok().clone();
    assert_eq!(listed["backups"].as_array().unwrap().len(), 2);

    // The plain copy is a data directory that starts on its own (its WAL came along).
    let src = Path::new(plain["path"].as_str().unwrap()).join("data");
    assert_eq!(rows_in_copy(major, &pw, &src), 5000);
});

/// Starts a copy of the data directory `src` as a new cluster and counts the rows of `t`.
fn rows_in_copy(major: u32, pw: &str, src: &Path) -> i64 {
    let copy = crate::support::CopyCluster::start(major, Some(pw), src, vec![], false);
    copy.query("SELECT count(*) FROM t").parse().unwrap()
}

each_major!(fn incremental_backups_chain_to_their_parent_and_combine_into_a_cluster_that_starts(major) {
    let pw = password();
    let settings = if major >= 17 { vec![("summarize_wal".into(), "on".into())] } else { vec![] };
    let pg = TestCluster::start_with(major, Some(&pw), settings);
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    if major < 17 {
        let e = home.cli(&["basebackup", "p", "--format", "plain", "--incremental"], None);
        assert!(e.err("invalid_input")["message"].as_str().unwrap().contains("17"));
        return;
    }
    let e = home.cli(&["basebackup", "p", "--incremental", "--format", "plain"], None);
    assert!(e.err("backup_missing")["hint"].as_str().unwrap().contains("--format plain"));
    let full = home.cli(&["basebackup", "p", "--format", "plain"], None).ok().clone();
    psql(&pg, "postgres", "INSERT INTO t SELECT generate_series(1001, 1500)");
    home.cli(&["basebackup", "p", "--incremental"], None).err("invalid_input");
    let incr = home.cli(&["basebackup", "p", "--format", "plain", "--incremental"], None).ok().clone();
    let m = manifest(incr["path"].as_str().unwrap());
    assert_eq!(m["physical"]["incremental_of"], full["id"], "PostgreSQL {major}");
    assert!(incr["size_bytes"].as_u64().unwrap() < full["size_bytes"].as_u64().unwrap());

    let out = tempfile::tempdir().unwrap();
    let combined = out.path().join("combined");
    let tool = crate::support::client(major, "pg_combinebackup").path("pg_combinebackup");
    let run = std::process::Command::new(tool)
        .arg(Path::new(full["path"].as_str().unwrap()).join("data"))
        .arg(Path::new(incr["path"].as_str().unwrap()).join("data"))
        .arg("-o")
        .arg(&combined)
        .output()
        .unwrap();
    assert!(run.status.success(), "pg_combinebackup: {}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(rows_in_copy(major, &pw, &combined), 1500, "PostgreSQL {major}");
});

each_major!(fn a_killed_pg_basebackup_leaves_no_complete_backup(major) {
    let pw = password();
    // A spread checkpoint over a long checkpoint_timeout keeps pg_basebackup waiting.
    let pg = TestCluster::start_with(
        major,
        Some(&pw),
        vec![("checkpoint_timeout".into(), "'1h'".into()), ("checkpoint_completion_target".into(), "0.9".into())],
    );
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) g");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let backup = std::process::Command::new(crate::support::tideline_bin())
        .env("TIDELINE_HOME", home.path())
        .args(["basebackup", "p", "--checkpoint", "spread", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid = loop {
        if let Some(pid) = crate::support::child_with_args(backup.id(), &["/pg_basebackup\0", "--wal-method=stream"]) {
            break pid;
        }
        assert!(Instant::now() < deadline, "pg_basebackup never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!argv.windows(pw.len()).any(|w| w == pw.as_bytes()), "password on pg_basebackup's argv");
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let out = backup.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["code"], "backup_failed", "{err}");
    assert_eq!(home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len(), 0);
    let clusters = home.path().join("repo/clusters");
    let left: Vec<_> = walk(&clusters).into_iter().filter(|p| p.ends_with("manifest.json")).collect();
    assert!(left.is_empty(), "{left:?}");
    // The next run (fast checkpoint) succeeds.
    assert_eq!(home.cli(&["basebackup", "p"], None).ok()["status"], "complete");
});

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// `verify` of a base backup reads it as a base backup: the repository's manifest against the
// catalog, every file's checksum, and pg_verifybackup; a flipped byte anywhere is named.
each_major!(fn verify_checks_a_base_backup_by_its_checksums_and_pg_verifybackup(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    for format in ["plain", "tar"] {
        let made = home.cli(&["basebackup", "p", "--format", format], None).ok().clone();
        let id = made["id"].as_str().unwrap();
        let report = home.cli(&["verify", id], None).ok().clone();
        assert_eq!(report["status"], "passed", "PostgreSQL {major} {format}: {report}");
        assert_eq!(report["readable"], true, "{report}");
        assert!(report["files_checked"].as_u64().unwrap() > 0, "{report}");
        assert_eq!(home.cli(&["backups", "show", id], None).ok()["verify_status"], "passed");

        let dir = Path::new(made["path"].as_str().unwrap()).to_path_buf();
        let shown = home.cli(&["backups", "show", id], None).ok().clone();
        let biggest = crate::support::largest_file(&shown, "");
        for damaged in [biggest.as_str(), "manifest.json"] {
            let path = dir.join(damaged);
            let original = std::fs::read(&path).unwrap();
            let mut bytes = original.clone();
            let at = if damaged == "manifest.json" {
                // A digit of a recorded size: still JSON, no longer the truth.
                original.windows(14).position(|w| w == b"\"size_bytes\": ").unwrap() + 14
            } else {
                bytes.len() / 2
            };
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            let err = home.cli(&["verify", id], None).err("verify_failed").clone();
            let message = err["message"].as_str().unwrap();
            assert!(message.contains(damaged), "PostgreSQL {major} {format}, {damaged}: {err}");
            std::fs::write(&path, &original).unwrap();
        }
        assert_eq!(home.cli(&["verify", id], None).ok()["status"], "passed");
    }
});

//! `tideline backup` against real servers of every major: every format, manifests with
//! checksums and exact row counts, exact table names, and a killed pg_dump.

use crate::support::{add_profile, load_sample, majors, password, psql, Home, TableLock, TestCluster};
use std::path::PathBuf;

each_major!(fn every_format_makes_a_complete_backup_with_checksums_and_counts(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    for format in ["directory", "custom", "plain", "tar"] {
        let made = home.cli(&["backup", "p", "--database", "shop", "--format", format], None);
        let record = made.ok().clone();
        let id = record["id"].as_str().unwrap();
        assert_eq!(record["status"], "complete");
        assert_eq!(record["format"], format);
        let dir = PathBuf::from(record["path"].as_str().unwrap());
        assert!(dir.join("manifest.json").exists());
        assert!(std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".tmp-")));

        let m = home.cli(&["backups", "show", id], None).ok().clone();
        assert_eq!(m["format_version"], 2);
        assert_eq!(m["server_major"], major);
        assert_eq!(m["database"], "shop");
        assert!(
            m["command"][0] == "pg_dump"
                && m["command"].as_array().unwrap().iter().any(|a| a.as_str().unwrap().starts_with("--snapshot="))
        );
        assert!(!m.to_string().contains(&pw));
        let files = m["files"].as_array().unwrap();
        assert!(!files.is_empty());
        for f in files {
            let path = dir.join(f["path"].as_str().unwrap());
            assert_eq!(std::fs::metadata(&path).unwrap().len(), f["size_bytes"].as_u64().unwrap());
            assert_eq!(f["blake3"].as_str().unwrap().len(), 64);
        }
        assert_eq!(m["row_counts"]["status"], "counted");
        let count = |t: &str| {
            m["row_counts"]["tables"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["table"] == t)
                .map(|c| c["rows"].as_i64().unwrap())
        };
        assert_eq!(count("actor"), Some(2000));
        assert_eq!(count("events"), Some(5000));
        assert_eq!(count("measurements_2024").unwrap() + count("measurements_2025").unwrap(), 1400);
        assert_eq!(count("measurements"), None, "a partitioned parent has no rows of its own");
        // The default compression is the best the pg_dump that ran has (newer than the
        // server when the server's own major has no client tools here).
        let compress = m["options"]["compress"].as_str().map(str::to_string);
        let tool_major = m["tool_major"].as_u64().unwrap();
        assert!(tool_major >= major as u64, "pg_dump {tool_major} for a {major} server");
        match (format, tool_major) {
            ("directory" | "custom", 17) => assert_eq!(compress.as_deref(), Some("zstd:1")),
            ("directory" | "custom", 18) => assert_eq!(compress.as_deref(), Some("gzip:1")),
            ("directory" | "custom", 15) => assert_eq!(compress.as_deref(), Some("1")),
            _ => assert_eq!(compress, None),
        }
        let log = home.cli(&["backups", "log", id], None).ok()["log"].as_str().unwrap().to_string();
        assert!(log.contains("dumping contents of table"), "pg_dump's verbose log is kept");
    }
    let listed = home.cli(&["backups", "list", "p"], None);
    assert_eq!(listed.ok()["backups"].as_array().unwrap().len(), 4);
    assert!(home.files_containing(&pw).is_empty());

    // The catalog is an index: rebuilt from the manifests alone.
    std::fs::remove_file(home.path().join("catalog.sqlite3")).unwrap();
    for f in ["catalog.sqlite3-wal", "catalog.sqlite3-shm"] {
        let _ = std::fs::remove_file(home.path().join(f));
    }
    let rescan = home.cli(&["repo", "rescan"], None);
    assert_eq!(rescan.ok()["indexed"].as_array().unwrap().len(), 4);
    assert_eq!(home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len(), 4);
});

fn plain_dump(home: &Home, extra: &[&str]) -> String {
    let mut args = vec!["backup", "p", "--database", "names", "--format", "plain", "--no-owner"];
    args.extend_from_slice(extra);
    let rec = home.cli(&args, None);
    let dir = PathBuf::from(rec.ok()["path"].as_str().unwrap());
    std::fs::read_to_string(dir.join("database.sql")).unwrap()
}

each_major!(fn table_names_are_exact_and_partitions_come_along(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    psql(&pg, "postgres", "CREATE DATABASE names");
    psql(
        &pg,
        "names",
        r#"CREATE TABLE "Order Items" (id int); INSERT INTO "Order Items" VALUES (1), (2);
           CREATE SCHEMA "a.b"; CREATE TABLE "a.b"."x*y?" (id int); INSERT INTO "a.b"."x*y?" VALUES (7);
           CREATE TABLE "a.b".xzy (id int);
           CREATE TABLE "MixedCase" (id int); INSERT INTO "MixedCase" VALUES (10);
           CREATE TABLE mixedcase (id int); INSERT INTO mixedcase VALUES (20);
           CREATE SCHEMA other; CREATE TABLE dup (id int); CREATE TABLE other.dup (id int);
           CREATE TABLE m (id int, k int) PARTITION BY LIST (k);
           CREATE TABLE m1 PARTITION OF m FOR VALUES IN (1); CREATE TABLE m2 PARTITION OF m FOR VALUES IN (2);
           INSERT INTO m VALUES (100, 1), (200, 2);"#,
    );
    let home = Home::new();
    add_profile(&home, &pg, &pw);

    let sql = plain_dump(&home, &["--table", "MixedCase"]);
    assert!(sql.contains(r#"CREATE TABLE public."MixedCase""#), "{sql}");
    assert!(!sql.contains("CREATE TABLE public.mixedcase"));

    let sql = plain_dump(&home, &["--table", "Order Items"]);
    assert!(sql.contains(r#"CREATE TABLE public."Order Items""#));
    assert_eq!(sql.matches("CREATE TABLE").count(), 1, "{sql}");

    let sql = plain_dump(&home, &["--table", r#""a.b"."x*y?""#]);
    assert!(sql.contains(r#"CREATE TABLE "a.b"."x*y?""#));
    assert!(!sql.contains("xzy"), "'?' and '*' are not patterns");

    let sql = plain_dump(&home, &["--table", "m"]);
    for part in ["CREATE TABLE public.m ", "CREATE TABLE public.m1", "CREATE TABLE public.m2", "100\t1", "200\t2"] {
        assert!(sql.contains(part), "missing {part:?} in {sql}");
    }

    home.cli(&["backup", "p", "--database", "names", "--table", "dup"], None).err("ambiguous_table");
    home.cli(&["backup", "p", "--database", "names", "--table", "nope"], None).err("table_missing");
    home.cli(&["backup", "p", "--database", "names", "--schema", "Nope"], None).err("schema_missing");
    home.cli(&["backup", "p", "--database", "names", "--table", "a.b.c"], None).err("invalid_input");
    assert_eq!(
        home.cli(&["backup", "p", "--database", "names", "--table", "other.dup"], None).ok()["status"],
        "complete"
    );
});

/// The pg_dump that `backup` (our tideline) started; other tests run pg_dumps at the same time.
fn wait_for_pg_dump(backup: &std::process::Child) -> u32 {
    // --snapshot: the dump itself, not one of tool discovery's short capability probes.
    crate::support::wait_child(backup.id(), &["/pg_dump\0", "--snapshot="])
}

each_major!(fn a_killed_pg_dump_leaves_no_complete_backup_and_never_saw_the_password(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    add_profile(&home, &pg, &pw);

    // Hold a lock pg_dump must wait for, so it is caught mid-run.
    let lock = TableLock::hold(&pg, &pw);
    // Counting rows would wait on the lock before pg_dump starts; skip it here.
    let backup = home.spawn(&["backup", "p", "--database", "shop", "--format", "custom", "--no-row-counts"]);
    let pid = wait_for_pg_dump(&backup);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let Ok(argv) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        let out = backup.wait_with_output().unwrap();
        panic!("pg_dump ended early: {}", String::from_utf8_lossy(&out.stdout));
    };
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(String::from_utf8_lossy(&argv).contains("--snapshot="), "this is the real pg_dump");
    assert!(!argv.windows(pw.len()).any(|w| w == pw.as_bytes()), "password on pg_dump's argv");
    assert!(!environ.windows(pw.len()).any(|w| w == pw.as_bytes()), "password in pg_dump's environment");

    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let out = backup.wait_with_output().unwrap();
    drop(lock);
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["code"], "backup_failed", "{err}");

    let leftovers = crate::support::backup_leftovers(&home, "p", "shop");
    assert!(leftovers.is_empty(), "nothing may remain: {leftovers:?}");
    assert_eq!(home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len(), 0);

    // The next run succeeds.
    assert_eq!(
        home.cli(&["backup", "p", "--database", "shop", "--format", "custom"], None).ok()["status"],
        "complete"
    );
});

#[test]
fn ctrl_c_cancels_a_running_backup_and_keeps_nothing() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    // pg_dump waits on this lock, so the backup is caught mid-run.
    let lock = TableLock::hold(&pg, &pw);
    let backup = home.spawn(&["backup", "p", "--database", "shop", "--no-row-counts"]);
    let dump = wait_for_pg_dump(&backup);
    unsafe { libc::kill(backup.id() as i32, libc::SIGINT) };
    let out = backup.wait_with_output().unwrap();
    drop(lock);
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["code"], "cancelled", "{err}");
    assert!(!std::path::Path::new(&format!("/proc/{dump}")).exists(), "the pg_dump child was killed");
    let left = crate::support::backup_leftovers(&home, "p", "shop");
    assert!(left.is_empty(), "nothing may remain: {left:?}");
    assert_eq!(home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len(), 0);
}

// A scheduled run and "Back up now" of the same database at once: the second is refused with
// its own code while the first keeps writing, and the first completes and verifies.
each_major!(fn a_second_backup_of_the_same_database_is_refused_and_the_first_completes(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let lock = TableLock::hold(&pg, &pw);
    let first = home.spawn(&["backup", "p", "--database", "shop", "--no-row-counts"]);
    wait_for_pg_dump(&first);
    let second = home.cli(&["backup", "p", "--database", "shop", "--no-row-counts"], None);
    let err = second.err("backup_in_progress").clone();
    assert!(err["hint"].as_str().unwrap().contains("Wait"), "{err}");
    // Another database of the same profile is its own series.
    psql(&pg, "postgres", "CREATE DATABASE other");
    home.cli(&["backup", "p", "--database", "other"], None).ok();
    drop(lock);
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["status"], "complete");
    let id = made["id"].as_str().unwrap();
    assert_eq!(home.cli(&["verify", id], None).ok()["status"], "passed", "PostgreSQL {major}");
    let left: Vec<_> = crate::support::backup_leftovers(&home, "p", "shop")
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
});

#[derive(Default)]
struct Events(std::sync::Mutex<Vec<tideline_core::job::JobProgress>>);

impl tideline_core::job::ProgressSink for Events {
    fn send(&self, p: &tideline_core::job::JobProgress) {
        self.0.lock().unwrap().push(p.clone());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_reports_its_phases_and_sizes() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = tempfile::tempdir().unwrap();
    let engine = tideline_core::Engine::open(
        home.path(),
        std::sync::Arc::new(tideline_core::keychain::OsKeychain),
        std::sync::Arc::new(tideline_core::clock::SystemClock),
    )
    .unwrap();
    let mut draft = pg.get().tcp_draft("p", "postgres", "shop");
    draft.connect_timeout_secs = 5;
    engine.add_profile(&draft, Some(&tideline_core::Secret::new(&pw))).unwrap();
    let events = std::sync::Arc::new(Events::default());
    let job = tideline_core::job::Job::new("j", events.clone());
    let opts = tideline_core::repo::options::DumpOptions::default();
    let record = engine.backup("p", &opts, &job).await.unwrap();
    assert_eq!(record.status, tideline_core::repo::manifest::BackupStatus::Complete);
    let seen = events.0.lock().unwrap().clone();
    let phases: Vec<&str> = seen.iter().map(|e| e.phase.as_str()).collect();
    for phase in ["connecting", "dumping", "checksumming"] {
        assert!(phases.contains(&phase), "{phase} missing from {phases:?}");
    }
    let last_dump = seen.iter().rev().find(|e| e.phase == "dumping").unwrap();
    assert!(last_dump.bytes_total.unwrap() > 0 && last_dump.bytes_done == last_dump.bytes_total.unwrap());
    assert!(seen.iter().all(|e| e.job_id == "j"));
    engine.remove_profile("p").unwrap();
}

/// A damaged manifest.json: `repo rescan` used to drop the backup (unreadable) or take the
/// damaged copy as the truth (then report the intact data as damaged). Now both stay listed,
/// marked failed with the manifest named, and verify says the same.
#[test]
fn rescan_keeps_backups_with_a_damaged_manifest_listed_as_failed() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let made: Vec<serde_json::Value> = (0..3)
        .map(|_| home.cli(&["backup", "p", "--database", "shop", "--format", "custom"], None).ok().clone())
        .collect();
    let manifest = |b: &serde_json::Value| PathBuf::from(b["path"].as_str().unwrap()).join("manifest.json");
    // Not JSON any more; and still JSON, but a size changed.
    std::fs::write(manifest(&made[0]), b"{ \"format_version\": 2, \"id\": ").unwrap();
    let text = std::fs::read_to_string(manifest(&made[1])).unwrap();
    let changed = text.replacen("\"size_bytes\": ", "\"size_bytes\": 1", 1);
    assert_ne!(text, changed);
    std::fs::write(manifest(&made[1]), changed).unwrap();

    let rescan = home.cli(&["repo", "rescan"], None).ok().clone();
    let mut damaged: Vec<&str> = rescan["damaged"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    damaged.sort();
    let mut want = vec![made[0]["id"].as_str().unwrap(), made[1]["id"].as_str().unwrap()];
    want.sort();
    assert_eq!(damaged, want, "{rescan}");
    assert_eq!(rescan["forgotten"], 0, "{rescan}");
    let listed = home.cli(&["backups", "list", "p"], None).ok().clone();
    assert_eq!(listed["backups"].as_array().unwrap().len(), 3, "nothing vanished: {listed}");
    for b in &made[..2] {
        let shown = home.cli(&["backups", "show", b["id"].as_str().unwrap()], None).ok().clone();
        assert_eq!(shown["id"], b["id"]);
        let record = listed["backups"].as_array().unwrap().iter().find(|r| r["id"] == b["id"]).unwrap();
        assert_eq!(record["verify_status"], "failed", "{record}");
        assert!(record["verify_detail"].as_str().unwrap().contains("manifest.json"), "{record}");
        let err = home.cli(&["verify", b["id"].as_str().unwrap()], None).err("verify_failed").clone();
        assert!(err["message"].as_str().unwrap().contains("manifest.json"), "{err}");
    }
    // The intact one is untouched.
    assert_eq!(home.cli(&["verify", made[2]["id"].as_str().unwrap()], None).ok()["status"], "passed");
}

// pg_dump 18's planner statistics, asked for or left out, with the pg_dump Tideline chooses:
// refused, with what to install, where that pg_dump is older than 18.
each_major!(fn planner_statistics_follow_the_choice_where_pg_dump_has_them(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    psql(&pg, "postgres", "CREATE DATABASE stats");
    psql(&pg, "stats", "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 500) g; ANALYZE t");
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let plain = |flag: &str| {
        home.cli(&["backup", "p", "--database", "stats", "--format", "plain", flag], None)
    };
    if crate::support::client(major, "pg_dump").major < 18 {
        let e = plain("--statistics").err("invalid_input").clone();
        assert!(e["message"].as_str().unwrap().contains("needs pg_dump 18"), "{e}");
        return;
    }
    let with = plain("--statistics").ok().clone();
    let script = std::fs::read_to_string(PathBuf::from(with["path"].as_str().unwrap()).join("database.sql")).unwrap();
    assert!(script.contains("pg_restore_relation_stats"), "PostgreSQL {major}: no statistics in the dump");
    let without = plain("--no-statistics").ok().clone();
    let script = std::fs::read_to_string(PathBuf::from(without["path"].as_str().unwrap()).join("database.sql")).unwrap();
    assert!(!script.contains("pg_restore_relation_stats"));
    let custom = home.cli(&["backup", "p", "--database", "stats", "--format", "custom", "--statistics"], None);
    let id = custom.ok()["id"].as_str().unwrap().to_string();
    home.cli(&["restore", &id, "--to-db", "copy"], None).ok();
    assert_eq!(psql(&pg, "copy", "SELECT reltuples::int FROM pg_class WHERE relname = 't'"), "500", "statistics restored");
});

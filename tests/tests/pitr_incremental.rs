//! PITR from an incremental base backup (PostgreSQL 17+): the chain is combined with
//! pg_combinebackup into the sandbox, then WAL replays to the target.

use crate::support::{password, psql, Home};
use tideline_core::error::ErrorCode;
use tideline_core::physical::page_checksums::verify_data_dir;

each_major!([17, 18] fn pitr_combines_the_incremental_chain(major) {
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![("summarize_wal".into(), "on".into())]);
    let (pg, repo) = (&source.pg, &source.repo);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    psql(pg, "postgres", "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
    let full = home.cli(&["basebackup", "p", "--format", "plain"], None).ok().clone();
    psql(pg, "postgres", "INSERT INTO t SELECT generate_series(1001, 1500)");
    let incr = home.cli(&["basebackup", "p", "--format", "plain", "--incremental"], None).ok().clone();
    psql(pg, "postgres", "INSERT INTO t SELECT generate_series(1501, 1600)");
    let lsn = psql(pg, "postgres", "SELECT pg_current_wal_lsn()");
    psql(pg, "postgres", "DELETE FROM t");
    source.switch_and_wait();

    let s = home.cli(&["pitr", "p", "--lsn", &lsn], None).ok().clone();
    assert_eq!(s["backup_id"], incr["id"], "{s}");
    assert_eq!(s["backup_chain"], serde_json::json!([full["id"], incr["id"]]), "{s}");
    // 18's initdb turns data checksums on: the combined pages were read back before the start.
    if major >= 18 {
        assert!(s["page_checksums"]["pages_verified"].as_u64().unwrap() > 100, "{s}");
    } else {
        assert!(s["page_checksums"].is_null(), "no checksums on {major}: {s}");
    }
    let id = s["id"].as_str().unwrap().to_string();
    let cmp = home.cli(&["sandbox", "compare", &id], None).ok().clone();
    assert_eq!(cmp["tables"][0]["sandbox_rows"], 1600, "PostgreSQL {major}: {cmp}");
    assert_eq!(cmp["tables"][0]["live_rows"], 0);
    home.cli(&["sandbox", "remove", &id], None).ok();

    // pg_combinebackup reads the chain in place: a flipped byte in the full backup is
    // refused before it runs, with the file named.
    let shown = home.cli(&["backups", "show", full["id"].as_str().unwrap()], None).ok().clone();
    let file = crate::support::largest_file(&shown, "data/base/");
    let path = std::path::Path::new(shown["path"].as_str().unwrap()).join(&file);
    let original = std::fs::read(&path).unwrap();
    let mut bytes = original.clone();
    bytes[original.len() / 2] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let err = home.cli(&["pitr", "p", "--lsn", &lsn], None).err("checksum_mismatch").clone();
    assert!(err["message"].as_str().unwrap().contains(&file), "PostgreSQL {major}: {err}");
    std::fs::write(&path, &original).unwrap();
});

// Tideline's page checksum is PostgreSQL's: every page a real 18 cluster wrote passes, a
// flipped byte fails with the file and block named, and a page newer than where replay
// starts is left to replay.
each_major!([18] fn data_page_checksums_match_the_servers(major) {
    let pg = crate::support::TestCluster::start(major, None);
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g");
    let file = psql(&pg, "postgres", "SELECT pg_relation_filepath('t')");
    psql(&pg, "postgres", "CHECKPOINT");
    pg.get().stop().unwrap();
    let data = pg.get().data_dir();
    let check = verify_data_dir(&data, u64::MAX).unwrap();
    assert!(check.pages_verified > 200, "{check:?}");

    let path = data.join(&file);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8192 + 4000] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let err = verify_data_dir(&data, u64::MAX).unwrap_err();
    assert_eq!(err.code, ErrorCode::ChecksumMismatch);
    assert!(err.message.contains(&format!("{file} block 1")), "{}", err.message);
    assert!(err.hint.contains("--from-backup"), "{}", err.hint);
    // Every page is at or past LSN 0: nothing is judged, everything left to replay.
    let check = verify_data_dir(&data, 0).unwrap();
    assert_eq!(check.pages_verified, 0);
    bytes[8192 + 4000] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
});

// Two profiles on one cluster: B's incremental backup takes A's base backup as its parent.
// Retention of A keeps that parent and the WAL B's backup needs, and B still recovers.
each_major!([17, 18] fn retention_of_one_profile_keeps_what_anothers_incremental_needs(major) {
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![("summarize_wal".into(), "on".into())]);
    let (pg, repo) = (&source.pg, &source.repo);
    let home = Home::new();
    for name in ["a", "b"] {
        home.cli(&["profile", "add", name, "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    }
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    psql(pg, "postgres", "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
    let parent = home.cli(&["basebackup", "a", "--format", "plain"], None).ok().clone();
    psql(pg, "postgres", "INSERT INTO t SELECT generate_series(1001, 1500)");
    let incr = home.cli(&["basebackup", "b", "--format", "plain", "--incremental"], None).ok().clone();
    let chain = home.cli(&["backups", "show", incr["id"].as_str().unwrap()], None).ok().clone();
    assert_eq!(chain["physical"]["incremental_of"], parent["id"], "B builds on A's backup");
    let newer = home.cli(&["basebackup", "a", "--format", "plain"], None).ok().clone();
    // Each base backup ends with a segment switch of its own: write, so there is one more.
    psql(pg, "postgres", "INSERT INTO t VALUES (0)");
    source.switch_and_wait();

    let applied = home.cli(&["retention", "apply", "a", "--keep-last", "1", "--yes"], None).ok().clone();
    let base = applied["series"].as_array().unwrap().iter().find(|s| s["series"] == "base").unwrap();
    let verdict =
        |id: &serde_json::Value| base["verdicts"].as_array().unwrap().iter().find(|v| v["id"] == *id).unwrap();
    assert_eq!(verdict(&newer["id"])["keep"], true);
    let kept = verdict(&parent["id"]);
    assert_eq!(kept["keep"], true, "PostgreSQL {major}: {applied}");
    assert!(kept["reasons"].to_string().contains(incr["id"].as_str().unwrap()), "{kept}");
    // No WAL from A's first backup on was expired: B's backup replays from its own start.
    let expired = applied["wal_segments"].as_array().unwrap();
    let parent_manifest = home.cli(&["backups", "show", parent["id"].as_str().unwrap()], None).ok().clone();
    let start = parent_manifest["physical"]["start_lsn"].as_str().unwrap().to_string();
    let first_kept = psql(pg, "postgres", &format!("SELECT pg_walfile_name('{start}')"));
    assert!(expired.iter().all(|s| s.as_str().unwrap() < first_kept.as_str()), "{expired:?} vs {first_kept}");

    let s =
        home.cli(&["pitr", "b", "--immediate", "--from-backup", incr["id"].as_str().unwrap()], None).ok().clone();
    assert_eq!(s["backup_chain"], serde_json::json!([parent["id"], incr["id"]]), "{s}");
    let id = s["id"].as_str().unwrap().to_string();
    let cmp = home.cli(&["sandbox", "compare", &id], None).ok().clone();
    assert_eq!(cmp["tables"][0]["sandbox_rows"], 1500, "PostgreSQL {major}: {cmp}");
    home.cli(&["sandbox", "remove", &id], None).ok();

    // B's timeline draws from every base backup of the cluster, A's too...
    let drawn_from = |profile: &str| -> Vec<serde_json::Value> {
        let view = home.cli(&["timeline", profile], None).ok().clone();
        view["window"]["base_backups"].as_array().unwrap().iter().map(|b| b["id"].clone()).collect()
    };
    let all = drawn_from("b");
    assert!([&parent["id"], &incr["id"], &newer["id"]].iter().all(|id| all.contains(id)), "{all:?}");
    // ...but never from an incremental whose parent is gone (removed behind Tideline's back).
    std::fs::remove_dir_all(parent["path"].as_str().unwrap()).unwrap();
    home.cli(&["repo", "rescan"], None).ok();
    let left = drawn_from("b");
    assert!(!left.contains(&incr["id"]) && !left.contains(&parent["id"]), "PostgreSQL {major}: {left:?}");
    assert!(left.contains(&newer["id"]), "{left:?}");
});

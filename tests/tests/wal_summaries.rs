//! Per-segment summaries at ingest, on every major: wal-push (as archive_command, run by the
//! server's OS user) writes `<segment>.json` beside each segment, naming the scripted DELETE's
//! rows, the DROP's files and restore points; `wal index` rebuilds a missing summary; the
//! timeline's latest moment comes from the indexed summaries.

use crate::support::{psql, wait_for, Home};
use std::path::Path;

fn summary(wal: &Path, segment: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(wal.join(format!("{segment}.json"))).unwrap()).unwrap()
}

each_major!(fn segments_are_summarised_as_they_land_and_indexed(major) {
    let source = crate::support::ArchivingSource::start(major, None, vec![]);
    let (pg, repo, wal) = (&source.pg, &source.repo, &source.wal);
    psql(
        pg,
        "postgres",
        "CREATE TABLE orders (id int, note text); INSERT INTO orders SELECT g, 'o' FROM generate_series(1, 1000) g",
    );
    let node = psql(pg, "postgres", "SELECT pg_relation_filenode('orders')");
    let db = psql(pg, "postgres", "SELECT oid FROM pg_database WHERE datname = 'postgres'");
    let segment = psql(pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
    let delete_xid =
        psql(pg, "postgres", "BEGIN; DELETE FROM orders WHERE id > 700; SELECT txid_current(); COMMIT;");
    psql(pg, "postgres", "SELECT pg_create_restore_point('after-delete')");
    let drop_xid = psql(pg, "postgres", "BEGIN; DROP TABLE orders; SELECT txid_current(); COMMIT;");
    psql(pg, "postgres", "SELECT pg_switch_wal()");
    wait_for("the segment's summary", || wal.join(format!("{segment}.json")).exists());

    let s = summary(wal, &segment);
    let file = format!("1663/{db}/{node}");
    let deleted = s["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["xid"] == delete_xid.as_str() && c["file"] == file.as_str());
    assert_eq!(deleted.map(|c| c["deleted"].clone()), Some(serde_json::json!(300)), "PostgreSQL {major}: {s}");
    let dropped = s["ended"].as_array().unwrap().iter().find(|d| d["xid"] == drop_xid.as_str()).cloned();
    assert!(dropped.is_some_and(|d| d["dropped"].as_array().unwrap().contains(&serde_json::json!(file))), "{s}");
    assert_eq!(s["restore_points"][0]["xid"], "after-delete", "{s}");
    assert!(s["commits"].as_u64().unwrap() >= 2);

    // The catalog indexes them; a lost summary is rebuilt the same by `wal index`.
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--no-password"], None).ok();
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    home.cli(&["basebackup", "p"], None).ok();
    std::fs::remove_file(wal.join(format!("{segment}.json"))).unwrap();
    let index = home.cli(&["wal", "index", "p"], None).ok().clone();
    assert!(index["summarised"].as_u64().unwrap() >= 1, "{index}");
    // (wal-push read the segment before it from pg_wal; `wal index` from the archive.)
    assert_eq!(summary(wal, &segment), s, "PostgreSQL {major}");
    psql(pg, "postgres", "CREATE TABLE after_backup AS SELECT 1 AS x");
    let last = psql(pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())");
    let started = std::time::Instant::now();
    while !wal.join(format!("{last}.json")).exists() {
        if started.elapsed().as_secs() > 20 {
            let names: Vec<_> = std::fs::read_dir(wal).unwrap().flatten().map(|e| e.file_name()).collect();
            panic!("no summary of {last}: {names:?}\n{}", pg.get().log_tail(10));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let t = home.cli(&["timeline", "p"], None).ok().clone();
    assert!(t["window"]["timelines"][0]["latest"]["time"].as_str().is_some(), "{t}");
    // Commit density: every summarised commit, once (re-indexing does not count twice).
    let density: u64 = t["commit_density"].as_array().unwrap().iter().map(|m| m["commits"].as_u64().unwrap()).sum();
    assert!(density >= s["commits"].as_u64().unwrap(), "{t}");
    home.cli(&["wal", "index", "p"], None).ok();
    let again = home.cli(&["timeline", "p"], None).ok().clone();
    assert_eq!(again["commit_density"], t["commit_density"]);
});

//! PITR from an incremental base backup (PostgreSQL 17+): the chain is combined with
//! pg_combinebackup into the sandbox, then WAL replays to the target.

mod support;

use support::{password, psql, Home};

#[test]
fn pitr_combines_the_incremental_chain() {
    for major in support::majors().into_iter().filter(|m| *m >= 17) {
        let pw = password();
        let source = support::ArchivingSource::start(major, Some(&pw), vec![("summarize_wal".into(), "on".into())]);
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
        let id = s["id"].as_str().unwrap().to_string();
        let cmp = home.cli(&["sandbox", "compare", &id], None).ok().clone();
        assert_eq!(cmp["tables"][0]["sandbox_rows"], 1600, "PostgreSQL {major}: {cmp}");
        assert_eq!(cmp["tables"][0]["live_rows"], 0);
        home.cli(&["sandbox", "remove", &id], None).ok();
    }
}

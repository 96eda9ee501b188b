//! Backups across majors, with the client tools Tideline chooses (most users' are newer than
//! their server). Down: pg_dump and pg_restore 17+ begin with `SET transaction_timeout = 0;`,
//! which servers before 17 refuse, and pg_dump 15+ writes `LOCALE_PROVIDER` into CREATE
//! DATABASE, which 13 and 14 cannot parse — Tideline's restores stop at the first error. Up: the
//! path users take to a new major (13 → 18). Row counts are compared table by table.

use crate::support::{load_sample, password, psql, Home, TestCluster};

fn add(home: &Home, name: &str, pg: &TestCluster) {
    let pw = pg.password.clone().unwrap();
    home.cli(&["profile", "add", name, "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
}

/// Every base table of `db` with its exact row count (`schema.table=rows`, by name): the server
/// writes the counting query, which then runs (the 13 build has no XML to do it in one).
fn row_counts(pg: &TestCluster, db: &str) -> String {
    let query = psql(
        pg,
        db,
        "SELECT string_agg(format('SELECT %L || ''='' || count(*) FROM %s', t, t), ' UNION ALL ' ORDER BY t)
         FROM (SELECT format('%I.%I', table_schema, table_name) AS t FROM information_schema.tables
               WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')) tables",
    );
    let mut rows: Vec<String> = psql(pg, db, &query).lines().map(str::to_string).collect();
    rows.sort();
    rows.join(" ")
}

fn backup(home: &Home, profile: &str, db: &str, format: &str) -> serde_json::Value {
    home.cli(&["backup", profile, "--database", db, "--format", format], None).ok().clone()
}

fn manifest(home: &Home, id: &str) -> serde_json::Value {
    home.cli(&["backups", "show", id], None).ok().clone()
}

// The newest server's dump, in every format, into each older major; and its pg_dumpall
// script (roles and a database) into an empty server of that major.
each_major!([13, 14, 15, 16] fn a_newer_servers_backups_restore_into_an_older_server(major) {
    let newest = *crate::support::ALL_MAJORS.last().unwrap();
    let (src, dst) = (TestCluster::start(newest, Some(&password())), TestCluster::start(major, Some(&password())));
    let home = Home::new();
    add(&home, "src", &src);
    add(&home, "dst", &dst);
    psql(&src, "postgres", "CREATE ROLE clerk LOGIN; CREATE DATABASE shop OWNER clerk");
    psql(&src, "shop", "SET ROLE clerk; CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 1234) g");
    psql(&dst, "postgres", "CREATE ROLE clerk");
    for format in ["custom", "directory", "tar", "plain"] {
        let id = backup(&home, "src", "shop", format)["id"].as_str().unwrap().to_string();
        let target = format!("shop_{format}");
        let r = home.cli(&["restore", &id, "--profile", "dst", "--to-db", &target], None);
        let report = r.ok().clone();
        assert_eq!(row_counts(&dst, &target), "public.orders=1234", "PostgreSQL {newest} → {major}, {format}: {report}");
        let tool = report["tool_choice"].as_str().unwrap();
        assert!(tool.contains(&format!("written by pg_dump {newest}")), "{tool}");
    }
    let cluster = home.cli(&["dumpall", "src"], None).ok().clone();
    let empty = TestCluster::start(major, Some(&password()));
    add(&home, "empty", &empty);
    home.cli(&["restore", cluster["id"].as_str().unwrap(), "--profile", "empty"], None).ok();
    assert_eq!(row_counts(&empty, "shop"), "public.orders=1234", "pg_dumpall {newest} → {major}");
    assert_eq!(psql(&empty, "shop", "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"), "clerk");
});

/// A 16 server (Ubuntu 24.04's) with client tools of 15, 17 and 18 only: the dump is written by
/// the closest newer pg_dump, which the manifest says, and restores into 16, 17 and 18 with the
/// same rows in every table.
#[test]
fn a_16_servers_dump_restores_into_16_17_and_18() {
    let pw = password();
    let src = TestCluster::start(16, Some(&pw));
    load_sample(&src, "shop");
    let home = Home::new();
    add(&home, "src", &src);
    let expected = row_counts(&src, "shop");
    assert!(expected.contains("public.actor=2000") && expected.contains("public.events=5000"), "{expected}");
    let b = backup(&home, "src", "shop", "custom");
    let m = manifest(&home, b["id"].as_str().unwrap());
    assert_eq!((m["server_major"].as_u64(), m["tool_major"].as_u64()), (Some(16), Some(17)), "{m}");
    let choice = m["tool_choice"].as_str().unwrap();
    assert!(choice.starts_with("pg_dump 17.") && choice.contains("no pg_dump 16 here"), "{choice}");
    for major in [16, 17, 18] {
        let dst = TestCluster::start(major, Some(&pw));
        add(&home, &format!("dst{major}"), &dst);
        home.cli(&["restore", b["id"].as_str().unwrap(), "--profile", &format!("dst{major}"), "--to-db", "shop"], None)
            .ok();
        assert_eq!(row_counts(&dst, "shop"), expected, "16 → {major}");
    }
}

/// The upgrade users take: a 13 server's roles and database, restored into 18, every table's
/// rows the same; the plain script too.
#[test]
fn the_upgrade_path_from_13_to_18() {
    let pw = password();
    let src = TestCluster::start(13, Some(&pw));
    psql(&src, "postgres", "CREATE ROLE app_owner LOGIN");
    load_sample(&src, "shop");
    psql(&src, "shop", "ALTER TABLE actor OWNER TO app_owner");
    let home = Home::new();
    add(&home, "old", &src);
    let expected = row_counts(&src, "shop");
    let globals = home.cli(&["dumpall", "old", "--globals-only"], None).ok().clone();
    let custom = backup(&home, "old", "shop", "custom");
    let plain = backup(&home, "old", "shop", "plain");

    let new = TestCluster::start(18, Some(&pw));
    add(&home, "new", &new);
    home.cli(&["restore", globals["id"].as_str().unwrap(), "--profile", "new"], None).ok();
    home.cli(&["restore", custom["id"].as_str().unwrap(), "--profile", "new", "--to-db", "shop"], None).ok();
    assert_eq!(row_counts(&new, "shop"), expected, "13 → 18, custom");
    assert_eq!(psql(&new, "shop", "SELECT tableowner FROM pg_tables WHERE tablename = 'actor'"), "app_owner");
    assert_eq!(
        psql(&new, "shop", "SELECT lo_get(oid) FROM pg_largeobject_metadata"),
        "\\x61206c61726765206f626a656374"
    );
    home.cli(&["restore", plain["id"].as_str().unwrap(), "--profile", "new", "--to-db", "shop_plain"], None).ok();
    assert_eq!(row_counts(&new, "shop_plain"), expected, "13 → 18, plain");
}

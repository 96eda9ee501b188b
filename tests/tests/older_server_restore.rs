//! A dump taken with newer tools restored into an older server. pg_dump and pg_restore 17+
//! begin with `SET transaction_timeout = 0;`, which servers before 17 refuse — and Tideline's
//! restores stop at the first error. Every format, with the client Tideline chooses, lands with
//! its rows; and the older server's own dumps go on restoring as they did.

mod support;

use support::{majors, password, psql, Home, TestCluster};

#[test]
fn a_newer_servers_dump_restores_into_an_older_server_in_every_format() {
    let all = majors();
    let (Some(&old), Some(&new)) = (all.iter().filter(|m| **m < 17).min(), all.iter().filter(|m| **m >= 17).max())
    else {
        eprintln!("skipped: needs a server before 17 and one from 17 on (majors: {all:?})");
        return;
    };
    let pw = password();
    let (src, dst) = (TestCluster::start(new, Some(&pw)), TestCluster::start(old, Some(&pw)));
    let home = Home::new();
    for (name, pg) in [("src", &src), ("dst", &dst)] {
        home.cli(&["profile", "add", name, "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    }
    psql(&src, "postgres", "CREATE DATABASE shop");
    psql(&src, "shop", "CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 1234) g");
    for format in ["custom", "directory", "tar", "plain"] {
        let id = home.cli(&["backup", "src", "--database", "shop", "--format", format], None).ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let target = format!("shop_{format}");
        let r = home.cli(&["restore", &id, "--profile", "dst", "--to-db", &target], None);
        let report = r.ok();
        assert_eq!(
            psql(&dst, &target, "SELECT count(*) FROM orders"),
            "1234",
            "PostgreSQL {new} → {old}, {format}: {report}"
        );
    }
}

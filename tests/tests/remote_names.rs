//! Odd names in a bucket that does not hide them (an unencrypted repository): a database whose
//! name holds a quote, `#`, `~`, brackets and unicode is backed up into the bucket, and a
//! second installation finds it there under the same name, and verifies and restores it.

use crate::support::garage::{add_repository as add, Garage};
use crate::support::{majors, password, psql, Home, TestCluster};

const DB: &str = "q\"uo#te~d [x] ü";

#[test]
fn an_odd_database_name_comes_back_from_the_bucket_as_it_went() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-names");
    let (first, second) = (Home::new(), Home::new());
    add(&first, "plain", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    psql(&pg, "postgres", r#"CREATE DATABASE "q""uo#te~d [x] ü""#);
    psql(&pg, DB, "CREATE TABLE t AS SELECT g FROM generate_series(1, 5) g");
    let port = pg.port().to_string();
    let profile = ["profile", "add", "p", "--host", "127.0.0.1", "--port", &port, "--user", "postgres"];
    let profile: Vec<&str> =
        profile.into_iter().chain(["--database", DB, "--sslmode", "disable", "--password-stdin"]).collect();
    first.cli(&profile, Some(&pw)).ok();
    first.cli(&["profile", "edit", "p", "--repo", "plain"], None).ok();
    let made = first.cli(&["backup", "p", "--format", "custom"], None).ok().clone();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["copies"][0]["complete"], true, "{made}");

    // Another installation: the bucket, a rescan, the same name.
    add(&second, "plain", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();
    second.cli(&profile, Some(&pw)).ok();
    second.cli(&["repo", "rescan", "--repo", "plain"], None).ok();
    let listed = second.cli(&["backups", "list"], None).ok().clone();
    let row = listed["backups"].as_array().unwrap().iter().find(|b| b["id"] == id.as_str()).cloned();
    let row = row.unwrap_or_else(|| panic!("{id} is not listed: {listed:#}\n{:#?}", garage.keys(&bucket)));
    assert_eq!(row["database"], DB, "{row}");
    second.cli(&["verify", &id], None).ok();
    second.cli(&["restore", &id, "--to-db", "back again"], None).ok();
    assert_eq!(psql(&pg, "back again", "SELECT count(*) FROM t").trim(), "5");
}

//! A teammate's installation owns what it finds in a shared bucket by profile: a profile added
//! there under the name the first installation uses holds that profile's backups — whether it
//! was added before the rescan or after — and a profile renamed on the first installation
//! keeps all of its backups, under the old name and the new, on the second.

use crate::support::garage::{add_repository as add, Garage};
use crate::support::{majors, password, Home, TestCluster};

#[test]
fn a_teammates_profile_holds_the_backups_found_in_the_bucket_even_after_a_rename() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-teammate");
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    let url = pg.url("postgres");
    let join = |home: &Home, profile: Option<&str>| {
        add(home, "team", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();
        if let Some(name) = profile {
            home.cli(&["profile", "add", name, "--url", &url, "--password-stdin"], Some(&pw)).ok();
            home.cli(&["profile", "edit", name, "--repo", "team"], None).ok();
        }
    };
    let ids = |home: &Home, profile: &str| {
        let listed = home.cli(&["backups", "list", profile], None).ok().clone();
        let mut ids: Vec<String> =
            listed["backups"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };

    let first = Home::new();
    join(&first, Some("p"));
    let before = first.cli(&["backup", "p", "--format", "custom"], None).ok()["id"].as_str().unwrap().to_string();
    first.cli(&["profile", "edit", "p", "--rename", "q"], None).ok();
    let after = first.cli(&["backup", "q", "--format", "custom"], None).ok()["id"].as_str().unwrap().to_string();
    let mut both = vec![before, after];
    both.sort();
    assert_eq!(ids(&first, "q"), both);

    // The profile added before the rescan.
    let second = Home::new();
    join(&second, Some("q"));
    second.cli(&["repo", "rescan", "--repo", "team"], None).ok();
    assert_eq!(ids(&second, "q"), both, "added before the rescan");

    // The profile added after it.
    let third = Home::new();
    join(&third, None);
    third.cli(&["repo", "rescan", "--repo", "team"], None).ok();
    third.cli(&["profile", "add", "q", "--url", &url, "--password-stdin"], Some(&pw)).ok();
    assert_eq!(ids(&third, "q"), both, "added after the rescan");
    // And what is its own it restores, by its own profile.
    third.cli(&["profile", "edit", "q", "--repo", "team"], None).ok();
    third.cli(&["restore", &both[0], "--profile", "q", "--to-db", "teammates_copy"], None).ok();
}

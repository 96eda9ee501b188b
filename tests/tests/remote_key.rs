//! `repo key rotate` against a real Garage cluster: what was written before opens with the
//! new kit and is not encrypted again, the old kit no longer adopts the bucket, and a second
//! installation with the new kit restores backups from before and after the rotation.

use crate::support::garage::{add_repository, Garage};
use crate::support::{load_sample, majors, password, psql, Home, TestCluster};

#[test]
fn a_rotated_key_encrypts_nothing_again_and_the_new_kit_opens_everything() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-rotate");
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    load_sample(&pg, "shop");
    let (first, second) = (Home::new(), Home::new());
    first.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    let kits = tempfile::tempdir().unwrap();
    let (old_kit, new_kit) = (kits.path().join("old.age"), kits.path().join("new.age"));
    let kit = |path: &std::path::Path| ["--recovery-kit".to_string(), path.display().to_string()];
    let old_arg = kit(&old_kit);
    let old_arg: Vec<&str> = old_arg.iter().map(String::as_str).collect();
    add_repository(&first, "off", (&garage, 0, &bucket), &bucket.secret, &old_arg, Some("old passphrase")).ok();
    first.cli(&["profile", "edit", "p", "--repo", "off"], None).ok();
    let before = first.cli(&["backup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    let written_before = garage.objects(&bucket);

    let rotated = first
        .cli(&["repo", "key", "rotate", "off", "--recovery-kit", new_kit.to_str().unwrap()], Some("new passphrase\n"));
    let rotated = rotated.ok().clone();
    assert_eq!(rotated["keys"], 2, "{rotated}");
    let after = first.cli(&["backup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    let now = garage.objects(&bucket);
    for (key, bytes) in written_before.iter().filter(|(k, _)| !k.ends_with("tideline-repository.json")) {
        let same = now.iter().find(|(k, _)| k == key).map(|(_, b)| b == bytes);
        assert_eq!(same, Some(true), "{key} was changed by the rotation");
    }

    // The old kit no longer adopts the bucket; the new one opens both backups.
    let refused =
        add_repository(&second, "off", (&garage, 1, &bucket), &bucket.secret, &old_arg, Some("old passphrase"));
    refused.err("recovery_kit_invalid");
    let new_arg = kit(&new_kit);
    let new_arg: Vec<&str> = new_arg.iter().map(String::as_str).collect();
    add_repository(&second, "off", (&garage, 1, &bucket), &bucket.secret, &new_arg, Some("new passphrase")).ok();
    second.cli(&["repo", "rescan", "--repo", "off"], None).ok();
    second.cli(&["profile", "add", "q", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    for (id, db) in [(&before, "from_before"), (&after, "from_after")] {
        second.cli(&["restore", id, "--profile", "q", "--to-db", db], None).ok();
        assert_eq!(
            psql(&pg, db, "SELECT count(*) FROM events"),
            psql(&pg, "shop", "SELECT count(*) FROM events"),
            "{db}"
        );
    }
}

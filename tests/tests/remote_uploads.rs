//! Uploads against a real Garage cluster when things go wrong: multipart uploads a stopped run
//! left are found by `repo test`, aborted by `repo clean` when old enough (a younger one may be
//! another run's, still going) and by retention after a day, with no parts left behind; and an
//! upload that meets a store without quorum is retried until it lands.

use crate::support::garage::{add_repository, Garage};
use crate::support::Home;

#[test]
fn unfinished_uploads_are_found_by_the_test_and_aborted_by_clean() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-unfinished");
    let home = Home::new();
    add_repository(&home, "off", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();
    let check = |home: &Home| {
        let test = home.cli(&["repo", "test", "off"], None).ok().clone();
        test["checks"].as_array().unwrap().iter().find(|c| c["check"] == "unfinished_uploads").unwrap().clone()
    };
    assert_eq!(check(&home)["state"], "passed");

    // What a run killed mid-upload leaves: under the repository's prefix, and one outside it.
    garage.leave_unfinished_upload(&bucket, "team/pg/logical/p/db/20261207T000000Z-aaaaaa/database.d/3001.dat.zst");
    garage.leave_unfinished_upload(&bucket, "not-tideline/big.bin");
    let found = check(&home);
    assert_eq!(found["state"], "warning", "{found}");
    assert!(found["detail"].as_str().unwrap().starts_with("1 unfinished"), "only the repository's own: {found}");

    // Younger than the default hour: left alone; with no age limit, aborted.
    let kept = home.cli(&["repo", "clean", "off"], None).ok().clone();
    assert_eq!((kept["aborted"].as_array().unwrap().len(), kept["left"].as_array().unwrap().len()), (0, 1), "{kept}");
    let cleaned = home.cli(&["repo", "clean", "off", "--older-than-minutes", "0"], None).ok().clone();
    assert_eq!(cleaned["aborted"].as_array().unwrap().len(), 1, "{cleaned}");
    assert_eq!(garage.pending_uploads(&bucket), 1, "only the upload outside the repository is left");
    assert_eq!(check(&home)["state"], "passed");
}

// Retention of a profile kept in the bucket aborts what a stopped run left a day or more ago,
// and only that: a younger upload may be a backup still going.
#[test]
fn retention_aborts_uploads_a_stopped_run_left_a_day_ago() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-stale-uploads");
    let home = Home::new();
    add_repository(&home, "off", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();
    home.cli(&["profile", "add", "p", "--url", "postgresql://nobody@127.0.0.1:9/none"], None).ok();
    home.cli(&["profile", "edit", "p", "--repo", "off"], None).ok();
    garage.leave_unfinished_upload(&bucket, "team/pg/base/20261207T000000Z-bbbbbb/base.tar.zst");

    let apply = ["retention", "apply", "p", "--keep-last", "1", "--yes"];
    let today = home.cli(&apply, None).ok().clone();
    assert_eq!(today["aborted_uploads"], serde_json::json!([]), "{today}");
    assert_eq!(garage.pending_uploads(&bucket), 1);

    let later = (chrono::Utc::now() + chrono::Duration::hours(25)).to_rfc3339();
    let next_day = home.cli_env(&apply, None, &[("TIDELINE_NOW", &later)]);
    let next_day = next_day.ok();
    let aborted = next_day["aborted_uploads"].as_array().unwrap();
    assert_eq!(aborted.len(), 1, "{next_day}");
    assert!(aborted[0].as_str().unwrap().ends_with("base.tar.zst"), "{next_day}");
    assert_eq!(garage.pending_uploads(&bucket), 0, "no parts are left behind");
}

// A store without quorum (two of three Garage nodes stopped) for a few seconds: the upload
// is retried with backoff and lands once they are back; the command succeeds, nothing to redo.
#[test]
fn an_upload_rides_out_a_store_without_quorum() {
    let mut garage = Garage::start();
    let bucket = garage.bucket("tideline-bad-minute");
    let home = Home::new();
    add_repository(&home, "off", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();
    let folder = tempfile::tempdir().unwrap();
    home.cli(&["repo", "add", "here", "--dir", folder.path().to_str().unwrap()], None).ok();
    std::fs::write(folder.path().join("note.bin"), vec![7u8; 3 << 20]).unwrap();

    for i in 1..3 {
        garage.stop_node(i);
    }
    let started = std::time::Instant::now();
    let mut sync = std::process::Command::new(crate::support::tideline_bin());
    sync.env("TIDELINE_HOME", home.path()).args(["repo", "sync", "here", "off", "--json"]);
    let sync = sync.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(12));
    for i in 1..3 {
        garage.start_node(i);
    }
    let out = crate::support::CliResult::from(sync.wait_with_output().unwrap());
    let synced = out.ok();
    assert_eq!(synced["copied"], 1, "{synced}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(12), "it waited for the store");
    assert!(garage.keys(&bucket).contains(&"team/pg/note.bin".to_string()), "{:?}", garage.keys(&bucket));
}

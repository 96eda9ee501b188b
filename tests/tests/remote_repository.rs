//! Repositories in object storage, against a real three-node Garage cluster: `repo add` (new
//! and encrypted, or adopted by a second installation with the recovery kit), `repo test` and
//! what it finds about the store, coded errors for a wrong key, a missing bucket and a store
//! that is down, quorum with a node stopped, and the recovery kit opening with the plain `age`
//! tool.

use crate::support::garage::{add_repository as add, Bucket, Garage};
use crate::support::Home;
use std::process::Command;

fn states(test: &serde_json::Value) -> Vec<(String, String)> {
    test["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap().to_string(), c["state"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn a_bucket_repository_is_added_tested_and_refused_with_coded_errors() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-a");
    let home = Home::new();
    let kits = tempfile::tempdir().unwrap();
    let kit = kits.path().join("kit.age");
    let pass = "a long passphrase";

    // An encrypted repository needs its kit; without one nothing is recorded.
    add(&home, "offsite", (&garage, 0, &bucket), &bucket.secret, &[], None).err("invalid_input");
    let added = add(
        &home,
        "offsite",
        (&garage, 0, &bucket),
        &bucket.secret,
        &["--recovery-kit", kit.to_str().unwrap()],
        Some(pass),
    )
    .ok()
    .clone();
    assert!(added["recipient"].as_str().unwrap().starts_with("age1"), "{added}");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&kit).unwrap().permissions()) & 0o777, 0o600);
    assert_eq!(garage.keys(&bucket), vec!["team/pg/tideline-repository.json"]);
    // The secret is in the keychain, never in the home.
    assert!(home.files_containing(&bucket.secret).is_empty());
    add(&home, "offsite", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).err("repository_exists");

    // Every check runs; Garage ignores If-None-Match, which the test finds and records.
    let test = home.cli(&["repo", "test", "offsite"], None).ok().clone();
    let found = states(&test);
    let names: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        names,
        [
            "addressing",
            "reach",
            "write",
            "read",
            "list",
            "clock",
            "conditional_create",
            "multipart",
            "unfinished_uploads",
            "versioning",
            "delete"
        ]
    );
    for (check, state) in &found {
        let expected = if check == "conditional_create" { "warning" } else { "passed" };
        assert_eq!(state, expected, "{check}: {test}");
    }
    assert_eq!(test["usable"], true);
    assert_eq!(home.cli(&["repo", "show", "offsite"], None).ok()["honours_conditional_create"], false);
    assert_eq!(garage.keys(&bucket), vec!["team/pg/tideline-repository.json"], "probe objects left behind");

    // Wrong secret, missing bucket, nothing listening: each its own code, nothing recorded.
    add(&home, "bad-key", (&garage, 0, &bucket), "not-the-secret", &["--no-encryption"], None)
        .err("repository_credentials");
    let missing =
        Bucket { name: "no-such-bucket".into(), key_id: bucket.key_id.clone(), secret: bucket.secret.clone() };
    add(&home, "bad-bucket", (&garage, 0, &missing), &bucket.secret, &["--no-encryption"], None)
        .err("repository_bucket_missing");
    let closed = tideline_core::cluster::free_port().unwrap();
    home.cli(
        &[
            "repo",
            "add",
            "down",
            "--s3",
            "s3://tideline-a",
            "--endpoint",
            &format!("http://127.0.0.1:{closed}"),
            "--region",
            "garage",
            "--path-style",
            "--access-key-id",
            "x",
            "--no-encryption",
        ],
        Some("secret\n"),
    )
    .err("repository_unreachable");
    let list = home.cli(&["repo", "list"], None).ok().clone();
    assert_eq!(list["repositories"].as_array().unwrap().len(), 1, "{list}");

    // Forgetting it on this computer leaves the bucket as it was.
    home.cli(&["repo", "remove", "offsite"], None).ok();
    home.cli(&["repo", "show", "offsite"], None).err("repository_missing");
    assert_eq!(garage.keys(&bucket), vec!["team/pg/tideline-repository.json"]);
}

#[test]
fn a_second_installation_adopts_the_bucket_with_the_recovery_kit() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-b");
    let (first, second) = (Home::new(), Home::new());
    let kits = tempfile::tempdir().unwrap();
    let kit = kits.path().join("kit.age");
    let pass = "team passphrase 1";
    let made = add(
        &first,
        "shared",
        (&garage, 0, &bucket),
        &bucket.secret,
        &["--recovery-kit", kit.to_str().unwrap()],
        Some(pass),
    )
    .ok()
    .clone();

    // Another node of the cluster, another home: the marker says it is encrypted.
    add(&second, "shared", (&garage, 1, &bucket), &bucket.secret, &[], None).err("repository_key_missing");
    add(
        &second,
        "shared",
        (&garage, 1, &bucket),
        &bucket.secret,
        &["--recovery-kit", kit.to_str().unwrap()],
        Some("wrong passphrase"),
    )
    .err("recovery_kit_invalid");
    let adopted = add(
        &second,
        "shared",
        (&garage, 1, &bucket),
        &bucket.secret,
        &["--recovery-kit", kit.to_str().unwrap()],
        Some(pass),
    )
    .ok()
    .clone();
    assert_eq!(adopted["id"], made["id"]);
    assert_eq!(adopted["recipient"], made["recipient"]);

    // A kit exported by the second installation opens in the first; another repository's kit does not.
    let again = kits.path().join("again.age");
    second
        .cli(&["repo", "key", "export", "shared", "--out", again.to_str().unwrap()], Some("another passphrase\n"))
        .ok();
    first
        .cli(&["repo", "key", "import", "shared", "--from", again.to_str().unwrap()], Some("another passphrase\n"))
        .ok();
    let other = garage.bucket("tideline-c");
    let other_kit = kits.path().join("other.age");
    add(
        &first,
        "other",
        (&garage, 0, &other),
        &other.secret,
        &["--recovery-kit", other_kit.to_str().unwrap()],
        Some(pass),
    )
    .ok();
    first
        .cli(&["repo", "key", "import", "shared", "--from", other_kit.to_str().unwrap()], Some(&format!("{pass}\n")))
        .err("recovery_kit_invalid");
}

#[test]
fn the_store_keeps_serving_with_a_node_down_and_says_so_when_all_are() {
    let mut garage = Garage::start();
    let bucket = garage.bucket("tideline-d");
    let home = Home::new();
    add(&home, "q", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();

    garage.stop_node(2);
    let test = home.cli(&["repo", "test", "q"], None).ok().clone();
    assert_eq!(test["usable"], true, "one node of three down: {test}");

    for i in 0..2 {
        garage.stop_node(i);
    }
    let test = home.cli(&["repo", "test", "q"], None).ok().clone();
    assert_eq!(test["usable"], false);
    assert_eq!(test["checks"][0]["state"], "failed", "{test}");
    assert_eq!(test["checks"][0]["error"]["code"], "repository_unreachable", "{test}");
    assert!(states(&test)[1..].iter().all(|(_, s)| s == "skipped"), "{test}");

    for i in 0..3 {
        garage.start_node(i);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let test = home.cli(&["repo", "test", "q"], None).ok().clone();
        if test["usable"] == true {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the cluster did not come back: {test}\n{}", garage.status(0));
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// No lock-in: the recovery kit, opened, is an identity file the plain `age` tool reads, and
/// what Tideline encrypts to a repository's recipient `age -d` opens (and the other way round).
#[test]
fn the_recovery_kit_opens_files_with_the_plain_age_tool() {
    use tideline_core::repo::key;
    let dir = tempfile::tempdir().unwrap();
    let kit = dir.path().join("kit.age");
    let pass = tideline_core::Secret::new("interop passphrase");
    let identity = key::Identity::generate();
    key::write_kit(&kit, &identity, &pass, "interop").unwrap();
    let opened = key::read_kit(&kit, &pass).unwrap();
    let identity_file = dir.path().join("identity.txt");
    std::fs::write(&identity_file, opened.to_secret().expose()).unwrap();

    let sealed = dir.path().join("rows.age");
    std::fs::write(&sealed, key::encrypt_to(&identity.recipient(), b"secret rows").unwrap()).unwrap();
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(&identity_file)
        .arg(&sealed)
        .output()
        .expect("the age tool (apt install age)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"secret rows");

    let by_age = dir.path().join("by-age.age");
    let out = Command::new("age")
        .args(["-r", &identity.recipient(), "-o"])
        .arg(&by_age)
        .arg(&identity_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(opened.decrypt(&std::fs::read(&by_age).unwrap()).unwrap(), std::fs::read(&identity_file).unwrap());
}

/// The 3-2-1 copy and "another machine can restore": backups (a dump and a base backup with
/// its WAL) are synced into an encrypted bucket — nothing readable in it, not even the
/// database's name — again with nothing to copy, and a second installation with the recovery
/// kit brings them back, lists them and restores the dump.
#[test]
fn a_synced_encrypted_copy_restores_on_a_second_installation() {
    use crate::support::{load_sample, majors, password, psql, TestCluster};
    let garage = Garage::start();
    for major in majors().into_iter().filter(|m| [15, 17, 18].contains(m)) {
        let bucket = garage.bucket(&format!("tideline-sync-{major}"));
        let pw = password();
        let pg = TestCluster::start(major, Some(&pw));
        load_sample(&pg, "shop");
        psql(&pg, "postgres", "CREATE DATABASE \"secret floor\"");
        psql(&pg, "secret floor", "CREATE TABLE t (note text); INSERT INTO t VALUES ('CANARY-7f3a-plaintext')");
        let (first, second) = (Home::new(), Home::new());
        for home in [&first, &second] {
            home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
        }
        let dump =
            first.cli(&["backup", "p", "--database", "secret floor"], None).ok()["id"].as_str().unwrap().to_string();
        first.cli(&["basebackup", "p"], None).ok();
        let kits = tempfile::tempdir().unwrap();
        let kit = kits.path().join("kit.age");
        let kit_arg = ["--recovery-kit", kit.to_str().unwrap()];
        add(&first, "off", (&garage, 0, &bucket), &bucket.secret, &kit_arg, Some("sync passphrase")).ok();

        let synced = first.cli(&["repo", "sync", "local", "off"], None).ok().clone();
        assert!(synced["copied"].as_u64().unwrap() >= 4, "{synced}");
        let again = first.cli(&["repo", "sync", "local", "off"], None).ok().clone();
        assert_eq!(
            (again["copied"].as_u64(), again["skipped"].as_u64()),
            (Some(0), synced["copied"].as_u64()),
            "{again}"
        );

        // Nothing readable in the bucket: no row, no database name, in any key or any byte.
        let objects = garage.objects(&bucket);
        for (key, bytes) in &objects {
            assert!(!key.contains("secret") && !key.contains("floor"), "{key} names the database");
            for needle in ["CANARY-7f3a", "secret floor", "shop"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{key} holds {needle} in the clear"
                );
            }
        }

        // A teammate's installation: the bucket, the kit, a sync back, a rescan — and a restore.
        add(&second, "off", (&garage, 1, &bucket), &bucket.secret, &kit_arg, Some("sync passphrase")).ok();
        let back = second.cli(&["repo", "sync", "off", "local"], None).ok().clone();
        assert_eq!(back["copied"], synced["copied"], "{back}");
        second.cli(&["repo", "rescan"], None).ok();
        let listed = second.cli(&["backups", "list"], None).ok().clone();
        let ids: Vec<&str> = listed["backups"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&dump.as_str()), "{listed}");
        second.cli(&["verify", &dump], None).ok();
        second.cli(&["restore", &dump, "--to-db", "copy"], None).ok();
        assert_eq!(psql(&pg, "copy", "SELECT note FROM t").trim(), "CANARY-7f3a-plaintext");
    }
}

/// A file larger than a part goes up in parts and comes back whole; a byte flipped in the
/// bucket is refused on the way back (age authenticates every chunk) and nothing is written.
#[test]
fn large_files_travel_in_parts_and_a_flipped_byte_is_refused() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-big");
    let (first, second, third) = (Home::new(), Home::new(), Home::new());
    let local =
        |home: &Home| std::path::PathBuf::from(home.cli(&["repo", "path"], None).ok()["path"].as_str().unwrap());
    let key = "logical/p/big/20261207T000000Z-a1/database.d/3001.dat";
    let big: Vec<u8> = (0..40u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let file = local(&first).join(key);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &big).unwrap();
    let kits = tempfile::tempdir().unwrap();
    let kit = kits.path().join("kit.age");
    let kit_arg = ["--recovery-kit", kit.to_str().unwrap()];
    add(&first, "off", (&garage, 0, &bucket), &bucket.secret, &kit_arg, Some("big passphrase")).ok();
    assert_eq!(first.cli(&["repo", "sync", "local", "off"], None).ok()["copied"], 1);
    assert_eq!(garage.pending_uploads(&bucket), 0, "multipart parts left behind");

    add(&second, "off", (&garage, 2, &bucket), &bucket.secret, &kit_arg, Some("big passphrase")).ok();
    second.cli(&["repo", "sync", "off", "local"], None).ok();
    assert!(std::fs::read(local(&second).join(key)).unwrap() == big, "the file came back different");

    let stored: Vec<String> = garage.keys(&bucket).into_iter().filter(|k| k.ends_with("3001.dat")).collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    garage.flip_byte(&bucket, &stored[0], 20 << 20);
    add(&third, "off", (&garage, 1, &bucket), &bucket.secret, &kit_arg, Some("big passphrase")).ok();
    third.cli(&["repo", "sync", "off", "local"], None).err("checksum_mismatch");
    let dir = local(&third).join("logical");
    let leftovers: Vec<_> = walk(&dir).into_iter().filter(|p| p.is_file()).collect();
    assert!(leftovers.is_empty(), "a refused file left {leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// 3-2-1 without thinking about it: a profile with a second repository gets each backup copied
/// there once complete (a base backup with its WAL), the copy recorded; with the store down the
/// backup still completes here, its copy marked incomplete with the reason, and the next
/// backup copied there takes it along.
#[test]
fn each_backup_of_a_profile_goes_to_its_second_repository() {
    use crate::support::{load_sample, majors, password, TestCluster};
    let mut garage = Garage::start();
    let bucket = garage.bucket("tideline-second");
    let home = Home::new();
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    load_sample(&pg, "shop");
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    let kits = tempfile::tempdir().unwrap();
    let kit = kits.path().join("kit.age");
    add(
        &home,
        "off",
        (&garage, 0, &bucket),
        &bucket.secret,
        &["--recovery-kit", kit.to_str().unwrap()],
        Some("second passphrase"),
    )
    .ok();
    let edited = home.cli(&["profile", "edit", "p", "--second-repo", "off"], None).ok().clone();
    assert_eq!(edited["second_repository"], "off");

    let dump = home.cli(&["backup", "p"], None).ok().clone();
    assert_eq!(dump["copies"][0]["repository"], "off", "{dump}");
    assert_eq!(dump["copies"][0]["complete"], true, "{dump}");
    let base = home.cli(&["basebackup", "p"], None).ok().clone();
    assert_eq!(base["copies"][0]["complete"], true, "{base}");
    let keys = garage.keys(&bucket);
    let base_id = base["id"].as_str().unwrap();
    assert!(keys.iter().any(|k| k.contains(base_id) && k.ends_with("manifest.json")), "{keys:?}");
    assert!(keys.iter().filter(|k| k.starts_with("team/pg/logical/")).count() >= 2, "{keys:?}");

    // verify reads the copy back from the bucket, file by file; a flipped byte there fails it.
    let verified = home.cli(&["verify", base_id], None).ok().clone();
    let copy = &verified["copies"][0];
    assert_eq!((copy["repository"].as_str(), copy["status"].as_str()), (Some("off"), Some("passed")), "{verified}");
    assert!(copy["files_checked"].as_u64().unwrap() >= 2, "{verified}");
    let objects = garage.objects(&bucket);
    let (largest, _) = objects
        .iter()
        .filter(|(k, _)| k.contains(base_id) && !k.ends_with("manifest.json"))
        .max_by_key(|(_, bytes)| bytes.len())
        .unwrap();
    garage.flip_byte(&bucket, largest, 4096);
    let damaged = home.cli(&["verify", base_id], None);
    let error = damaged.err("verify_failed");
    assert!(error["message"].as_str().unwrap().contains("copy in off:"), "{error}");
    assert!(error["hint"].as_str().unwrap().starts_with("This computer's copy is whole"), "{error}");

    for i in 0..3 {
        garage.stop_node(i);
    }
    let env = [("TIDELINE_S3_RETRY_SECS", "3")];
    let offline = home.cli_env(&["backup", "p"], None, &env).ok().clone();
    assert_eq!(offline["status"], "complete");
    assert_eq!(offline["copies"][0]["complete"], false, "{offline}");
    assert!(offline["copies"][0]["detail"].as_str().unwrap().starts_with("repository_unreachable"), "{offline}");
    let id = offline["id"].as_str().unwrap();
    assert_eq!(home.cli(&["backups", "show", id], None).ok()["copies"][0]["complete"], false);

    for i in 0..3 {
        garage.start_node(i);
    }
    // The next backup copied there takes the one that missed it along.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = home.cli(&["backup", "p"], None);
        if out.json["copies"][0]["complete"] == true {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the store did not come back: {}", out.json);
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let shown = home.cli(&["backups", "show", id], None).ok().clone();
    assert_eq!(shown["copies"][0]["complete"], true, "{shown}");
    let listed = home.cli(&["backups", "list", "p"], None).ok().clone();
    let row = listed["backups"].as_array().unwrap().iter().find(|b| b["id"] == id).cloned().unwrap();
    assert_eq!(row["copies"][0]["repository"], "off", "the list says where each copy is: {row}");
    assert!(garage.keys(&bucket).iter().any(|k| k.contains(id) && k.ends_with("manifest.json")));
    let synced = home.cli(&["repo", "sync", "local", "off"], None).ok().clone();
    assert_eq!(synced["copied"], 0, "nothing was left for the sync: {synced}");

    home.cli(&["profile", "edit", "p", "--no-second-repo"], None).ok();
    let alone = home.cli(&["backup", "p"], None).ok().clone();
    assert_eq!(alone["copies"], serde_json::json!([]), "{alone}");
}

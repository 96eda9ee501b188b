//! Tideline as a normal OS user — not root — beside a server that another user (`postgres`, as
//! a packaged server is) owns. With this computer's repository: `wal setup` streams (the
//! server's user cannot reach the user's home), and a dump, a base backup, the timeline, a
//! restore and a PITR all work as that user. With the profile kept in a bucket: the secret and the
//! repository's identity in that user's own keychain, `wal setup` choosing to stream (the
//! server's user cannot be given a config file that holds the key), the stream and the
//! backups going up to the bucket, and a PITR into a sandbox the user's own server runs,
//! reading the bucket. Everything made stays that user's, and closed to others.

use crate::support::garage::{add_repository, Garage};
use crate::support::os_user::OsUserSession;
use crate::support::{password, psql, query_at, start_stream, wait_for, Home, TestCluster};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

each_major!([15, 18] fn a_normal_user_keeps_a_postgres_owned_server_in_a_bucket_and_recovers(major) {
    if !tideline_core::cluster::running_as_root() {
        eprintln!("skipped: making another OS user needs root");
        return;
    }
    let user = Arc::new(OsUserSession::start(&format!("tl-normal-{major}")));
    let home = Home::of_user(&user);
    let garage = Garage::start();
    let bucket = garage.bucket(&format!("tideline-normal-{major}"));
    let kit = home.path().join("kit.age");
    let kit_arg = ["--recovery-kit", kit.to_str().unwrap()];
    add_repository(&home, "team", (&garage, 0, &bucket), &bucket.secret, &kit_arg, Some("normal passphrase")).ok();
    assert_eq!(std::fs::metadata(&kit).unwrap().uid(), user.uid, "the kit is the user's");

    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let server_user = std::fs::metadata(pg.get().data_dir()).unwrap().uid();
    assert_ne!(server_user, user.uid, "the server is another user's");
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["profile", "edit", "p", "--repo", "team"], None).ok();

    // The server's user cannot be handed a file holding the bucket's key: streaming, as this user.
    let setup = home.cli(&["wal", "setup", "p", "--apply"], None).ok().clone();
    assert_eq!(setup["method"], "stream", "PostgreSQL {major}: {setup}");
    let reason = setup["method_reason"].as_str().unwrap();
    assert!(reason.contains(&user.name), "the reason names who runs what: {reason}");
    let blocked = home.cli(&["wal", "setup", "p", "--method", "archive"], None).err("wal_setup_blocked").clone();
    assert!(blocked["hint"].as_str().unwrap().contains("--method stream"), "{blocked}");

    let mut stream = start_stream(&home, &pg, "p");
    psql(&pg, "postgres", "CREATE TABLE orders AS SELECT g AS id, 'CANARY-normal' AS note FROM generate_series(1, 300) g");
    let base = home.cli(&["basebackup", "p"], None).ok().clone();
    let shown = home.cli(&["backups", "show", base["id"].as_str().unwrap()], None).ok().clone();
    assert_eq!((&shown["copies"][0]["repository"], &shown["copies"][0]["complete"]), (&"team".into(), &true.into()), "{shown}");
    home.cli(&["backup", "p"], None).ok();
    home.cli(&["mark", "p", "before"], None).ok();
    psql(&pg, "postgres", "DELETE FROM orders");
    let segment = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())").trim().to_string();
    psql(&pg, "postgres", "SELECT pg_logical_emit_message(false, 't', 'next')");
    let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()").trim().to_string();
    let wal = format!("team/pg/clusters/{sysid}/wal/{segment}");
    wait_for("the accident's segment streamed into the bucket", || {
        let keys = garage.keys(&bucket);
        ["zst", "b3"].iter().all(|suffix| keys.contains(&format!("{wal}.{suffix}")))
    });
    let _ = stream.kill();
    let _ = stream.wait();
    for (key, bytes) in garage.objects(&bucket) {
        assert!(!bytes.windows(13).any(|w| w == b"CANARY-normal"), "{key} holds a row in the clear");
    }

    // The sandbox's server is this user's; its restore_command reads the bucket with a key
    // file that is theirs alone, gone once it has promoted.
    let sandbox = home.cli(&["pitr", "p", "--name", "before"], None).ok().clone();
    let port = sandbox["port"].as_u64().unwrap() as u16;
    assert_eq!(query_at(major, port, &pw, "SELECT count(*) FROM orders"), "300", "PostgreSQL {major}: {sandbox}");
    let root = std::path::Path::new(sandbox["root"].as_str().unwrap());
    assert_eq!(std::fs::metadata(root.join("data")).unwrap().uid(), user.uid, "the sandbox is the user's");
    let conf = std::fs::read_to_string(root.join("data/postgresql.auto.conf")).unwrap();
    assert!(conf.contains("--repo-config"), "restore_command reads the bucket too: {conf}");
    assert!(!root.join("restore-from-bucket.json").exists(), "the key left with the recovery");
    home.cli(&["sandbox", "remove", sandbox["id"].as_str().unwrap()], None).ok();
    home.cli(&["wal", "teardown", "p"], None).ok();

    // What Tideline made is the user's, and nobody else may list the repository's folders.
    for path in walk(home.path()) {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(meta.uid(), user.uid, "{} is not the user's", path.display());
    }
    for dir in walk(&home.path().join("repo")).into_iter().filter(|p| p.is_dir()) {
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode & 0o044, 0, "{} is mode {mode:o}", dir.display());
    }
});

each_major!([13, 17] fn a_normal_user_backs_up_and_recovers_a_postgres_owned_server(major) {
    if !tideline_core::cluster::running_as_root() {
        eprintln!("skipped: making another OS user needs root");
        return;
    }
    let user = Arc::new(OsUserSession::start(&format!("tl-local-{major}")));
    let home = Home::of_user(&user);
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();

    // The server's user cannot be given a folder in this user's repository: streaming, as them.
    let setup = home.cli(&["wal", "setup", "p", "--apply"], None).ok().clone();
    assert_eq!(setup["method"], "stream", "PostgreSQL {major}: {setup}");
    let reason = setup["method_reason"].as_str().unwrap();
    assert!(reason.contains("the server runs as OS user 'postgres'"), "PostgreSQL {major}: {reason}");

    let mut stream = start_stream(&home, &pg, "p");
    psql(&pg, "postgres", "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 300) g");
    home.cli(&["basebackup", "p"], None).ok();
    let dump = home.cli(&["backup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    home.cli(&["mark", "p", "before"], None).ok();
    psql(&pg, "postgres", "DELETE FROM orders");
    let segment = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())").trim().to_string();
    psql(&pg, "postgres", "SELECT pg_logical_emit_message(false, 't', 'next')");
    let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()").trim().to_string();
    let stored = home.path().join(format!("repo/clusters/{sysid}/wal/{segment}.zst"));
    wait_for("the accident's segment streamed here", || stored.exists());
    let _ = stream.kill();
    let _ = stream.wait();

    let timeline = home.cli(&["timeline", "p"], None).ok().clone();
    assert!(timeline["window"]["timelines"][0]["latest"]["lsn"].is_string(), "PostgreSQL {major}: {timeline}");
    let sandbox = home.cli(&["pitr", "p", "--name", "before"], None).ok().clone();
    let port = sandbox["port"].as_u64().unwrap() as u16;
    assert_eq!(query_at(major, port, &pw, "SELECT count(*) FROM orders"), "300", "PostgreSQL {major}: {sandbox}");
    let root = std::path::Path::new(sandbox["root"].as_str().unwrap());
    assert_eq!(std::fs::metadata(root.join("data")).unwrap().uid(), user.uid, "the sandbox is the user's");
    home.cli(&["sandbox", "remove", sandbox["id"].as_str().unwrap()], None).ok();
    home.cli(&["restore", &dump, "--profile", "p", "--to-db", "orders_copy"], None).ok();
    assert_eq!(psql(&pg, "orders_copy", "SELECT count(*) FROM orders").trim(), "300");
    home.cli(&["wal", "teardown", "p"], None).ok();
    for path in walk(home.path()) {
        assert_eq!(std::fs::symlink_metadata(&path).unwrap().uid(), user.uid, "{} is not the user's", path.display());
    }
});

/// Every path under `dir`, `dir` included.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < all.len() {
        if all[i].is_dir() && !all[i].is_symlink() {
            let children: Vec<_> = std::fs::read_dir(&all[i]).unwrap().flatten().map(|e| e.path()).collect();
            all.extend(children);
        }
        i += 1;
    }
    all
}

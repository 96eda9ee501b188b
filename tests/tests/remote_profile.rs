//! A bucket as a profile's repository (`profile edit P --repo NAME`), against a real Garage
//! cluster and real servers: `wal setup` points archive_command at the bucket, a base backup
//! and a parallel dump are uploaded before they are reported done (the dump's data files as
//! pg_dump finishes each), the timeline and events come from the bucket's listing and the
//! summaries (one node of three down changes nothing), a recovery brings home the WAL it
//! replays and no older, health counts the server's last push, a key rotation rewrites
//! archive_command's config, and a second installation (with the newest kit) — the bucket, the
//! recovery kit, `repo rescan --repo`, no catalog of the first and a profile not tied to the
//! bucket — sees the window and the accident without downloading the WAL and recovers to before
//! it, `wal verify` and the timeline replacing from the bucket WAL files (and digests) whose
//! copy here has rotted, and the sandbox's restore_command taking from the bucket each one that
//! rots after the window was drawn. With the bucket out of reach a backup fails with a coded
//! error, stays listed here, and its copy there is marked incomplete.

use crate::support::garage::{add_repository, wal_fetch, Garage};
use crate::support::{last_log_line, load_sample, password, psql, query_at, wait_for, Home, TestCluster};

each_major!([15, 17, 18] fn a_profile_kept_in_a_bucket_recovers_there_and_on_a_second_installation(major) {
    let mut garage = Garage::start();
    let bucket = garage.bucket(&format!("tideline-primary-{major}"));
    let (first, second) = (Home::new(), Home::new());
    // Where a recovering server (the cluster's OS user, when run as root) can read the WAL.
    let first_shared = tempfile::Builder::new().prefix("tideline-first-").tempdir().unwrap();
    std::fs::set_permissions(first_shared.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    first.cli(&["repo", "path", first_shared.path().join("repo").to_str().unwrap()], None).ok();
    let kits = tempfile::tempdir().unwrap();
    let kit = kits.path().join("kit.age");
    let kit_arg = ["--recovery-kit", kit.to_str().unwrap()];
    add_repository(&first, "team", (&garage, 0, &bucket), &bucket.secret, &kit_arg, Some("team passphrase")).ok();

    let pw = password();
    let mut pg = TestCluster::start(major, Some(&pw));
    first.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let edited = first.cli(&["profile", "edit", "p", "--repo", "team"], None).ok().clone();
    assert_eq!(edited["repository"], "team", "{edited}");

    // archive_command pushes into the bucket, with a config only the server's user reads.
    let setup = first.cli(&["wal", "setup", "p", "--apply"], None).ok().clone();
    assert_eq!(setup["method"], "archive", "{setup}");
    let command = setup["archive_command"].as_str().unwrap();
    assert!(command.contains("wal-push --repo-config"), "{setup}");
    assert!(setup["wal_dir"].as_str().unwrap().starts_with("s3://"), "{setup}");
    let config = command.split(" --repo-config ").nth(1).unwrap().trim_end_matches(" %p").trim_matches('\'').to_string();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&config).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{config}");
    pg.get().stop().unwrap();
    pg.restart();
    let setup = first.cli(&["wal", "setup", "p", "--apply"], None).ok().clone();
    assert_eq!(setup["test"]["arrived"], true, "archiving reached the bucket: {setup}");
    let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()").trim().to_string();

    // A new key: archive_command's config is rewritten for it; what is already there stays.
    let kit = kits.path().join("kit-2.age");
    let rotate = ["repo", "key", "rotate", "team", "--recovery-kit", kit.to_str().unwrap()];
    let rotated = first.cli(&rotate, Some("second team passphrase\n")).ok().clone();
    assert_eq!(rotated["wal_configs"], serde_json::json!([config]), "{rotated}");
    let recipient = rotated["recipient"].as_str().unwrap();
    assert!(std::fs::read_to_string(&config).unwrap().contains(recipient), "the config encrypts to the new key");
    let kit_arg = ["--recovery-kit", kit.to_str().unwrap()];

    psql(&pg, "postgres", "CREATE TABLE orders AS SELECT g AS id, 'CANARY-primary' AS note FROM generate_series(1, 300) g");
    // One node of three down: the base backup and its WAL still land (quorum).
    garage.stop_node(2);
    let base = first.cli(&["basebackup", "p"], None).ok().clone();
    let base_id = base["id"].as_str().unwrap().to_string();
    // base.tar went up as pg_basebackup wrote it (pg_wal.tar after: it is rewritten in place).
    let followed = last_log_line(&first, "uploaded while pg_basebackup wrote them");
    assert!(followed.contains("files=1"), "{followed}");
    let shown = first.cli(&["backups", "show", &base_id], None).ok().clone();
    assert_eq!(shown["copies"][0]["repository"], "team", "{shown}");
    assert_eq!(shown["copies"][0]["complete"], true, "{shown}");
    // A parallel dump: its data files go up as pg_dump finishes each.
    load_sample(&pg, "shop");
    first.cli(&["profile", "add", "shop", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    first.cli(&["profile", "edit", "shop", "--repo", "team"], None).ok();
    let dump = first.cli(&["backup", "shop", "--jobs", "2"], None).ok().clone();
    let dump_id = dump["id"].as_str().unwrap().to_string();
    let shown = first.cli(&["backups", "show", &dump_id], None).ok().clone();
    assert_eq!((&shown["copies"][0]["repository"], &shown["copies"][0]["complete"]), (&"team".into(), &true.into()), "{shown}");
    first.cli(&["mark", "p", "before"], None).ok();
    psql(&pg, "postgres", "DELETE FROM orders");
    let segment = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())").trim().to_string();
    wait_for("the accident's segment in the bucket", || {
        psql(&pg, "postgres", "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").trim() >= segment.as_str()
    });
    garage.start_node(2);
    // Nothing of the WAL is here yet: the server says when its last push to the bucket succeeded.
    let health = first.cli(&["health", "p"], None).ok().clone();
    let rpo = &health["profiles"][0]["rpo"];
    assert!(rpo["formula"].as_str().unwrap().contains("newest WAL"), "PostgreSQL {major}: {health}");
    assert!(rpo["seconds"].as_f64().unwrap() < 600.0, "{health}");
    let keys = garage.keys(&bucket);
    assert!(keys.contains(&format!("team/pg/clusters/{sysid}/wal/{segment}.zst")), "{keys:?}");
    for (key, bytes) in garage.objects(&bucket) {
        assert!(!bytes.windows(14).any(|w| w == b"CANARY-primary"), "{key} holds a row in the clear");
    }

    // The first installation's timeline reaches past the accident: the WAL came from the bucket.
    let reaches_past = |home: &Home| {
        let t = home.cli(&["timeline", "p"], None).ok().clone();
        let latest = t["window"]["timelines"][0]["latest"]["lsn"].as_str().map(str::to_string);
        (latest, t)
    };
    let (latest, view) = reaches_past(&first);
    assert!(latest.is_some(), "PostgreSQL {major}: {view}");
    // A recovery brings home the WAL it replays, from the base backup's start on, and no older.
    let sandbox = first.cli(&["pitr", "p", "--name", "before"], None).ok().clone();
    let port = sandbox["port"].as_u64().unwrap() as u16;
    assert_eq!(query_at(major, port, &pw, "SELECT count(*) FROM orders"), "300", "PostgreSQL {major}: {sandbox}");
    first.cli(&["sandbox", "remove", sandbox["id"].as_str().unwrap()], None).ok();
    let first_wal = first_shared.path().join(format!("repo/clusters/{sysid}/wal"));
    let wal_there = format!("team/pg/clusters/{sysid}/wal/");
    let keys = garage.keys(&bucket);
    let mut in_bucket: Vec<&str> = keys.iter().filter_map(|k| k.strip_prefix(&wal_there)?.strip_suffix(".zst")).collect();
    in_bucket.retain(|n| n.len() == 24);
    in_bucket.sort();
    let here = |name: &str| first_wal.join(format!("{name}.zst")).exists();
    assert!(here(&segment), "PostgreSQL {major}: the accident's segment was replayed from here");
    assert!(!here(in_bucket[0]), "PostgreSQL {major}: {} is older than the base backup: {in_bucket:?}", in_bucket[0]);

    // A teammate: the bucket, the kit, a rescan — no catalog of the first.
    add_repository(&second, "team", (&garage, 1, &bucket), &bucket.secret, &kit_arg, Some("second team passphrase")).ok();
    // Where a recovering server (the cluster's OS user, when run as root) can read the WAL.
    let shared = tempfile::Builder::new().prefix("tideline-team-").tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    second.cli(&["repo", "path", shared.path().join("repo").to_str().unwrap()], None).ok();
    let rescan = second.cli(&["repo", "rescan", "--repo", "team"], None).ok().clone();
    assert!(rescan["synced"]["copied"].as_u64().unwrap() > 0, "{rescan}");
    let listed = second.cli(&["backups", "list"], None).ok().clone();
    assert!(listed["backups"].as_array().unwrap().iter().any(|b| b["id"] == base_id.as_str()), "{listed}");
    second.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    // Not tied to the bucket (no `profile edit --repo`): its WAL is read where the copies of
    // its base backups are.
    let (their_latest, their_view) = reaches_past(&second);
    assert_eq!(their_latest, latest, "PostgreSQL {major}: the same window on both: {their_view}");
    let events = second.cli(&["events", "p"], None).ok().clone();
    let delete = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "delete")
        .unwrap_or_else(|| panic!("PostgreSQL {major}: no DELETE in {events:#}"));
    assert_eq!(delete["description"], "DELETE of 300 of 300 rows from public.orders (100%)", "{delete}");
    // The window and the events came from the summaries: of the WAL, only the newest segment
    // (for the segment size) came home.
    let local_wal = shared.path().join(format!("repo/clusters/{sysid}/wal"));
    let segments_here = || count_with(&local_wal, |n| n.len() == 28 && n.ends_with(".zst"));
    assert_eq!(segments_here(), 1, "PostgreSQL {major}: only the newest segment is here");
    assert!(count_with(&local_wal, |n| n.ends_with(".json")) > 1, "the summaries are here");
    // `wal verify` reads every file, so it brings them all home.
    second.cli(&["wal", "verify", "p"], None).ok();
    assert!(segments_here() > 1, "PostgreSQL {major}: wal verify brought the WAL home");
    // Rot the timeline's check finds (the file changed): the bucket's copy replaces it, the
    // window stays whole, and the damaged copy is kept aside.
    rot(&local_wal.join(format!("{segment}.zst")), false);
    let (healed_latest, healed_view) = reaches_past(&second);
    assert_eq!(healed_latest, latest, "PostgreSQL {major}: {healed_view}");
    assert!(local_wal.join(format!("{segment}.zst.damaged")).exists(), "the damaged copy is kept aside");
    // `wal verify` reads every file: a rotted file, and a rotted digest beside a sound file,
    // both come again from the bucket, and nothing stays damaged.
    let other = other_segment(&local_wal, &segment);
    rot(&local_wal.join(format!("{other}.zst")), true);
    rot(&local_wal.join(format!("{segment}.b3")), true);
    let verified = second.cli(&["wal", "verify", "p"], None).ok().clone();
    let mut replaced: Vec<&str> = verified["replaced"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    replaced.sort();
    let mut wanted = vec![segment.as_str(), other.as_str()];
    wanted.sort();
    assert_eq!(replaced, wanted, "PostgreSQL {major}: {verified}");
    assert!(local_wal.join(format!("{segment}.b3.damaged")).exists(), "the damaged digest is kept aside");
    second.cli(&["wal", "verify", "p"], None).ok();
    // Rot after the window was drawn (size and time unchanged, so it is not read again):
    // restore_command takes each damaged file from the bucket.
    let rotted = rot_segments(&local_wal);
    assert!(rotted > 0, "no WAL brought home to {}", local_wal.display());
    let sandbox = second.cli(&["pitr", "p", "--name", "before"], None).ok().clone();
    let port = sandbox["port"].as_u64().unwrap() as u16;
    assert_eq!(query_at(major, port, &pw, "SELECT count(*) FROM orders"), "300", "PostgreSQL {major}: {sandbox}");
    let root = std::path::Path::new(sandbox["root"].as_str().unwrap());
    let conf = std::fs::read_to_string(root.join("data/postgresql.auto.conf")).unwrap();
    assert!(conf.contains("--repo-config"), "restore_command reads the bucket too: {conf}");
    assert!(!root.join("restore-from-bucket.json").exists(), "the key left with the recovery");
    let log = std::fs::read_to_string(root.join("server.log")).unwrap();
    assert!(log.contains("came from the bucket: the copy here is damaged"), "PostgreSQL {major}: {log}");
    second.cli(&["sandbox", "remove", sandbox["id"].as_str().unwrap()], None).ok();
    second.cli(&["verify", &dump_id], None).ok();
    second.cli(&["restore", &dump_id, "--profile", "p", "--to-db", "shop_copy"], None).ok();
    assert_eq!(psql(&pg, "shop_copy", "SELECT count(*) FROM events").trim(), psql(&pg, "shop", "SELECT count(*) FROM events").trim());

    // The bucket out of reach: the backup fails with a coded error, and stays listed here
    // with its copy there incomplete.
    for i in 0..3 {
        garage.stop_node(i);
    }
    // (A job rides out three minutes of a store that fails; the test's store stays down.)
    first.cli_env(&["backup", "p"], None, &[("TIDELINE_S3_RETRY_SECS", "3")]).err("repository_unreachable");
    // With the store down the timeline still answers, from what is here.
    let view = first.cli(&["timeline", "p"], None).ok().clone();
    assert!(view["window"]["timelines"][0]["latest"]["lsn"].is_string(), "{view}");
    let listed = first.cli(&["backups", "list", "p"], None).ok().clone();
    let dump = listed["backups"].as_array().unwrap().iter().find(|b| b["kind"] == "logical").cloned();
    let dump = dump.unwrap_or_else(|| panic!("the dump stays listed here: {listed:#}"));
    let shown = first.cli(&["backups", "show", dump["id"].as_str().unwrap()], None).ok().clone();
    assert_eq!(shown["copies"][0]["complete"], false, "{shown}");
    for i in 0..3 {
        garage.start_node(i);
    }
    // Retention deletes in the bucket too: the older base backup, and the WAL only it needed.
    let newer = first.cli(&["basebackup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    // The bucket took a backup again: the dump whose upload failed went up with it.
    let shown = first.cli(&["backups", "show", dump["id"].as_str().unwrap()], None).ok().clone();
    assert_eq!(shown["copies"][0]["complete"], true, "{shown}");
    first.cli(&["wal", "verify", "p"], None).ok();
    let here = first_wal.join(&segment);
    assert!(here.with_extension("b3").exists(), "the BLAKE3 came home with the file");
    first.cli(&["retention", "apply", "p", "--keep-last", "1", "--yes"], None).ok();
    assert!(!here.with_extension("zst").exists() && !here.with_extension("b3").exists(), "expired here too, .b3 and all");
    let keys = garage.keys(&bucket);
    let has = |part: &str| keys.iter().any(|k| k.contains(part));
    assert!(!has(&format!("/{base_id}/")) && has(&format!("/{newer}/manifest.json")), "{keys:#?}");
    assert!(!has(&format!("{segment}.zst")), "the accident's WAL, needed by no kept backup, is gone: {keys:#?}");
    let down = first.cli(&["wal", "teardown", "p"], None).ok().clone();
    assert!(!std::path::Path::new(&config).exists(), "teardown removes the bucket's config {config}: {down} {command}");
});

// Streaming (pg_receivewal, run as Tideline's user) for a profile kept in a bucket: each
// segment stored here goes up with its summary.
each_major!([17] fn a_profile_kept_in_a_bucket_streams_its_wal_there(major) {
    let garage = Garage::start();
    let bucket = garage.bucket(&format!("tideline-stream-{major}"));
    let home = Home::new();
    let kits = tempfile::tempdir().unwrap();
    let kit = kits.path().join("kit.age");
    let kit_arg = ["--recovery-kit", kit.to_str().unwrap()];
    add_repository(&home, "team", (&garage, 0, &bucket), &bucket.secret, &kit_arg, Some("stream passphrase")).ok();
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["profile", "edit", "p", "--repo", "team"], None).ok();
    let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()").trim().to_string();
    let mut stream = crate::support::start_stream(&home, &pg, "p");
    let sql = "SELECT pg_walfile_name(pg_switch_wal()) FROM (SELECT pg_logical_emit_message(false, 't', 'x')) m";
    let segment = psql(&pg, "postgres", sql).trim().to_string();
    psql(&pg, "postgres", "SELECT pg_logical_emit_message(false, 't', 'next')");
    let wal = format!("team/pg/clusters/{sysid}/wal/{segment}");
    wait_for("the streamed segment, its summary and its .b3 in the bucket", || {
        let keys = garage.keys(&bucket);
        ["zst", "json", "b3"].iter().all(|suffix| keys.contains(&format!("{wal}.{suffix}")))
    });
    let _ = stream.kill();
    let _ = stream.wait();

    // The .b3 is what archive_command would have written: restore_command's fetch matches it.
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("recovery.json");
    home.cli(&["repo", "wal-config", "team", "--out", config.to_str().unwrap(), "--with-identity"], None).ok();
    let dest = work.path().join("fetched");
    let fetch = wal_fetch(&crate::support::tideline_bin(), &config, &segment, &dest, &pg.get().data_dir());
    assert!(fetch.status.success(), "{}", String::from_utf8_lossy(&fetch.stderr));
    garage.assert_matches_b3(&bucket, &wal, &dest);
    home.cli(&["wal", "teardown", "p"], None).ok();
});

/// Flips a byte in the middle of each archived segment under `wal`, keeping its size and
/// modification time, as a disk that rots does; returns how many.
fn rot_segments(wal: &std::path::Path) -> usize {
    let segments = std::fs::read_dir(wal).unwrap().flatten().map(|e| e.path());
    let segments: Vec<_> =
        segments.filter(|p| p.file_name().unwrap().len() == 28 && p.extension().unwrap() == "zst").collect();
    segments.iter().for_each(|p| rot(p, true));
    segments.len()
}

/// How many files under `dir` have a name `pick` picks.
fn count_with(dir: &std::path::Path, pick: impl Fn(&str) -> bool) -> usize {
    let names = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string());
    names.filter(|n| pick(n)).count()
}

/// An archived segment under `wal` other than `not`.
fn other_segment(wal: &std::path::Path, not: &str) -> String {
    let names = std::fs::read_dir(wal).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string());
    let mut segments: Vec<String> = names
        .filter_map(|n| n.strip_suffix(".zst").map(str::to_string))
        .filter(|n| n.len() == 24 && n != not)
        .collect();
    segments.sort();
    segments.pop().unwrap_or_else(|| panic!("no segment but {not} under {}", wal.display()))
}

/// Flips the byte in the middle of `file`, keeping its modification time when `keep_time`.
fn rot(file: &std::path::Path, keep_time: bool) {
    let modified = std::fs::metadata(file).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(file, &bytes).unwrap();
    if keep_time {
        std::fs::File::options().write(true).open(file).unwrap().set_modified(modified).unwrap();
    }
}

//! WAL into a bucket by archive_command (`wal-push --repo-config`), against a real Garage
//! cluster and real servers of 15, 17 and 18: the config file readable by the server's OS user
//! alone, every segment stored encrypted with its BLAKE3 and its summary, fetched back whole
//! by restore_command's `wal-fetch` (from the bucket when this computer's copy is damaged; a
//! flipped byte in the bucket refused, encrypted or not); with the store down the archiver fails and retries, and
//! once it is back the archive has no gap; a different file under an archived name is refused.

use crate::support::garage::{add_repository, wal_fetch, Bucket, Garage};
use crate::support::{installed_tideline, majors, password, psql, Home, TestCluster};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Segment numbers (timeline 1) archived in the bucket.
fn archived(garage: &Garage, bucket: &Bucket, sysid: &str) -> Vec<u64> {
    let prefix = format!("team/pg/clusters/{sysid}/wal/");
    let mut numbers: Vec<u64> = garage
        .keys(bucket)
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix)?.strip_suffix(".zst").map(str::to_string))
        .filter(|n| n.len() == 24)
        .map(|n| u64::from_str_radix(&n[8..16], 16).unwrap() * 256 + u64::from_str_radix(&n[16..], 16).unwrap())
        .collect();
    numbers.sort();
    numbers
}

#[test]
fn archive_command_pushes_wal_into_the_bucket_without_a_gap() {
    let mut garage = Garage::start();
    for major in majors().into_iter().filter(|m| [15, 17, 18].contains(m)) {
        let bucket = garage.bucket(&format!("tideline-wal-{major}"));
        let home = Home::new();
        let kits = tempfile::tempdir().unwrap();
        let kit = kits.path().join("kit.age");
        let kit_arg = ["--recovery-kit", kit.to_str().unwrap()];
        add_repository(&home, "off", (&garage, 0, &bucket), &bucket.secret, &kit_arg, Some("wal passphrase")).ok();
        home.cli(&["repo", "test", "off"], None).ok();

        // The config for the server's OS user, beside the binary it runs.
        let (work, cli) = installed_tideline("tideline-remote-wal-");
        let config = work.path().join("off.json");
        let owner = tideline_core::cluster::cluster_owner().unwrap().map(|u| u.name);
        let mut write = vec!["repo", "wal-config", "off", "--out", config.to_str().unwrap()];
        if let Some(owner) = &owner {
            write.extend(["--owner", owner.as_str()]);
        }
        home.cli(&write, None).ok();
        assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(
            !std::fs::read_to_string(&config).unwrap().contains("AGE-SECRET-KEY"),
            "wal-push's config holds no identity"
        );

        // wal-push keeps trying a failing store for 30 s; the outage below need not wait that out.
        let command =
            format!("TIDELINE_S3_RETRY_SECS=4 '{}' wal-push --repo-config '{}' %p", cli.display(), config.display());
        let pw = password();
        let pg = TestCluster::start_with(
            major,
            Some(&pw),
            vec![
                ("archive_mode".into(), "on".into()),
                ("archive_command".into(), format!("'{}'", command.replace('\'', "''"))),
            ],
        );
        let sysid = psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()").trim().to_string();
        psql(&pg, "postgres", "CREATE TABLE t (note text)");
        let mut last = String::new();
        for i in 0..4 {
            psql(&pg, "postgres", &format!("INSERT INTO t VALUES ('CANARY-wal-{i}')"));
            last = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())").trim().to_string();
        }
        let archived_up_to = |name: &str| {
            psql(&pg, "postgres", "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").trim() >= name
        };
        wait_until("archiving into the bucket", || archived_up_to(&last));
        let keys = garage.keys(&bucket);
        let wal = format!("team/pg/clusters/{sysid}/wal/{last}");
        for suffix in [".zst", ".b3", ".json"] {
            assert!(keys.contains(&format!("{wal}{suffix}")), "{wal}{suffix} missing: {keys:?}");
        }
        for (key, bytes) in garage.objects(&bucket) {
            assert!(!bytes.windows(10).any(|w| w == b"CANARY-wal"), "{key} holds a row in the clear");
        }

        // restore_command's side: the identity in a config of its own; the file comes back whole.
        let recovery = work.path().join("recovery.json");
        home.cli(&["repo", "wal-config", "off", "--out", recovery.to_str().unwrap(), "--with-identity"], None).ok();
        let dest = work.path().join("fetched");
        let fetch = wal_fetch(&cli, &recovery, &last, &dest, &pg.get().data_dir());
        assert!(fetch.status.success(), "{}", String::from_utf8_lossy(&fetch.stderr));
        garage.assert_matches_b3(&bucket, &wal, &dest);
        let missing = wal_fetch(&cli, &recovery, "00000001000000FF000000FF", &dest, &pg.get().data_dir());
        assert_eq!(missing.status.code(), Some(1), "a file not in the archive is exit 1");

        // A recovery Tideline runs reads this computer's copy first and the bucket's when the
        // one here is damaged; one damaged in both places stops the recovery.
        let here = work.path().join("here");
        let local = here.join(format!("clusters/{sysid}/wal"));
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(local.join(format!("{last}.zst")), b"rotten").unwrap();
        let both = |name: &str| {
            let mut c = Command::new(&cli);
            c.args(["wal-fetch", "--repo"]).arg(&here).arg("--repo-config").arg(&recovery);
            c.args([name, dest.to_str().unwrap(), "--pgdata", pg.get().data_dir().to_str().unwrap()]);
            c.output().unwrap()
        };
        let healed = both(&last);
        let said = String::from_utf8_lossy(&healed.stderr);
        assert!(healed.status.success(), "{said}");
        assert!(said.contains("came from the bucket: the copy here is damaged"), "{said}");
        garage.assert_matches_b3(&bucket, &wal, &dest);
        assert_eq!(both("00000001000000FF000000FF").status.code(), Some(1), "missing in both places");
        garage.flip_byte(&bucket, &format!("{wal}.zst"), 200);
        assert_eq!(both(&last).status.code(), Some(126), "damaged in both places");
        assert_eq!(wal_fetch(&cli, &recovery, &last, &dest, &pg.get().data_dir()).status.code(), Some(126));

        // The store down: the archiver fails and keeps the segments; back up, no gap.
        for i in 0..3 {
            garage.stop_node(i);
        }
        let failed_before: u64 =
            psql(&pg, "postgres", "SELECT failed_count FROM pg_stat_archiver").trim().parse().unwrap();
        psql(&pg, "postgres", "INSERT INTO t VALUES ('while the store was down')");
        let during = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())").trim().to_string();
        wait_until("the archiver failing", || {
            psql(&pg, "postgres", "SELECT failed_count FROM pg_stat_archiver").trim().parse::<u64>().unwrap()
                > failed_before
        });
        for i in 0..3 {
            garage.start_node(i);
        }
        psql(&pg, "postgres", "INSERT INTO t VALUES ('after')");
        let after = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())").trim().to_string();
        wait_until("archiving to catch up", || archived_up_to(&after));
        let numbers = archived(&garage, &bucket, &sysid);
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "a gap in the archive: {numbers:?}");
        assert!(archived_up_to(&during));

        // A different file under an archived name is refused, the archived one kept.
        let history = work.path().join("00000002.history");
        std::fs::write(&history, "1\t0/3000000\tfirst\n").unwrap();
        let push = |cfg: &std::path::Path| {
            let mut c = Command::new(&cli);
            c.args(["wal-push", "--json", "--repo-config"])
                .arg(cfg)
                .arg(&history)
                .arg("--pgdata")
                .arg(pg.get().data_dir());
            c.output().unwrap()
        };
        assert!(push(&recovery).status.success());
        assert!(push(&recovery).status.success(), "the same file again is archived already");
        std::fs::write(&history, "1\t0/4000000\tsecond\n").unwrap();
        let refused = push(&recovery);
        assert_eq!(refused.status.code(), Some(1));
        let said: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
        assert_eq!(said["code"], "wal_conflict", "{said}");

        // Unencrypted, an object has no check of its own (its zstd frame carries no checksum):
        // the BLAKE3 recorded at the push catches a flipped byte.
        let plain_bucket = garage.bucket(&format!("tideline-wal-plain-{major}"));
        let plain_to = (&garage, 0, &plain_bucket);
        add_repository(&home, "plain", plain_to, &plain_bucket.secret, &["--no-encryption"], None).ok();
        let plain = work.path().join("plain.json");
        home.cli(&["repo", "wal-config", "plain", "--out", plain.to_str().unwrap()], None).ok();
        assert!(push(&plain).status.success());
        let key = format!("team/pg/clusters/{sysid}/wal/00000002.history.zst");
        let stored = garage.objects(&plain_bucket).into_iter().find(|(k, _)| *k == key).unwrap().1;
        garage.flip_byte(&plain_bucket, &key, stored.len() - 1);
        let fetched = wal_fetch(&cli, &plain, "00000002.history", &dest, &pg.get().data_dir());
        assert_eq!(fetched.status.code(), Some(126), "{}", String::from_utf8_lossy(&fetched.stderr));

        // A config anybody else may read is refused: it holds a secret key.
        std::fs::set_permissions(&recovery, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loose = push(&recovery);
        let said: serde_json::Value = serde_json::from_slice(&loose.stdout).unwrap();
        assert_eq!(said["code"], "access_denied", "{said}");
    }
}

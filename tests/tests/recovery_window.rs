//! `tideline timeline` on every major: the recovery window from a real base backup and a real
//! archive — earliest at the backup's consistency point, latest at the last archived segment
//! with its last commit's time (read by pg_waldump) — and a deleted segment in the middle that
//! shows as a gap where the window ends.

use crate::support::{password, psql, wait_for, Home, TestCluster};

fn lsn(v: &serde_json::Value) -> u64 {
    let (hi, lo) = v.as_str().unwrap().split_once('/').unwrap();
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

each_major!(fn the_window_runs_from_the_backup_to_the_last_segment_and_ends_at_a_gap(major) {
    let pw = password();
    let pg = TestCluster::start_with(major, Some(&pw), vec![("archive_mode".into(), "on".into())]);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let (work, bin) = crate::support::installed_tideline("tideline-window-");
    let repo = work.path().join("repo");
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    let setup =
        home.cli(&["wal", "setup", "p", "--apply", "--tideline-path", bin.to_str().unwrap()], None).ok().clone();
    assert_eq!(setup["test"]["arrived"], true, "{setup}");
    let sysid = setup["system_identifier"].as_str().unwrap().to_string();
    let wal = repo.join("clusters").join(&sysid).join("wal");

    let base = home.cli(&["basebackup", "p"], None).ok().clone();
    let stop = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(std::path::Path::new(base["path"].as_str().unwrap()).join("manifest.json"))
            .unwrap(),
    )
    .unwrap()["physical"]["stop_lsn"]
        .clone();
    psql(&pg, "postgres", "CREATE TABLE t (id int)");
    let mut switched = Vec::new();
    for i in 0..3 {
        psql(&pg, "postgres", &format!("INSERT INTO t VALUES ({i})"));
        switched.push(psql(&pg, "postgres", "SELECT pg_walfile_name(pg_switch_wal())"));
    }
    let last = switched.last().unwrap().clone();
    wait_for("the last segment", || wal.join(format!("{last}.zst")).exists());
    let mark = home.cli(&["mark", "p", "after-inserts"], None).ok().clone();

    let v = home.cli(&["timeline", "p"], None).ok().clone();
    let w = &v["window"];
    assert_eq!(w["gaps"].as_array().unwrap().len(), 0, "PostgreSQL {major}: {w}");
    let t1 = &w["timelines"][0];
    assert_eq!(t1["timeline"], 1);
    assert_eq!(t1["earliest"]["lsn"], stop, "{t1}");
    assert_eq!(t1["from_backup"], base["id"]);
    let seg_end = |name: &str| {
        let log = u64::from_str_radix(&name[8..16], 16).unwrap();
        let seg = u64::from_str_radix(&name[16..24], 16).unwrap();
        (log << 32) + (seg + 1) * (16 << 20)
    };
    assert!(lsn(&t1["latest"]["lsn"]) >= seg_end(&last), "{t1}");
    let latest_time = t1["latest"]["time"].as_str().unwrap_or_else(|| panic!("PostgreSQL {major}: no time: {t1}"));
    let latest_time = chrono::DateTime::parse_from_rfc3339(latest_time).unwrap();
    let age = chrono::Utc::now().signed_duration_since(latest_time);
    assert!(age < chrono::Duration::minutes(2) && age > chrono::Duration::seconds(-5), "{latest_time}");
    assert_eq!(v["restore_points"][0]["name"], "after-inserts");
    assert_eq!(v["restore_points"][0]["lsn"], mark["lsn"]);
    assert_eq!(w["base_backups"].as_array().unwrap().len(), 1);

    // Delete the middle segment: the window now ends where it began.
    std::fs::remove_file(wal.join(format!("{}.zst", switched[1]))).unwrap();
    let v = home.cli(&["timeline", "p"], None).ok().clone();
    let w = &v["window"];
    let gaps = w["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{w}");
    assert_eq!(gaps[0]["first_missing"], switched[1].as_str());
    assert_eq!(w["timelines"][0]["latest"]["lsn"], gaps[0]["start_lsn"], "{w}");
});

fn flip_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

// Item 10 of the integrity issue: a flipped byte in an archived segment ends the window
// before it (named, as at a gap), refuses a PITR past it before anything starts, fails
// `wal verify`; a good copy put back brings the window back; a damaged summary is rewritten;
// and damage that keeps the file's size and time (bit rot) is found by `wal verify`.
each_major!(fn a_damaged_segment_ends_the_window_and_is_named(major) {
    let pw = password();
    let src = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &src.pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", src.repo.to_str().unwrap()], None).ok();
    // The server's user makes the cluster's directory first (root's would shut it out).
    src.switch_and_wait();
    home.cli(&["basebackup", "p"], None).ok();
    psql(&src.pg, "postgres", "CREATE TABLE t (id int)");
    let mut switched = Vec::new();
    for i in 0..3 {
        psql(&src.pg, "postgres", &format!("INSERT INTO t SELECT g FROM generate_series(1, {}) g", 1000 * (i + 1)));
        switched.push(src.switch_and_wait());
    }
    let whole = home.cli(&["timeline", "p"], None).ok()["window"].clone();
    let end = whole["timelines"][0]["latest"]["lsn"].clone();
    assert_eq!(whole["damaged"].as_array().unwrap().len(), 0, "{whole}");
    home.cli(&["wal", "verify", "p"], None).ok();

    let middle = src.wal.join(format!("{}.zst", switched[1]));
    let good = std::fs::read(&middle).unwrap();
    flip_byte(&middle);
    let w = home.cli(&["timeline", "p"], None).ok()["window"].clone();
    assert_eq!(w["damaged"][0]["name"], switched[1].as_str(), "PostgreSQL {major}: {w}");
    assert_eq!(w["gaps"][0]["first_missing"], switched[1].as_str(), "{w}");
    assert_eq!(w["timelines"][0]["latest"]["lsn"], w["gaps"][0]["start_lsn"], "{w}");
    let refused = home.cli(&["pitr", "p", "--lsn", end.as_str().unwrap()], None).err("checksum_mismatch").clone();
    assert!(refused["message"].as_str().unwrap().contains(&switched[1]), "{refused}");
    assert_eq!(home.cli(&["sandbox", "list"], None).ok()["sandboxes"].as_array().unwrap().len(), 0);
    let verify = home.cli(&["wal", "verify", "p"], None).err("checksum_mismatch").clone();
    assert!(verify["message"].as_str().unwrap().contains(&switched[1]), "{verify}");

    // A good copy put back: whole again.
    std::fs::write(&middle, &good).unwrap();
    let w = home.cli(&["timeline", "p"], None).ok()["window"].clone();
    assert_eq!(
        (w["damaged"].as_array().unwrap().len(), w["timelines"][0]["latest"]["lsn"].clone()),
        (0, end.clone())
    );

    // A damaged summary: rewritten by `wal verify`.
    let summary = src.wal.join(format!("{}.json", switched[0]));
    std::fs::write(&summary, &std::fs::read(&summary).unwrap()[..20]).unwrap();
    let verified = home.cli(&["wal", "verify", "p"], None).ok().clone();
    assert_eq!(verified["rewritten_summaries"][0], switched[0].as_str(), "{verified}");
    assert!(serde_json::from_slice::<serde_json::Value>(&std::fs::read(&summary).unwrap()).is_ok());

    // Bit rot keeps size and time: only reading finds it, and then the timeline knows.
    let last = src.wal.join(format!("{}.zst", switched[2]));
    let modified = std::fs::metadata(&last).unwrap().modified().unwrap();
    flip_byte(&last);
    std::fs::File::options().write(true).open(&last).unwrap().set_modified(modified).unwrap();
    let unseen = home.cli(&["timeline", "p"], None).ok()["window"].clone();
    assert_eq!(unseen["damaged"].as_array().unwrap().len(), 0, "{unseen}");
    // A PITR then finds it as it replays: the error names the file and keeps the log.
    let failed = home.cli(&["pitr", "p", "--lsn", end.as_str().unwrap()], None).err("checksum_mismatch").clone();
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains(&format!("{}.zst is damaged", switched[2])), "PostgreSQL {major}: {failed}");
    let kept = message.split("server.log (").nth(1).and_then(|r| r.split(')').next()).unwrap();
    assert!(std::fs::read_to_string(kept).unwrap().contains("is damaged"), "{kept}");
    assert_eq!(home.cli(&["sandbox", "list"], None).ok()["sandboxes"].as_array().unwrap().len(), 0);
    let verify = home.cli(&["wal", "verify", "p"], None).err("checksum_mismatch").clone();
    assert!(verify["message"].as_str().unwrap().contains(&switched[2]), "{verify}");
    let w = home.cli(&["timeline", "p"], None).ok()["window"].clone();
    assert_eq!(w["damaged"][0]["name"], switched[2].as_str(), "PostgreSQL {major}: {w}");
});

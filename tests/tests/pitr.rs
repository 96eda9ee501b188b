//! The guide's disaster on every major: rows inserted, a restore point, `DELETE FROM orders`,
//! more traffic. PITR by time, by name, by xid (exclusive) and by LSN each bring the rows back
//! in a sandbox while the live database stays as it is; the sandbox compares, copies a table
//! back under a new name and (confirmed) in place, stops, starts and goes away. Targets that
//! cannot be reached are refused with their own code before any server starts.

use crate::support::{majors, password, psql, Home};
use std::path::Path;

/// Removes every sandbox of a home when the test ends, passing or not.
struct Sandboxes<'a>(&'a Home);

impl Drop for Sandboxes<'_> {
    fn drop(&mut self) {
        let list = self.0.cli(&["sandbox", "list"], None);
        if let Some(all) = list.json["sandboxes"].as_array().cloned() {
            for s in all {
                self.0.cli(&["sandbox", "remove", s["id"].as_str().unwrap_or_default()], None);
            }
        }
    }
}

fn archived(wal: &Path) -> Vec<String> {
    std::fs::read_dir(wal)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default()
}

each_major!(fn the_guides_disaster_is_undone_in_sandboxes_by_time_name_xid_and_lsn(major) {
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let (pg, repo, wal, work) = (&source.pg, &source.repo, &source.wal, &source.work);
    let home = Home::new();
    let _cleanup = Sandboxes(&home);
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    // The server creates the WAL directory with its first archived segment (as after
    // `tideline wal setup`), before Tideline writes base backups beside it.
    source.switch_and_wait();
    let before_backup = psql(pg, "postgres", "SELECT clock_timestamp()");
    psql(pg, "postgres", "CREATE TABLE orders (id serial PRIMARY KEY, note text); INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 1000) g");
    let base = home.cli(&["basebackup", "p"], None).ok().clone();
    psql(pg, "postgres", "INSERT INTO orders (note) SELECT 'late' || g FROM generate_series(1, 500) g");
    home.cli(&["mark", "p", "before-delete"], None).ok();
    let lsn_before = psql(pg, "postgres", "SELECT pg_current_wal_lsn()");
    let time_before = psql(pg, "postgres", "SELECT clock_timestamp()");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let xid = psql(pg, "postgres", "BEGIN; DELETE FROM orders; SELECT txid_current(); COMMIT;");
    psql(pg, "postgres", "CREATE TABLE traffic AS SELECT g FROM generate_series(1, 100) g; INSERT INTO orders (note) VALUES ('after')");
    source.switch_and_wait();

    let targets: [&[&str]; 4] = [
        &["--time", &time_before],
        &["--name", "before-delete"],
        &["--xid", &xid, "--exclusive"],
        &["--lsn", &lsn_before],
    ];
    let mut first = None;
    for target in targets {
        let mut args = vec!["pitr", "p"];
        args.extend_from_slice(target);
        let s = home.cli(&args, None).ok().clone();
        let port = s["port"].as_u64().unwrap() as u16;
        assert!(s["id"].as_str().unwrap().starts_with("sb-"), "{s}");
        assert_eq!(s["host"], "127.0.0.1");
        assert_eq!(s["status"], "running");
        assert_eq!(
            crate::support::query_at(major, port, &pw, "SELECT count(*) FROM orders"),
            "1500",
            "PostgreSQL {major}: PITR {target:?} brings the rows back"
        );
        assert_eq!(crate::support::query_at(major, port, &pw, "SELECT pg_is_in_recovery()"), "f");
        assert!(s["reached"]["lsn"].as_str().is_some(), "{s}");
        assert!(s["reached"]["time"].as_str().is_some(), "{s}");
        assert!(s["reached"]["xid"].as_str().is_some(), "{s}");
        assert_ne!(s["reached"]["xid"].as_str(), Some(xid.as_str()), "the DELETE was not replayed: {s}");
        // Recovery durations are measured for RTO estimates.
        assert!(s["laydown_ms"].as_u64().is_some() && s["replay_ms"].as_u64().unwrap() > 0, "{s}");
        // The sandbox's server wrote nothing it could not (an external pid file in its
        // root-owned directory once was refused).
        let log = std::fs::read_to_string(Path::new(s["root"].as_str().unwrap()).join("server.log")).unwrap();
        assert!(!log.contains("could not write"), "PostgreSQL {major}: {log}");
        first.get_or_insert(s);
    }
    // The live database is untouched by all of it.
    assert_eq!(psql(pg, "postgres", "SELECT count(*) FROM orders"), "1");
    assert!(!archived(wal).iter().any(|n| n.contains(".history")), "a sandbox archived into the source's archive");

    let s = first.unwrap();
    let id = s["id"].as_str().unwrap();
    let cmp = home.cli(&["sandbox", "compare", id], None).ok().clone();
    let orders = cmp["tables"].as_array().unwrap().iter().find(|t| t["table"] == "orders").unwrap().clone();
    assert_eq!((orders["sandbox_rows"].as_i64(), orders["live_rows"].as_i64()), (Some(1500), Some(1)));
    let traffic = cmp["tables"].as_array().unwrap().iter().find(|t| t["table"] == "traffic").unwrap().clone();
    assert_eq!((traffic["sandbox_rows"].as_i64(), traffic["live_rows"].as_i64()), (None, Some(100)));

    // Copy back under a new name (the default): indexes and the sequence come along renamed.
    let copied =
        home.cli(&["sandbox", "copy-back", id, "--table", "public.orders", "--to", "p"], None).ok().clone();
    let new_name = copied["tables"][0]["target"].as_str().unwrap().to_string();
    assert_eq!(copied["tables"][0]["rows"], 1500, "{copied}");
    assert_eq!(psql(pg, "postgres", &format!("SELECT count(*) FROM {new_name}")), "1500");
    psql(pg, "postgres", &format!("INSERT INTO {new_name} (note) VALUES ('new')"));
    assert_eq!(psql(pg, "postgres", "SELECT count(*) FROM orders"), "1");
    // Replacing needs confirmation; confirmed, the live table gets the rows and its
    // sequence moves past them.
    home.cli(&["sandbox", "copy-back", id, "--table", "orders", "--to", "p", "--replace"], None)
        .err("confirmation_required");
    home.cli(&["sandbox", "copy-back", id, "--table", "orders", "--to", "p", "--replace", "--yes"], None).ok();
    assert_eq!(psql(pg, "postgres", "SELECT count(*) FROM orders"), "1500");
    let next: i64 = psql(pg, "postgres", "INSERT INTO orders (note) VALUES ('next') RETURNING id").parse().unwrap();
    assert!(next > 1501, "the sequence was not moved past the copied rows: {next}");

    // Lifecycle: stop, list says stopped, start again, remove.
    let stopped = home.cli(&["sandbox", "stop", id], None).ok().clone();
    assert_eq!(stopped["status"], "stopped");
    let started = home.cli(&["sandbox", "start", id], None).ok().clone();
    assert_eq!(started["status"], "running");
    let port = started["port"].as_u64().unwrap() as u16;
    assert_eq!(crate::support::query_at(major, port, &pw, "SELECT count(*) FROM orders"), "1500");
    let root = started["root"].as_str().unwrap().to_string();
    home.cli(&["sandbox", "remove", id], None).ok();
    assert!(!Path::new(&root).exists());
    home.cli(&["sandbox", "show", id], None).err("sandbox_missing");

    // Unreachable targets: refused before a server starts (no new sandbox appears).
    let count = || home.cli(&["sandbox", "list"], None).ok()["sandboxes"].as_array().unwrap().len();
    let before = count();
    let lay_downs = || {
        std::fs::read_dir(home.path().join("logs"))
            .unwrap()
            .flatten()
            .map(|f| {
                std::fs::read_to_string(f.path()).unwrap_or_default().matches("sandbox lay-down starting").count()
            })
            .sum::<usize>()
    };
    let lay_downs_before = lay_downs();
    home.cli(&["pitr", "p", "--time", &before_backup], None).err("target_before_consistency");
    home.cli(&["pitr", "p", "--lsn", "FF/0"], None).err("target_beyond_wal");
    home.cli(&["pitr", "p", "--time", "2099-01-01T00:00:00Z"], None).err("target_beyond_wal");
    home.cli(&["pitr", "p", "--timeline", "7", "--immediate"], None).err("target_timeline_unreachable");
    home.cli(&["pitr", "p"], None).err("target_invalid");
    // A transaction or restore point the WAL never had: the summaries know.
    home.cli(&["pitr", "p", "--xid", "99999999"], None).err("target_not_in_wal");
    home.cli(&["pitr", "p", "--name", "before-delet"], None).err("target_not_in_wal");
    assert_eq!(lay_downs(), lay_downs_before, "a refused target got as far as laying a backup down");
    // Where a segment has no summary nothing is known: the server's FATAL becomes a coded
    // error, the replayed copy is removed, and its log is kept.
    let unsummarised = Home::new();
    let _cleanup_too = Sandboxes(&unsummarised);
    unsummarised.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    unsummarised.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    unsummarised.cli(&["repo", "rescan"], None).ok();
    let last_summary = archived(wal).into_iter().filter(|n| n.len() == 29 && n.ends_with(".json")).max().unwrap();
    std::fs::rename(wal.join(&last_summary), work.path().join(&last_summary)).unwrap();
    let failed = unsummarised.cli(&["pitr", "p", "--xid", "99999999"], None).err("target_beyond_wal").clone();
    assert!(failed["message"].as_str().unwrap().contains("recovery ended before"), "{failed}");
    std::fs::rename(work.path().join(&last_summary), wal.join(&last_summary)).unwrap();
    // A gap: a segment after the backup goes missing; a target past it is refused.
    for _ in 0..2 {
        psql(pg, "postgres", "INSERT INTO traffic VALUES (0)");
        source.switch_and_wait();
    }
    let backup_stop = base["path"].as_str().unwrap().to_string();
    assert!(!backup_stop.is_empty());
    let mut segments: Vec<String> = archived(wal).into_iter().filter(|n| n.len() == 28).collect();
    segments.sort();
    let hole = &segments[segments.len() - 2];
    std::fs::rename(wal.join(hole), work.path().join(hole)).unwrap();
    home.cli(&["pitr", "p", "--lsn", &lsn_of_end(&segments[segments.len() - 1])], None).err("target_in_gap");
    std::fs::rename(work.path().join(hole), wal.join(hole)).unwrap();
    assert_eq!(count(), before, "a refused target left a sandbox");
    // Nothing here got as far as a lay-down: the gap was refused before, too.
    assert_eq!(lay_downs(), lay_downs_before);
});

/// The LSN a little into segment file `name` (`<24 hex>.zst`, 16 MB segments).
fn lsn_of_end(name: &str) -> String {
    let number =
        u64::from_str_radix(&name[8..16], 16).unwrap() * 0x100 + u64::from_str_radix(&name[16..24], 16).unwrap();
    let lsn = number * (16 << 20) + 0x100;
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// `tideline pitr` killed while its sandbox's server replays: the sandbox is listed as
/// unfinished (never a hidden server), and the next recovery stops and removes it.
#[test]
fn a_killed_pitr_leaves_a_listed_sandbox_that_the_next_one_removes() {
    let major = majors()[0];
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let pg = &source.pg;
    let home = Home::new();
    let _cleanup = Sandboxes(&home);
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    home.cli(&["basebackup", "p"], None).ok();
    psql(pg, "postgres", "CREATE TABLE t AS SELECT generate_series(1, 100000) AS x");
    source.switch_and_wait();

    let mut pitr = home.spawn(&["pitr", "p", "--immediate"]);
    // Listed as being made from the start; once its server runs, kill Tideline.
    let started = std::time::Instant::now();
    let pid_file = loop {
        let listed = home.cli(&["sandbox", "list"], None).ok().clone();
        let making = listed["sandboxes"].as_array().unwrap().first().cloned();
        if let Some(s) = making {
            assert_eq!(s["status"], "creating", "{s}");
            let pid_file = Path::new(s["root"].as_str().unwrap()).join("data/postmaster.pid");
            if pid_file.exists() {
                break pid_file;
            }
        }
        assert!(pitr.try_wait().unwrap().is_none(), "pitr ended before its server started");
        assert!(started.elapsed().as_secs() < 60, "no sandbox server started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    unsafe { libc::kill(pitr.id() as i32, libc::SIGKILL) };
    pitr.wait().unwrap();

    let listed = home.cli(&["sandbox", "list"], None).ok().clone();
    let all = listed["sandboxes"].as_array().unwrap();
    assert_eq!(all.len(), 1, "the cut-off sandbox is listed: {listed}");
    assert_eq!(all[0]["status"], "unfinished", "{listed}");
    let cut = all[0]["id"].as_str().unwrap().to_string();
    home.cli(&["sandbox", "start", &cut], None).err("sandbox_failed");

    let next = home.cli(&["pitr", "p", "--immediate"], None).ok().clone();
    let listed = home.cli(&["sandbox", "list"], None).ok().clone();
    let ids: Vec<&str> = listed["sandboxes"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [next["id"].as_str().unwrap()], "{listed}");
    assert!(!pid_file.parent().unwrap().parent().unwrap().exists(), "the cut-off sandbox's directory is gone");
    // Its server is stopped: nothing runs on that data directory any more.
    let data = pid_file.parent().unwrap().to_string_lossy().to_string();
    let running = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&data)));
    assert!(!running, "a server still runs on {data}");
}

// One flipped byte in a base backup (an uncompressed tar, where nothing else notices, and a
// plain copy) stops the lay-down with the file named, and no sandbox is left.
each_major!(fn pitr_refuses_a_base_backup_with_a_flipped_byte(major) {
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let pg = &source.pg;
    let home = Home::new();
    let _cleanup = Sandboxes(&home);
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    psql(
        pg,
        "postgres",
        "CREATE TABLE t AS SELECT g AS id, repeat('x', 100) AS note FROM generate_series(1, 20000) g",
    );
    source.switch_and_wait();
    for args in [["--format", "tar", "--compress", "none"], ["--format", "plain", "--compress", "none"]] {
        let mut cmd = vec!["basebackup", "p"];
        cmd.extend(args);
        let made = home.cli(&cmd, None).ok().clone();
        let id = made["id"].as_str().unwrap().to_string();
        psql(pg, "postgres", "INSERT INTO t VALUES (0, 'after')");
        source.switch_and_wait();
        let shown = home.cli(&["backups", "show", &id], None).ok().clone();
        let dir = Path::new(shown["path"].as_str().unwrap()).to_path_buf();
        // The file that holds t's rows: the one with the longest run of 'x'.
        let files: Vec<String> =
            shown["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
        let run: Vec<u8> = vec![b'x'; 100];
        let (file, at) = files
            .iter()
            .filter(|f| f.starts_with("data/"))
            .find_map(|f| {
                let bytes = std::fs::read(dir.join(f)).ok()?;
                bytes.windows(100).position(|w| w == run.as_slice()).map(|at| (f.clone(), at))
            })
            .expect("a file with t's rows");
        let path = dir.join(&file);
        let original = std::fs::read(&path).unwrap();
        let mut bytes = original.clone();
        bytes[at + 50] = b'y';
        std::fs::write(&path, &bytes).unwrap();
        let err =
            home.cli(&["pitr", "p", "--immediate", "--from-backup", &id], None).err("checksum_mismatch").clone();
        assert!(err["message"].as_str().unwrap().contains(&file), "PostgreSQL {major} {args:?}: {err}");
        assert!(home.cli(&["sandbox", "list"], None).ok()["sandboxes"].as_array().unwrap().is_empty());
        std::fs::write(&path, &original).unwrap();
        let s = home.cli(&["pitr", "p", "--immediate", "--from-backup", &id], None).ok().clone();
        home.cli(&["sandbox", "remove", s["id"].as_str().unwrap()], None).ok();
    }
});

//! The fault suite's kill points, on every major: backup, base backup, restore, PITR, retention,
//! wal-push and the WAL stream, each killed (Tideline or its tool, SIGKILL or SIGTERM) at seeded
//! random moments within its measured duration; after each, the checks of
//! `crate::support::kill_points`. The counts are printed, and npm test shows them at the end.

use crate::support::kill_points::{self as kp, Tally, Victim};
use crate::support::{add_profile, load_sample, majors, password, psql, Home, TestCluster};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const PG_DUMP: Victim = Victim::Tool(&["/pg_dump\0"]);
const PG_BASEBACKUP: Victim = Victim::Tool(&["/pg_basebackup\0", "--wal-method=stream"]);
const PG_RESTORE: Victim = Victim::Tool(&["/pg_restore\0"]);
const PG_RECEIVEWAL: Victim = Victim::Tool(&["/pg_receivewal\0"]);

/// One operation under test: the command killed, who may be killed, what prepares a trial, and
/// the next run (which must succeed) with what tidies after it.
struct Operation<'a> {
    name: &'static str,
    args: Vec<String>,
    victims: &'static [Victim],
    prepare: &'a dyn Fn(),
    /// Given what the killed run said (its report, or its error).
    next: &'a dyn Fn(&serde_json::Value) -> Result<(), String>,
    tidy: &'a dyn Fn(),
}

fn rng_for(name: &str, major: u32) -> fastrand::Rng {
    let salt = name.bytes().fold(major as u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    fastrand::Rng::with_seed(kp::seed() ^ salt)
}

fn run_trials(home: &Home, repo: &std::path::Path, op: Operation, major: u32) {
    let args: Vec<&str> = op.args.iter().map(String::as_str).collect();
    // The run's duration, measured: kills land anywhere within it.
    (op.prepare)();
    let started = Instant::now();
    home.cli(&args, None).ok();
    let duration = started.elapsed();
    (op.tidy)();
    let mut rng = rng_for(op.name, major);
    let (mut tally, mut verified) = (Tally::default(), BTreeSet::new());
    for i in 0..kp::trials() {
        (op.prepare)();
        // Every victim with both signals in turn; the moment is the random part.
        let n = op.victims.len();
        let victim = op.victims[i as usize % n];
        let signal = if (i as usize / n).is_multiple_of(2) { libc::SIGKILL } else { libc::SIGTERM };
        let delay = Duration::from_millis(rng.u64(0..=duration.as_millis() as u64));
        let trial = format!("{} #{i} on {major}: {} to {victim:?} after {delay:?}", op.name, kp::signal_name(signal));
        let (landed, killed) = kp::kill_run(home, &args, victim, signal, delay);
        tally.trials += 1;
        tally.landed += landed as u32;
        kp::check_after(home, repo, &mut tally, &trial, &mut verified, &BTreeSet::new());
        if let Err(e) = (op.next)(&killed) {
            tally.next_failed += 1;
            tally.problems.push(format!("{trial}: the next run failed: {e}; the killed run said {killed}"));
        }
        (op.tidy)();
        kp::check_leftovers(repo, &mut tally, &trial);
    }
    tally.finish(op.name, major);
}

fn ok(result: crate::support::CliResult) -> Result<(), String> {
    if result.output.status.success() {
        Ok(())
    } else {
        Err(result.json.to_string())
    }
}

fn setup(major: u32, pw: &str) -> (TestCluster, Home, std::path::PathBuf) {
    let pg = TestCluster::start(major, Some(pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    add_profile(&home, &pg, pw);
    let repo = home.path().join("repo");
    (pg, home, repo)
}

each_major!(fn kill_points_of_backups(major) {
    let pw = password();
    let (_pg, home, repo) = setup(major, &pw);
    let args = ["backup", "p", "--database", "shop", "--format", "directory"].map(String::from).to_vec();
    let next =
        |_: &serde_json::Value| ok(home.cli(&["backup", "p", "--database", "shop", "--format", "directory"], None));
    let op = Operation {
        name: "backup",
        args,
        victims: &[Victim::Tideline, PG_DUMP],
        prepare: &|| {},
        next: &next,
        tidy: &|| {},
    };
    run_trials(&home, &repo, op, major);
});

each_major!(fn kill_points_of_base_backups(major) {
    let pw = password();
    let (_pg, home, repo) = setup(major, &pw);
    let args = ["basebackup", "p", "--format", "plain"].map(String::from).to_vec();
    let next = |_: &serde_json::Value| ok(home.cli(&["basebackup", "p", "--format", "plain"], None));
    let op = Operation {
        name: "basebackup",
        args,
        victims: &[Victim::Tideline, PG_BASEBACKUP],
        prepare: &|| {},
        next: &next,
        tidy: &|| {},
    };
    run_trials(&home, &repo, op, major);
});

each_major!(fn kill_points_of_restores(major) {
    let pw = password();
    let (pg, home, repo) = setup(major, &pw);
    let id = home.cli(&["backup", "p", "--database", "shop", "--format", "custom"], None).ok()["id"].clone();
    let id = id.as_str().unwrap().to_string();
    let args = vec!["restore".into(), id.clone(), "--to-db".into(), "copy".into()];
    let exists = || psql(&pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'copy'") == "1";
    let tidy = || {
        psql(&pg, "postgres", "DROP DATABASE IF EXISTS copy WITH (FORCE)");
    };
    let next = |killed: &serde_json::Value| {
        // A restore that failed leaves nothing under the name asked for; one the kill
        // missed finished whole.
        if killed["code"].is_string() && exists() {
            return Err(format!("a failed restore left database copy: {killed}"));
        }
        tidy();
        ok(home.cli(&["restore", &id, "--to-db", "copy"], None))
    };
    let op = Operation {
        name: "restore",
        args,
        victims: &[Victim::Tideline, PG_RESTORE],
        prepare: &|| {},
        next: &next,
        tidy: &tidy,
    };
    run_trials(&home, &repo, op, major);
});

each_major!(fn kill_points_of_retention(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let repo = home.path().join("repo");
    let prepare = || {
        for _ in 0..3 {
            home.cli(&["backup", "p", "--format", "custom"], None).ok();
        }
    };
    let args = ["retention", "apply", "p", "--keep-last", "1", "--yes"].map(String::from).to_vec();
    let next =
        |_: &serde_json::Value| ok(home.cli(&["retention", "apply", "p", "--keep-last", "1", "--yes"], None));
    let op = Operation {
        name: "retention apply",
        args,
        victims: &[Victim::Tideline],
        prepare: &prepare,
        next: &next,
        tidy: &|| {},
    };
    run_trials(&home, &repo, op, major);
});

each_major!(fn kill_points_of_pitr(major) {
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let home = Home::new();
    add_profile(&home, &source.pg, &pw);
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    psql(&source.pg, "postgres", "CREATE TABLE t AS SELECT g FROM generate_series(1, 100000) g");
    home.cli(&["basebackup", "p"], None).ok();
    psql(&source.pg, "postgres", "INSERT INTO t SELECT generate_series(1, 1000)");
    source.switch_and_wait();
    let remove_all = || {
        let list = home.cli(&["sandbox", "list"], None).ok()["sandboxes"].clone();
        for s in list.as_array().unwrap() {
            home.cli(&["sandbox", "remove", s["id"].as_str().unwrap()], None).ok();
        }
    };
    let args = ["pitr", "p", "--immediate"].map(String::from).to_vec();
    let next = |_: &serde_json::Value| {
        remove_all();
        ok(home.cli(&["pitr", "p", "--immediate"], None))
    };
    let op = Operation {
        name: "pitr",
        args,
        victims: &[Victim::Tideline],
        prepare: &|| {},
        next: &next,
        tidy: &remove_all,
    };
    run_trials(&home, &source.repo, op, major);
});

// wal-push is PostgreSQL's archive_command: killed, it must leave either no archived file or a
// whole one, never a temporary file that looks archived, and the next push must succeed.
each_major!(fn kill_points_of_wal_push(major) {
    let pg = TestCluster::start_with(major, None, vec![("wal_level".into(), "replica".into())]);
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 100000) g");
    let segment = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    psql(&pg, "postgres", "SELECT pg_switch_wal()");
    let data = pg.get().data_dir();
    let work = tempfile::tempdir().unwrap();
    let (repo, source) = (work.path().join("repo"), data.join("pg_wal").join(&segment));
    let push = || {
        let mut cmd = std::process::Command::new(crate::support::tideline_bin());
        cmd.args(["wal-push", "--repo"]).arg(&repo).arg("--pgdata").arg(&data).arg(&source);
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        cmd
    };
    let archived = repo
        .join("clusters")
        .join(psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()"))
        .join("wal");
    let started = Instant::now();
    assert!(push().status().unwrap().success());
    let duration = started.elapsed();
    let mut rng = rng_for("wal-push", major);
    let mut tally = Tally::default();
    for i in 0..kp::trials() {
        let _ = std::fs::remove_dir_all(&archived);
        let signal = if i.is_multiple_of(2) { libc::SIGKILL } else { libc::SIGTERM };
        let delay = Duration::from_micros(rng.u64(0..=duration.as_micros() as u64));
        let trial = format!("wal-push #{i} on {major}: {} after {delay:?}", kp::signal_name(signal));
        let mut child = push().spawn().unwrap();
        std::thread::sleep(delay);
        let landed = child.try_wait().unwrap().is_none();
        unsafe { libc::kill(child.id() as i32, signal) };
        let _ = child.wait();
        tally.trials += 1;
        tally.landed += landed as u32;
        let stored = archived.join(format!("{segment}.zst"));
        if stored.exists() {
            let whole =
                tideline_core::wal::archive::read_compressed(&stored).map(|b| b == std::fs::read(&source).unwrap());
            if whole.ok() != Some(true) {
                tally.partial_listed += 1;
                tally.problems.push(format!("{trial}: {} is not the whole segment", stored.display()));
            }
        }
        if !push().status().unwrap().success() {
            tally.next_failed += 1;
            tally.problems.push(format!("{trial}: the next push failed"));
        }
        kp::check_leftovers(&repo, &mut tally, &trial);
    }
    tally.finish("wal-push", major);
});

// The stream supervisor: pg_receivewal killed is started again; Tideline killed takes
// pg_receivewal with it (SIGTERM stops it cleanly); the next stream starts.
each_major!(fn kill_points_of_the_wal_stream(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let repo = home.path().join("repo");
    let mut rng = rng_for("wal stream", major);
    let mut tally = Tally::default();
    let mut verified = BTreeSet::new();
    for i in 0..kp::trials() {
        let victim = [Victim::Tideline, PG_RECEIVEWAL][i as usize % 2];
        let signal = if (i / 2).is_multiple_of(2) { libc::SIGKILL } else { libc::SIGTERM };
        let delay = Duration::from_millis(rng.u64(0..=2000));
        let trial =
            format!("wal stream #{i} on {major}: {} to {victim:?} after {delay:?}", kp::signal_name(signal));
        let mut stream = crate::support::start_stream(&home, &pg, "p");
        psql(&pg, "postgres", "SELECT pg_switch_wal()");
        std::thread::sleep(delay);
        let receiver = crate::support::child_with_args(stream.id(), &["/pg_receivewal\0"]);
        let pid = match victim {
            Victim::Tideline => Some(stream.id()),
            Victim::Tool(_) => receiver,
        };
        tally.trials += 1;
        tally.landed += pid.is_some() as u32;
        if let Some(pid) = pid {
            unsafe { libc::kill(pid as i32, signal) };
        }
        if let (Victim::Tool(_), Some(old)) = (victim, receiver) {
            // The supervisor starts it again; then the stream is stopped as a user would.
            crate::support::wait_for("pg_receivewal to be started again", || {
                crate::support::child_with_args(stream.id(), &["/pg_receivewal\0"]).is_some_and(|p| p != old)
            });
            unsafe { libc::kill(stream.id() as i32, libc::SIGTERM) };
        }
        let _ = stream.wait();
        kp::check_after(&home, &repo, &mut tally, &trial, &mut verified, &BTreeSet::new());
        let mut next = crate::support::start_stream(&home, &pg, "p");
        unsafe { libc::kill(next.id() as i32, libc::SIGTERM) };
        if !next.wait().unwrap().success() {
            tally.next_failed += 1;
            tally.problems.push(format!("{trial}: the next stream did not stop cleanly"));
        }
        kp::check_leftovers(&repo, &mut tally, &trial);
    }
    tally.finish("wal stream", major);
});

/// The windows of a deletion, made exactly: marked only; marked and moved aside; moved aside
/// and forgotten. The next start (or rescan) finishes each, and nothing half-deleted is listed.
#[test]
fn an_interrupted_deletion_is_finished_by_the_next_start() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let listed = || home.cli(&["backups", "list"], None).ok()["backups"].as_array().unwrap().len();
    for step in ["marked", "moved aside", "forgotten"] {
        let made = home.cli(&["backup", "p", "--format", "custom"], None).ok().clone();
        let (id, path) =
            (made["id"].as_str().unwrap().to_string(), std::path::PathBuf::from(made["path"].as_str().unwrap()));
        let doomed = path.with_file_name(format!(".deleting-{id}"));
        {
            let catalog = tideline_core::catalog::Catalog::open(home.path()).unwrap();
            catalog.mark_backup_deleting(&id).unwrap();
            if step != "marked" {
                std::fs::rename(&path, &doomed).unwrap();
            }
            if step == "forgotten" {
                catalog.delete_backup(&id).unwrap();
            }
        }
        home.cli(&["repo", "rescan"], None).ok();
        assert_eq!(listed(), 0, "{step}");
        assert!(!path.exists() && !doomed.exists(), "{step}: {}", path.display());
    }
}

/// The window of a commit, made exactly: recorded as committing, then killed before or after
/// the rename. The next start completes the one in place and forgets the other.
#[test]
fn an_interrupted_commit_is_settled_by_the_next_start() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    add_profile(&home, &pg, &pw);
    let made =
        |home: &Home| home.cli(&["backup", "p", "--format", "custom"], None).ok()["id"].as_str().unwrap().to_string();
    let (renamed, not_renamed) = (made(&home), made(&home));
    let gone =
        std::path::PathBuf::from(home.cli(&["backups", "show", &not_renamed], None).ok()["path"].as_str().unwrap());
    {
        let catalog = tideline_core::catalog::Catalog::open(home.path()).unwrap();
        catalog.set_backup_status(&renamed, tideline_core::repo::manifest::BackupStatus::Committing).unwrap();
        catalog.set_backup_status(&not_renamed, tideline_core::repo::manifest::BackupStatus::Committing).unwrap();
    }
    // Not renamed into place: what a kill before the rename leaves is its staging directory.
    std::fs::rename(&gone, gone.with_file_name(format!(".tmp-{not_renamed}"))).unwrap();
    let listed = home.cli(&["backups", "list"], None).ok()["backups"].clone();
    let statuses: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["id"].as_str().unwrap().to_string(), b["status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(statuses, vec![(renamed.clone(), "complete".to_string())]);
    home.cli(&["verify", &renamed], None).ok();
}

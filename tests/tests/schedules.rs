//! `tideline schedule` against a real server, with the clock set through TIDELINE_NOW: an
//! hourly backup runs on time and makes a real backup; after a "sleep" the missed occurrences
//! are recorded and one catch-up backup runs; a disabled schedule does not run; next
//! occurrences keep local time across a DST change; bad input is refused with its code.

use crate::support::{majors, password, psql, Home, TestCluster};

fn at(home: &Home, now: &str, args: &[&str]) -> crate::support::CliResult {
    home.cli_env(args, None, &[("TIDELINE_NOW", now)])
}

#[test]
fn an_hourly_backup_runs_on_time_misses_while_asleep_and_catches_up_once() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();

    let s = at(&home, "2026-03-01T00:30:00Z", &["schedule", "add", "p", "--hourly", "0", "--tz", "UTC"]).ok().clone();
    let id = s["id"].as_str().unwrap().to_string();
    assert_eq!(s["expression"], "0 * * * *");
    assert_eq!(s["next"][0], "2026-03-01T01:00:00+00:00", "{s}");
    assert!(s["description"].as_str().unwrap().contains("UTC"), "{s}");

    assert!(at(&home, "2026-03-01T00:45:00Z", &["schedule", "run-due"]).ok()["ran"].as_array().unwrap().is_empty());
    let r = at(&home, "2026-03-01T01:02:00Z", &["schedule", "run-due"]).ok().clone();
    assert_eq!(r["ran"][0]["status"], "succeeded", "{r}");
    assert_eq!(r["ran"][0]["kind"], "scheduled");
    let backup = r["ran"][0]["backup_ids"][0].as_str().unwrap().to_string();
    let listed = home.cli(&["backups", "list", "p"], None).ok().clone();
    assert!(listed["backups"].as_array().unwrap().iter().any(|b| b["id"] == backup.as_str()), "{listed}");

    // Asleep from 01:05 to 05:20: four occurrences missed, one catch-up backup.
    let r = at(&home, "2026-03-01T05:20:00Z", &["schedule", "run-due"]).ok().clone();
    assert_eq!(r["missed"].as_array().unwrap().len(), 4, "{r}");
    assert_eq!(r["ran"].as_array().unwrap().len(), 1);
    assert_eq!(r["ran"][0]["kind"], "catch_up");
    assert_eq!(r["ran"][0]["status"], "succeeded");
    let shown = at(&home, "2026-03-01T05:21:00Z", &["schedule", "show", &id]).ok().clone();
    let statuses: Vec<&str> = shown["runs"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "missed").count(), 4, "{shown}");
    assert_eq!(statuses.iter().filter(|s| **s == "succeeded").count(), 2, "{shown}");

    // The calendar: the day's runs (status, size), the missed hours, and what is still to
    // come, also as an .ics file.
    let ics = home.path().join("plan.ics");
    let cal = at(
        &home,
        "2026-03-01T05:21:00Z",
        &[
            "schedule",
            "calendar",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--tz",
            "UTC",
            "--ics",
            ics.to_str().unwrap(),
        ],
    )
    .ok()
    .clone();
    let day = cal["days"][0]["entries"].as_array().unwrap().clone();
    let kinds = |k: &str| day.iter().filter(|e| e["kind"] == k).count();
    assert_eq!((kinds("scheduled"), kinds("missed"), kinds("catch_up"), kinds("planned")), (1, 4, 1, 18), "{cal:#}");
    let ran = day.iter().find(|e| e["kind"] == "scheduled").unwrap();
    assert_eq!(ran["status"], "succeeded");
    assert!(ran["size_bytes"].as_u64().unwrap() > 0, "{ran}");
    assert_eq!(cal["days"][1]["entries"].as_array().unwrap().len(), 24);
    let ics = std::fs::read_to_string(&ics).unwrap();
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 18 + 24);
    assert!(ics.contains("DTSTART:20260301T060000Z"), "{ics}");

    // Disabled, it does not run; enabled again, the time it was off is not "missed".
    at(&home, "2026-03-01T05:30:00Z", &["schedule", "disable", &id]).ok();
    let r = at(&home, "2026-03-01T06:01:00Z", &["schedule", "run-due"]).ok().clone();
    assert!(r["ran"].as_array().unwrap().is_empty(), "{r}");
    at(&home, "2026-03-01T08:30:00Z", &["schedule", "enable", &id]).ok();
    let r = at(&home, "2026-03-01T08:31:00Z", &["schedule", "run-due"]).ok().clone();
    assert!(r["missed"].as_array().unwrap().is_empty() && r["ran"].as_array().unwrap().is_empty(), "{r}");

    home.cli(&["schedule", "remove", &id], None).ok();
    home.cli(&["schedule", "show", &id], None).err("schedule_missing");
}

#[test]
fn times_keep_local_time_across_dst_and_bad_input_is_refused() {
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", "postgresql://u@127.0.0.1:1/db", "--no-password"], None).ok();
    let s = at(&home, "2026-03-27T12:00:00Z", &["schedule", "add", "p", "--daily", "02:30", "--tz", "Europe/Berlin"])
        .ok()
        .clone();
    let next: Vec<&str> = s["next"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(next[..3], ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]);
    let w = home
        .cli(&["schedule", "add", "p", "--weekly", "sun@03:00", "--tz", "UTC", "--what", "base"], None)
        .ok()
        .clone();
    assert_eq!(w["expression"], "0 3 * * SUN");
    assert_eq!(w["spec"]["what"]["kind"], "base_backup");
    assert_eq!(home.cli(&["schedule", "list"], None).ok()["schedules"].as_array().unwrap().len(), 2);

    for bad in [
        vec!["schedule", "add", "p", "--cron", "61 * * * *"],
        vec!["schedule", "add", "p", "--daily", "25:00"],
        vec!["schedule", "add", "p", "--monthly", "31@04:00"],
        vec!["schedule", "add", "p", "--daily", "02:00", "--tz", "Mars/Olympus"],
        vec!["schedule", "add", "p", "--daily", "02:00", "--what", "everything"],
    ] {
        home.cli(&bad, None).err("invalid_input");
    }
    home.cli(&["schedule", "add", "nobody", "--daily", "02:00"], None).err("profile_missing");
}

#[test]
fn retention_previews_applies_after_scheduled_runs_and_expires_unneeded_wal() {
    let major = majors()[0];
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let pg = &source.pg;
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    let dumps: Vec<String> =
        (0..4).map(|_| home.cli(&["backup", "p"], None).ok()["id"].as_str().unwrap().to_string()).collect();
    let count = |series: &str| {
        let all = home.cli(&["backups", "list", "p"], None).ok().clone();
        all["backups"].as_array().unwrap().iter().filter(|b| b["kind"] == series).count()
    };

    // A preview changes nothing and says why each backup stays or goes.
    let preview =
        home.cli(&["retention", "preview", "p", "--keep-last", "2", "--series", "logical:postgres"], None).ok().clone();
    let verdicts = preview["series"][0]["verdicts"].as_array().unwrap().clone();
    let gone: Vec<&str> = verdicts.iter().filter(|v| v["keep"] == false).map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(gone, [dumps[1].as_str(), dumps[0].as_str()], "{preview}");
    assert_eq!(verdicts[0]["reasons"][0], "the newest complete backup");
    assert_eq!(count("logical"), 4);
    home.cli(&["retention", "apply", "p", "--keep-last", "2"], None).err("confirmation_required");
    let applied = home.cli(&["retention", "apply", "p", "--keep-last", "2", "--yes"], None).ok().clone();
    assert_eq!(applied["applied"], true);
    assert_eq!(count("logical"), 2);
    let old = home.cli(&["backups", "show", &dumps[0]], None);
    old.err("backup_missing");

    // Two base backups with WAL between: keeping the newest expires the WAL before it.
    let first = home.cli(&["basebackup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    psql(pg, "postgres", "CREATE TABLE t AS SELECT generate_series(1, 1000) AS x");
    source.switch_and_wait();
    source.switch_and_wait();
    let second = home.cli(&["basebackup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    let preview = home.cli(&["retention", "preview", "p", "--keep-last", "1", "--series", "base"], None).ok().clone();
    let expiring: Vec<String> =
        preview["wal_segments"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    assert!(!expiring.is_empty(), "{preview}");
    home.cli(&["retention", "apply", "p", "--keep-last", "1", "--series", "base", "--yes"], None).ok();
    assert_eq!(count("base"), 1);
    home.cli(&["backups", "show", &first], None).err("backup_missing");
    for s in &expiring {
        assert!(!source.wal.join(format!("{s}.zst")).exists(), "{s} was kept");
    }
    // What the kept backup needs is all there: it recovers.
    let s = home.cli(&["pitr", "p", "--immediate"], None).ok().clone();
    assert_eq!(s["backup_id"], second.as_str());
    home.cli(&["sandbox", "remove", s["id"].as_str().unwrap()], None).ok();

    // A schedule applies its policy after each successful run, to its own series.
    at(&home, "2026-03-01T00:30:00Z", &["schedule", "add", "p", "--hourly", "0", "--tz", "UTC", "--keep-last", "1"])
        .ok();
    let r = at(&home, "2026-03-01T01:01:00Z", &["schedule", "run-due"]).ok().clone();
    let logs: Vec<String> = home
        .files_containing("retention")
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".log"))
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter(|l| l.contains("retention"))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(count("logical"), 1, "{r} {logs:?} {}", home.cli(&["backups", "list", "p"], None).ok());
    assert_eq!(count("base"), 1, "another series is left alone");
}

#[test]
fn the_runner_installs_as_a_systemd_user_timer_and_prints_for_other_platforms() {
    let home = Home::new();
    let config = tempfile::tempdir().unwrap();
    let env = [("XDG_CONFIG_HOME", config.path().to_str().unwrap())];
    let r = home.cli_env(&["schedule", "install"], None, &env).ok().clone();
    assert_eq!(r["platform"], "linux");
    assert_eq!(r["written"], true, "{r}");
    let dir = config.path().join("systemd/user");
    let service = std::fs::read_to_string(dir.join("tideline-schedule.service")).unwrap();
    let timer = std::fs::read_to_string(dir.join("tideline-schedule.timer")).unwrap();
    assert!(service.contains(" schedule run-due\n") && service.contains("TIDELINE_HOME="), "{service}");
    assert!(timer.contains("OnCalendar=*-*-* *:*:00") && timer.contains("WantedBy=timers.target"), "{timer}");
    // Enabled where a user manager runs; otherwise the note says how (CI has none).
    if r["enabled"] == false {
        assert!(r["note"].as_str().unwrap().contains("systemctl --user enable --now tideline-schedule.timer"), "{r}");
    }
    // systemd's own check of the unit files, where systemd is installed.
    if let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("tideline-schedule.service"))
        .arg(dir.join("tideline-schedule.timer"))
        .output()
    {
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "systemd-analyze verify: {said}");
    }

    let mac = home.cli(&["schedule", "install", "--platform", "macos"], None).ok().clone();
    assert_eq!(mac["written"], false);
    let plist = mac["files"][0]["content"].as_str().unwrap();
    assert!(plist.contains("<string>run-due</string>") && plist.contains("<integer>60</integer>"), "{plist}");
    let win = home.cli(&["schedule", "install", "--platform", "windows"], None).ok().clone();
    assert!(win["files"][0]["content"].as_str().unwrap().contains("<Interval>PT1M</Interval>"));
    assert!(win["note"].as_str().unwrap().contains("schtasks /Create"));
    home.cli(&["schedule", "install", "--platform", "plan9"], None).err("invalid_input");
}

#[test]
fn health_turns_failing_when_the_newest_backup_is_too_old_or_the_archiver_fails() {
    let major = majors()[0];
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let pg = &source.pg;
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    let h = home.cli(&["health", "p"], None).ok().clone();
    assert_eq!(h["profiles"][0]["state"], "failing", "{h}");
    assert_eq!(h["profiles"][0]["problems"][0], "no complete backup");

    source.switch_and_wait();
    home.cli(&["basebackup", "p"], None).ok();
    psql(pg, "postgres", "CREATE TABLE t AS SELECT 1 AS x");
    source.switch_and_wait();
    let h = home.cli(&["health", "p"], None).ok().clone();
    let p = &h["profiles"][0];
    assert_eq!(p["state"], "ok", "{h}");
    assert!(p["archiver"]["archived_count"].as_i64().unwrap() >= 2);
    assert!(p["rpo"]["seconds"].as_f64().unwrap() < 600.0, "{p}");
    assert!(p["rpo"]["formula"].as_str().unwrap().contains("newest WAL"));
    assert!(p["rto"]["formula"].as_str().unwrap().contains("default rates"), "{p}");

    // Two days on, the same backup is stale.
    let later = (chrono::Utc::now() + chrono::Duration::hours(48)).to_rfc3339();
    let h = at(&home, &later, &["health", "p"]).ok().clone();
    assert_eq!(h["profiles"][0]["state"], "failing");
    assert!(h["profiles"][0]["problems"][0].as_str().unwrap().contains("threshold 25 h"), "{h}");
    let lenient = at(&home, &later, &["health", "p", "--threshold-hours", "72"]).ok().clone();
    assert_eq!(lenient["profiles"][0]["state"], "ok");

    // An archive_command that fails: the archiver is failing.
    psql(pg, "postgres", "ALTER SYSTEM SET archive_command = 'false'");
    psql(pg, "postgres", "SELECT pg_reload_conf()");
    psql(pg, "postgres", "CREATE TABLE u AS SELECT 1 AS x");
    psql(pg, "postgres", "SELECT pg_switch_wal()");
    crate::support::wait_for("a failed archive attempt", || {
        psql(pg, "postgres", "SELECT failed_count FROM pg_stat_archiver").parse::<i64>().unwrap() > 0
    });
    let h = home.cli(&["health", "p"], None).ok().clone();
    assert_eq!(h["profiles"][0]["state"], "failing", "{h}");
    assert!(h["profiles"][0]["problems"][0].as_str().unwrap().contains("WAL archiver is failing"), "{h}");
}

/// Run now, every database, verification of the newest backups, and editing — against a real
/// server: each database gets its own backup, the verification test-restores them, a profile
/// with nothing to verify fails with its code, and an edit keeps the runs.
#[test]
fn every_database_verify_run_now_and_edit() {
    let major = *majors().last().unwrap();
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    psql(&pg, "postgres", "CREATE DATABASE shop");
    psql(&pg, "shop", "CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 500)");
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();

    let every =
        home.cli(&["schedule", "add", "p", "--what", "every", "--daily", "03:00", "--tz", "UTC"], None).ok().clone();
    let every_id = every["id"].as_str().unwrap().to_string();
    let run = home.cli(&["schedule", "run", &every_id], None).ok().clone();
    assert_eq!((run["kind"].as_str(), run["status"].as_str()), (Some("manual"), Some("succeeded")), "{run}");
    let made: Vec<String> = run["backup_ids"].as_array().unwrap().iter().map(|b| b.as_str().unwrap().into()).collect();
    let listed = home.cli(&["backups", "list", "p"], None).ok().clone();
    let mut databases: Vec<&str> = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| made.iter().any(|m| b["id"] == m.as_str()))
        .map(|b| b["database"].as_str().unwrap())
        .collect();
    databases.sort();
    assert_eq!(databases, ["postgres", "shop"], "{listed}");

    // The verification test-restores the newest backup of each database.
    let verify = home.cli(&["schedule", "add", "p", "--what", "verify", "--weekly", "sun@04:00"], None).ok().clone();
    let run = home.cli(&["schedule", "run", verify["id"].as_str().unwrap()], None).ok().clone();
    assert_eq!(run["status"], "succeeded", "{run}");
    let listed = home.cli(&["backups", "list", "p"], None).ok().clone();
    for id in &made {
        let b = listed["backups"].as_array().unwrap().iter().find(|b| b["id"] == id.as_str()).unwrap();
        assert_eq!(b["verify_status"], "passed", "{b}");
    }

    // Nothing to verify: the run fails, saying so with its code; nothing else happens.
    home.cli(&["profile", "add", "empty", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let nothing = home.cli(&["schedule", "add", "empty", "--what", "verify", "--daily", "04:00"], None).ok().clone();
    let run = home.cli(&["schedule", "run", nothing["id"].as_str().unwrap()], None).ok().clone();
    assert_eq!(run["status"], "failed");
    assert!(run["error"].as_str().unwrap().starts_with("verify_failed: empty has no complete logical backup"), "{run}");

    // An edit changes the times and keeps the history.
    let edited = home
        .cli(
            &["schedule", "edit", &every_id, "p", "--what", "every", "--weekdays", "05:00", "--tz", "Europe/Berlin"],
            None,
        )
        .ok()
        .clone();
    assert_eq!(edited["expression"], "0 5 * * MON-FRI", "{edited}");
    assert_eq!(edited["spec"]["time_zone"], "Europe/Berlin");
    let shown = home.cli(&["schedule", "show", &every_id], None).ok().clone();
    assert_eq!(shown["runs"].as_array().unwrap().len(), 1, "{shown}");
    let missing = home.cli(&["schedule", "run", "sch-nope"], None);
    assert_eq!(missing.json["code"], "schedule_missing", "{}", missing.json);

    // "Back up now" from the CLI, as the tray does it: every enabled schedule once, the
    // disabled one not at all; the failing verify of `empty` counts as failed.
    // A minute on by the CLI's clock: a manual run is one per schedule per second, and
    // `nothing` ran by hand just now.
    home.cli(&["schedule", "disable", verify["id"].as_str().unwrap()], None).ok();
    let later = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let all = at(&home, &later, &["schedule", "run-all"]).ok().clone();
    let ran: Vec<(&str, &str)> = all["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["schedule_id"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(ran.len(), 2, "{all}");
    assert!(ran.contains(&(every_id.as_str(), "succeeded")), "{all}");
    assert!(ran.contains(&(nothing["id"].as_str().unwrap(), "failed")), "{all}");
    assert!(all["refused"].as_array().unwrap().is_empty(), "{all}");
}

// A renamed profile keeps its history: backups, schedules (which go on running), health,
// restores of its old backups, and a rescan of the repository.
each_major!(fn a_renamed_profile_keeps_its_backups_schedules_and_health(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g FROM generate_series(1, 10) g");
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let s =
        at(&home, "2026-03-01T00:30:00Z", &["schedule", "add", "p", "--hourly", "0", "--tz", "UTC"]).ok().clone();
    let id = s["id"].as_str().unwrap().to_string();
    let r = at(&home, "2026-03-01T01:02:00Z", &["schedule", "run-due"]).ok().clone();
    assert_eq!(r["ran"][0]["status"], "succeeded", "{r}");
    let old = r["ran"][0]["backup_ids"][0].as_str().unwrap().to_string();

    let renamed = "Prod \"Q\". ü";
    home.cli(&["profile", "edit", "p", "--rename", renamed], None).ok();
    let listed = home.cli(&["backups", "list", renamed], None).ok().clone();
    let ids: Vec<&str> = listed["backups"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [old.as_str()], "PostgreSQL {major}: {listed}");
    assert_eq!(listed["backups"][0]["profile"], renamed);
    home.cli(&["backups", "list", "p"], None).err("profile_missing");

    // The schedule follows the profile and keeps running.
    let shown = at(&home, "2026-03-01T01:10:00Z", &["schedule", "show", &id]).ok().clone();
    assert_eq!(shown["spec"]["profile"], renamed, "{shown}");
    let r = at(&home, "2026-03-01T02:02:00Z", &["schedule", "run-due"]).ok().clone();
    assert_eq!(r["ran"][0]["status"], "succeeded", "PostgreSQL {major}: {r}");
    let listed = home.cli(&["backups", "list", renamed], None).ok().clone();
    assert_eq!(listed["backups"].as_array().unwrap().len(), 2, "{listed}");

    let h = at(&home, "2026-03-01T02:05:00Z", &["health", renamed]).ok().clone();
    assert!(h["profiles"][0]["newest_backup"].is_object(), "PostgreSQL {major}: {h}");
    let restored = home.cli(&["restore", &old, "--to-db", "copy"], None).ok().clone();
    assert_eq!(psql(&pg, "copy", "SELECT count(*) FROM t"), "10", "{restored}");

    home.cli(&["repo", "rescan"], None).ok();
    let listed = home.cli(&["backups", "list", renamed], None).ok().clone();
    assert_eq!(listed["backups"].as_array().unwrap().len(), 2, "after a rescan: {listed}");
});

//! `tideline wal setup / status / teardown` and `mark` against real servers of every major:
//! the method chosen for where the repository is, ALTER SYSTEM with a restart reported, an
//! end-to-end archiving test, a failing archive_command warned about, and teardown.

use crate::support::{password, psql, Home, TestCluster};
use std::process::Command;
use std::time::{Duration, Instant};
use tideline_core::cluster::cluster_owner;

/// pg_ctl restart on the same port, as the cluster's owner.
fn restart(pg: &TestCluster) {
    let c = pg.get();
    let pg_ctl = crate::support::server(c.major).path("pg_ctl");
    let mut cmd = match cluster_owner().unwrap() {
        Some(owner) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", &owner.name, "--"]).arg(pg_ctl);
            cmd
        }
        None => Command::new(pg_ctl),
    };
    let out =
        cmd.args(["restart", "-w", "-m", "fast", "-D"]).arg(c.data_dir()).arg("-l").arg(c.log_path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name}: {report}"))
}

each_major!(fn setup_chooses_applies_tests_archiving_and_tears_down(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    let (work, bin) = crate::support::installed_tideline("tideline-setup-");
    let bin_s = bin.to_str().unwrap();

    // The repository in a private home: the server's OS user cannot write it, so stream.
    if cluster_owner().unwrap().is_some() {
        let r = home.cli(&["wal", "setup", "p", "--tideline-path", bin_s], None).ok().clone();
        assert_eq!(r["method"], "stream", "{r}");
        assert!(r["method_reason"].as_str().unwrap().contains("cannot reach"), "{r}");
        assert_eq!(check(&r, "max_slot_wal_keep_size")["ok"], false);
        let e = home.cli(&["wal", "setup", "p", "--method", "archive", "--tideline-path", bin_s], None);
        assert!(e.err("wal_setup_blocked")["hint"].as_str().unwrap().contains("--method stream"));
    }

    // A repository the server's user can reach: archive, and nothing changes without --apply.
    let repo = work.path().join("repo");
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    let r = home.cli(&["wal", "setup", "p", "--tideline-path", bin_s], None).ok().clone();
    assert_eq!(r["method"], "archive", "{r}");
    assert_eq!(r["applied"], false);
    assert_eq!(check(&r, "archive_mode")["ok"], false);
    assert_eq!(check(&r, "archive_timeout")["ok"], false);
    assert_eq!(check(&r, "wal_level")["ok"], true);
    assert_eq!(check(&r, "pg_hba replication rule")["current"], "allowed");
    assert_eq!(psql(&pg, "postgres", "SHOW archive_mode"), "off");

    // Without a replication line in pg_hba.conf, the check says so (with the server's words).
    let hba = pg.get().data_dir().join("pg_hba.conf");
    let original = std::fs::read_to_string(&hba).unwrap();
    let without: String =
        original.lines().filter(|l| !l.contains("replication")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&hba, without).unwrap();
    psql(&pg, "postgres", "SELECT pg_reload_conf()");
    // The postmaster reloads pg_hba.conf on its signal, a moment later.
    let start = Instant::now();
    let rule = loop {
        let r = home.cli(&["wal", "setup", "p", "--tideline-path", bin_s], None).ok().clone();
        let rule = check(&r, "pg_hba replication rule").clone();
        if rule["current"] != "allowed" || start.elapsed() > Duration::from_secs(10) {
            break rule;
        }
    };
    assert_eq!(rule["current"], "no rule allows it", "{rule}");
    assert!(rule["why"].as_str().unwrap().contains("pg_hba.conf"), "{rule}");
    std::fs::write(&hba, original).unwrap();
    psql(&pg, "postgres", "SELECT pg_reload_conf()");

    let r = home.cli(&["wal", "setup", "p", "--apply", "--tideline-path", bin_s], None).ok().clone();
    assert_eq!((r["applied"].as_bool(), r["restart_needed"].as_bool()), (Some(true), Some(true)), "{r}");
    assert_eq!(check(&r, "archive_timeout")["ok"], true, "reloaded at once");
    assert_eq!(r["test"], serde_json::Value::Null);
    // The restart it asks for, by the exact command it gives.
    let command = r["restart_command"].as_str().unwrap_or_else(|| panic!("no restart command: {r}"));
    assert!(command.contains(" restart ") && command.contains(pg.get().data_dir().to_str().unwrap()), "{command}");
    let log = std::fs::OpenOptions::new().append(true).open(pg.get().log_path()).unwrap();
    let restarted =
        Command::new("sh").args(["-c", command]).stdout(log.try_clone().unwrap()).stderr(log).status().unwrap();
    assert!(restarted.success(), "{command}: {}", pg.get().log_tail(20));
    let r = home.cli(&["wal", "setup", "p", "--apply", "--tideline-path", bin_s], None).ok().clone();
    assert_eq!(r["restart_needed"], false, "{r}");
    assert!(r["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{r}");
    let test = &r["test"];
    assert_eq!(test["arrived"], true, "PostgreSQL {major}: {r}");
    assert!(test["archiver"]["archived_count"].as_i64().unwrap() >= 1);
    let sysid = r["system_identifier"].as_str().unwrap();
    let seg =
        repo.join("clusters").join(sysid).join("wal").join(format!("{}.zst", test["segment"].as_str().unwrap()));
    assert!(seg.is_file(), "{}", seg.display());

    let s = home.cli(&["wal", "status", "p"], None).ok().clone();
    assert_eq!(s["archiving_to_tideline"], true);
    assert_eq!(s["warnings"].as_array().unwrap().len(), 0, "{s}");

    let m = home.cli(&["mark", "p", "before-the-change"], None).ok().clone();
    assert_eq!(m["name"], "before-the-change");
    assert!(m["lsn"].as_str().unwrap().contains('/'));
    assert_eq!(m["system_identifier"], sysid);

    // A failing archive_command is warned about.
    psql(&pg, "postgres", "ALTER SYSTEM SET archive_command = 'false'; SELECT pg_reload_conf()");
    psql(&pg, "postgres", "SELECT txid_current(); SELECT pg_switch_wal()");
    let start = Instant::now();
    let warned = loop {
        let s = home.cli(&["wal", "status", "p"], None).ok().clone();
        let w = s["warnings"].to_string();
        if w.contains("archiving is failing") {
            break true;
        }
        if start.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(warned, "PostgreSQL {major}: no warning for a failing archive_command");
    psql(
        &pg,
        "postgres",
        &format!(
            "ALTER SYSTEM SET archive_command = '{}'; SELECT pg_reload_conf()",
            r["archive_command"].as_str().unwrap().replace('\'', "''")
        ),
    );

    let t = home.cli(&["wal", "teardown", "p"], None).ok().clone();
    assert_eq!(
        (t["archive_command_reset"].as_bool(), t["restart_needed"].as_bool()),
        (Some(true), Some(true)),
        "{t}"
    );
    assert_eq!(home.cli(&["wal", "status", "p"], None).ok()["archiving_to_tideline"], false);
    restart(&pg);
    assert_eq!(psql(&pg, "postgres", "SHOW archive_mode"), "off");
});

//! Sandboxes hold production data: another local OS user (`nobody`, the attacker) gets into
//! neither kind without a password — not when the source's pg_hba.conf trusts loopback, not
//! through the socket — while Tideline itself still compares and copies back (over its private
//! socket), and the password Tideline chose for a restore sandbox lets its owner in. As root, a
//! `cluster.json` another user could change is not believed: the binaries it names never run.

use crate::support::{majors, psql, Home};
use std::path::Path;
use std::process::Command;

/// psql run as OS user `nobody` against `host` (an address or a socket directory), with
/// `password` in the environment when given. Returns whether it got in, and what it said.
fn as_nobody(major: u32, host: &str, port: u16, password: Option<&str>) -> (bool, String) {
    let psql = crate::support::client(major, "psql").path("psql");
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "nobody", "--"]).arg(psql).args(["-X", "-At", "-h", host, "-p", &port.to_string()]);
    cmd.args(["-U", "postgres", "-d", "postgres", "-c", "SELECT 'in'", "-w"]);
    cmd.env_remove("PGPASSWORD").env("PGCONNECT_TIMEOUT", "5").current_dir("/");
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd.output().expect("runuser");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success() && text.contains("in"), text)
}

fn sandbox_ids(home: &Home) -> Vec<String> {
    let list = home.cli(&["sandbox", "list"], None).ok().clone();
    list["sandboxes"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

each_major!(fn another_os_user_gets_into_no_sandbox_of_a_source_that_trusts_loopback(major) {
    if !tideline_core::cluster::running_as_root() {
        eprintln!("skipped: needs root to act as another OS user");
        return;
    }
    // The source trusts every local connection (initdb's --auth=trust), as many dev servers do.
    let source = crate::support::ArchivingSource::start(major, None, vec![]);
    let pg = &source.pg;
    let hba = std::fs::read_to_string(pg.get().data_dir().join("pg_hba.conf")).unwrap();
    assert!(hba.lines().any(|l| l.starts_with("host") && l.ends_with("trust")), "the source trusts: {hba}");
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres")], None).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    psql(pg, "postgres", "CREATE TABLE secrets AS SELECT g AS id FROM generate_series(1, 10) g");
    home.cli(&["basebackup", "p"], None).ok();
    psql(pg, "postgres", "INSERT INTO secrets VALUES (11)");
    source.switch_and_wait();

    // A recovered copy: the source's roles, Tideline's access rules.
    let recovered = home.cli(&["pitr", "p", "--immediate"], None).ok().clone();
    let (rid, port) = (recovered["id"].as_str().unwrap().to_string(), recovered["port"].as_u64().unwrap() as u16);
    let root = Path::new(recovered["root"].as_str().unwrap()).to_path_buf();
    let (got_in, said) = as_nobody(major, "127.0.0.1", port, None);
    assert!(!got_in, "PostgreSQL {major}: nobody got into the recovered sandbox: {said}");
    assert!(said.contains("password"), "PostgreSQL {major}: {said}");
    let (got_in, said) = as_nobody(major, root.join("socket").to_str().unwrap(), port, None);
    assert!(!got_in && said.contains("ermission denied"), "PostgreSQL {major}: the socket is private: {said}");
    let rules = std::fs::read_to_string(root.join("data/pg_hba.conf")).unwrap();
    assert!(!rules.contains("trust"), "PostgreSQL {major}: the source's rules came along: {rules}");
    // Tideline itself still gets in (its private socket), without any password.
    let cmp = home.cli(&["sandbox", "compare", &rid], None).ok().clone();
    let secrets = cmp["tables"].as_array().unwrap().iter().find(|t| t["table"] == "secrets").cloned().unwrap();
    assert_eq!(secrets["sandbox_rows"], 10, "recovered to the end of the base backup: {cmp}");
    home.cli(&["sandbox", "password", &rid], None).err("invalid_input");

    // A sandbox Tideline initialises for a profile with no password: a random one.
    let id = home.cli(&["backup", "p", "--database", "postgres"], None).ok()["id"].as_str().unwrap().to_string();
    // Never `nobody`, which every privilege-dropping daemon shares, nor a user that is not there.
    for user in ["nobody", "no-such-user-here"] {
        let env = [("TIDELINE_CLUSTER_USER", user)];
        let e = home
            .cli_env(&["restore", &id, "--sandbox", "--to-db", "copy"], None, &env)
            .err("cluster_failed")
            .clone();
        assert!(e["hint"].as_str().unwrap().contains("useradd"), "{e}");
    }
    let restored = home.cli(&["restore", &id, "--sandbox", "--to-db", "copy"], None).ok().clone();
    let sid = restored["sandbox"]["id"].as_str().unwrap().to_string();
    let sport = restored["sandbox"]["port"].as_u64().unwrap() as u16;
    let (got_in, said) = as_nobody(major, "127.0.0.1", sport, None);
    assert!(!got_in, "PostgreSQL {major}: nobody got into the restore sandbox: {said}");
    let chosen = home.cli(&["sandbox", "password", &sid], None).ok()["password"].as_str().unwrap().to_string();
    assert!(chosen.len() >= 32, "a long random password");
    let (got_in, said) = as_nobody(major, "127.0.0.1", sport, Some(&chosen));
    assert!(got_in, "PostgreSQL {major}: the chosen password lets its owner in: {said}");
    let shown = home.cli(&["sandbox", "show", &sid], None).ok().to_string();
    assert!(!shown.contains(&chosen), "show never prints the password");

    for sandbox in sandbox_ids(&home) {
        home.cli(&["sandbox", "remove", &sandbox], None).ok();
    }
    let entry = keyring::Entry::new("tideline", &format!("sandbox/{sid}")).unwrap();
    assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)), "removing forgets its password");
});

#[test]
fn as_root_a_cluster_json_another_user_could_change_runs_nothing() {
    if !tideline_core::cluster::running_as_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let major = majors()[0];
    let pw = crate::support::password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &source.pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    home.cli(&["basebackup", "p"], None).ok();
    let s = home.cli(&["pitr", "p", "--immediate"], None).ok().clone();
    let (id, root) = (s["id"].as_str().unwrap().to_string(), Path::new(s["root"].as_str().unwrap()).to_path_buf());
    let owner = tideline_core::cluster::cluster_owner().unwrap().expect("a cluster user as root");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(root.join("cluster.json")).unwrap().uid(), 0, "cluster.json stays root's");
    assert_eq!(std::fs::metadata(&root).unwrap().uid(), 0, "the sandbox root stays root's");
    assert_eq!(std::fs::metadata(root.join("data")).unwrap().uid(), owner.uid);

    // The server's user rewrites cluster.json (as it could when it owned the directory):
    // a pg_ctl of its own, run as root, would leave a mark.
    let evil = tempfile::tempdir().unwrap();
    let mark = evil.path().join("ran-as-root");
    let script = format!("#!/bin/sh\ntouch {}\n", mark.display());
    for tool in ["pg_ctl", "postgres", "pg_controldata"] {
        std::fs::write(evil.path().join(tool), &script).unwrap();
        crate::support::set_mode(&evil.path().join(tool), 0o755);
    }
    let text = std::fs::read_to_string(root.join("cluster.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["bin_dir"] = evil.path().to_string_lossy().into();
    json["owner"] = serde_json::Value::Null;
    std::fs::write(root.join("cluster.json"), json.to_string()).unwrap();
    std::os::unix::fs::chown(root.join("cluster.json"), Some(owner.uid), Some(owner.gid)).unwrap();

    let listed = home.cli(&["sandbox", "list"], None).ok().clone();
    assert_eq!(listed["sandboxes"][0]["status"], "missing", "{listed}");
    let refused = home.cli(&["sandbox", "start", &id], None).err("cluster_failed").clone();
    assert!(refused["message"].as_str().unwrap().contains("does not trust"), "{refused}");
    home.cli(&["sandbox", "stop", &id], None).err("cluster_failed");
    // Removal stops the server with the installed binaries of its major, not the planted ones.
    home.cli(&["sandbox", "remove", &id], None).ok();
    assert!(!mark.exists(), "root ran a binary named by a file another user could write");
    assert!(!root.exists());
}

//! A locked or absent keychain is a coded error with a hint, and nothing is saved: there is no
//! fallback to a file.

use crate::support::{run_cli, tideline_bin, Home};
use std::process::Command;

const URL: &str = "postgresql://u@127.0.0.1:5/d";

#[test]
fn a_locked_keychain_is_keychain_locked_and_nothing_is_saved() {
    let home = Home::new();
    let keyrings = tempfile::tempdir().unwrap();
    // A D-Bus session of its own, without service activation (so no unlock prompt can appear),
    // whose keyring daemon runs but was never unlocked.
    let script = format!(
        "gnome-keyring-daemon --daemonize --components=secrets >/dev/null; exec '{}' profile add locked --url {URL} --password-stdin --json",
        tideline_bin().display()
    );
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/no-activation-bus.conf");
    let mut cmd = Command::new("dbus-run-session");
    cmd.arg(format!("--config-file={conf}"))
        .args(["--", "sh", "-c", &script])
        .env("XDG_DATA_HOME", keyrings.path())
        .env("TIDELINE_HOME", home.path())
        .env_remove("DISPLAY");
    run_cli(cmd, Some("Locked-Secret-77")).err("keychain_locked");
    assert_eq!(home.cli(&["profile", "list"], None).ok()["profiles"].as_array().unwrap().len(), 0);
    assert!(home.files_containing("Locked-Secret-77").is_empty());
}

#[test]
fn no_keychain_at_all_is_keychain_unavailable() {
    let home = Home::new();
    let mut cmd = Command::new(tideline_bin());
    cmd.args(["profile", "add", "nobus", "--url", URL, "--password-stdin", "--json"])
        .env("TIDELINE_HOME", home.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent-bus");
    let failed = run_cli(cmd, Some("Absent-Secret-78"));
    let err = failed.err("keychain_unavailable");
    assert!(err["hint"].as_str().unwrap().contains("Secret Service"));
    assert_eq!(home.cli(&["profile", "list"], None).ok()["profiles"].as_array().unwrap().len(), 0);
    assert!(home.files_containing("Absent-Secret-78").is_empty());
}

#[test]
fn an_empty_password_on_stdin_is_refused() {
    let home = Home::new();
    home.cli(&["profile", "add", "empty", "--url", URL, "--password-stdin"], Some("")).err("invalid_input");
    assert_eq!(home.cli(&["profile", "list"], None).ok()["profiles"].as_array().unwrap().len(), 0);
}

/// A restore sandbox's password goes to the keychain: with none, nothing is made at all (no
/// server, no directory, no listing), rather than a sandbox nobody can log in to over TCP.
#[test]
fn without_a_keychain_no_restore_sandbox_is_made() {
    let major = crate::support::majors()[0];
    let pg = crate::support::TestCluster::start(major, None);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--no-password"], None).ok();
    let id = home.cli(&["backup", "p"], None).ok()["id"].as_str().unwrap().to_string();
    let sandboxes = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tideline_bin());
    cmd.args(["restore", &id, "--sandbox", "--to-db", "copy", "--json"])
        .env("TIDELINE_HOME", home.path())
        .env("TIDELINE_SANDBOX_ROOT", sandboxes.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent-bus");
    run_cli(cmd, None).err("keychain_unavailable");
    assert_eq!(home.cli(&["sandbox", "list"], None).ok()["sandboxes"].as_array().unwrap().len(), 0);
    assert_eq!(std::fs::read_dir(sandboxes.path()).unwrap().count(), 0, "no sandbox directory was made");
}

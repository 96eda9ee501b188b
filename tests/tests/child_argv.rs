//! A real PostgreSQL client child (psql) connects with the profile's password, and neither its
//! argv nor its environment carries the password: it gets a private in-memory passfile that is
//! gone after.

use crate::support::{client, majors, password, TestCluster};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tideline_core::clock::SystemClock;
use tideline_core::keychain::OsKeychain;
use tideline_core::Engine;

fn proc_file(pid: u32, name: &str) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/{name}")).unwrap_or_default()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Watches a running child: returns (argv seen, environ seen) gathered while it ran.
fn watch(child: &mut std::process::Child) -> (Vec<u8>, Vec<u8>) {
    let pid = child.id();
    let (mut argv, mut environ) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let a = proc_file(pid, "cmdline");
        if !a.is_empty() {
            argv = a;
            environ = proc_file(pid, "environ");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (argv, environ)
}

each_major!(fn a_connecting_psql_child_never_has_the_password_on_argv(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = tempfile::tempdir().unwrap();
    let engine = Engine::open(home.path(), Arc::new(OsKeychain), Arc::new(SystemClock)).unwrap();
    let profile = engine
        .add_profile(&pg.get().tcp_draft("argv", "postgres", "postgres"), Some(&tideline_core::Secret::new(&pw)))
        .unwrap();

    let psql = client(major, "psql").path("psql");
    let mut cc = engine.client_command(&profile.name, &psql).unwrap();
    let passfile = cc.passfile_path().to_path_buf();
    cc.command.args(["-X", "-At", "-c", "select 'connected as ' || current_user, pg_sleep(1.5)"]);
    cc.command.stdout(std::process::Stdio::piped());
    let mut child = cc.command.spawn().unwrap();
    let (argv, environ) = watch(&mut child);
    let out = child.wait_with_output().unwrap();

    assert!(out.status.success(), "psql failed on PostgreSQL {major}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("connected as postgres"),
        "the child really connected with the password"
    );
    assert!(contains(&argv, "pg_sleep"), "we read the real child's argv: {}", String::from_utf8_lossy(&argv));
    assert!(!contains(&argv, &pw), "password on argv");
    assert!(!contains(&environ, &pw), "password in the environment");
    assert!(contains(&environ, &format!("PGPASSFILE={}", passfile.display())));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&passfile).unwrap().permissions().mode() & 0o777, 0o600);
    // In memory: no file system holds it, and it is gone once the command is.
    let target = std::fs::read_link(&passfile).unwrap();
    assert!(target.to_string_lossy().starts_with("/memfd:"), "{}", target.display());
    drop(cc);
    assert!(std::fs::read_link(&passfile).map(|t| t != target).unwrap_or(true), "the passfile is gone afterwards");

    engine.remove_profile(&profile.name).unwrap();
});

#[test]
fn the_argv_check_catches_a_password_that_is_on_argv() {
    // Negative control: the same watcher must see a password passed the unsafe way.
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let psql = client(major, "psql").path("psql");
    let conninfo = format!("host=127.0.0.1 port={} user=postgres dbname=postgres password={pw}", pg.port());
    let mut child = std::process::Command::new(Path::new(&psql))
        .args(["-X", "-At", "-c", "select pg_sleep(1)", &conninfo])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (argv, _) = watch(&mut child);
    assert!(child.wait().unwrap().success());
    assert!(contains(&argv, &pw), "the watcher failed to see a password on argv");
}

//! `tideline profile add|test|remove` against real password-protected clusters of every major,
//! with the password in the real keychain and nowhere else.

use crate::support::{keychain_get, majors, password, Home, TestCluster};

each_major!(fn add_with_password_stdin_then_test_reports_the_server_on_every_major(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    let name = format!("pg{major}");

    let added = home.cli(
        &["profile", "add", &name, "--url", &pg.url("postgres"), "--password-stdin"],
        Some(&format!("{pw}\n")),
    );
    let profile = added.ok();
    let id = profile["id"].as_str().expect("created objects carry an id").to_string();
    assert_eq!(profile["has_password"], true);
    assert_eq!(keychain_get(&id).as_deref(), Some(pw.as_str()), "the password is in the OS keychain");

    let tested = home.cli(&["profile", "test", &name], None);
    let facts = tested.ok();
    assert_eq!(facts["major"], major, "{facts}");
    assert!(facts["server_version"].as_str().unwrap().starts_with(&format!("{major}.")), "{facts}");
    assert_eq!(facts["current_user"], "postgres");
    assert_eq!(facts["is_superuser"], true);
    assert_eq!(facts["can_replicate"], true);
    assert_eq!(facts["wal_level"], "replica");
    assert!(facts["databases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["name"] == "postgres" && d["size_bytes"].as_i64().unwrap() > 0));
    assert!(facts["round_trip_ms"].as_f64().unwrap() >= 0.0);

    let shown = home.cli(&["profile", "show", &name], None);
    assert_eq!(shown.ok()["port"], pg.port());
    let listed = home.cli(&["profile", "list"], None);
    assert_eq!(listed.ok()["profiles"].as_array().unwrap().len(), 1);

    assert_eq!(home.files_containing(&pw), Vec::<std::path::PathBuf>::new(), "password found under TIDELINE_HOME");
    for out in [&added, &tested, &shown, &listed] {
        assert!(!String::from_utf8_lossy(&out.output.stdout).contains(&pw));
        assert!(!String::from_utf8_lossy(&out.output.stderr).contains(&pw));
    }

    // The rotating log file records what happened, and never the password.
    let logs: Vec<_> = std::fs::read_dir(home.path().join("logs")).unwrap().flatten().map(|e| e.path()).collect();
    let log_text: String = logs.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    assert!(logs.iter().any(|p| p.file_name().unwrap().to_string_lossy().starts_with("cli")), "{logs:?}");
    assert!(log_text.contains("profile added") && log_text.contains("connection tested"), "{log_text}");
    assert!(!log_text.contains(&pw));

    home.cli(&["profile", "remove", &name], None).ok();
    assert_eq!(keychain_get(&id), None, "removing a profile removes its keychain entry");
    home.cli(&["profile", "show", &name], None).err("profile_missing");
});

each_major!(fn each_failure_has_its_own_code_and_hint(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    let url = pg.url("postgres");

    home.cli(&["profile", "add", "wrong", "--url", &url, "--password-stdin"], Some("not-the-password")).ok();
    home.cli(&["profile", "test", "wrong"], None).err("auth_failed");

    home.cli(&["profile", "add", "nopw", "--url", &url, "--no-password"], None).ok();
    home.cli(&["profile", "test", "nopw"], None).err("password_missing");

    home.cli(&["profile", "add", "nodb", "--url", &pg.url("no_such_db"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["profile", "test", "nodb"], None).err("database_missing");

    let closed = tideline_core::cluster::free_port().unwrap();
    let unreachable = format!("postgresql://postgres@127.0.0.1:{closed}/postgres");
    home.cli(&["profile", "add", "down", "--url", &unreachable, "--no-password"], None).ok();
    home.cli(&["profile", "test", "down"], None).err("host_unreachable");

    // A server that requires TLS from a client that will not use it.
    let plain = format!("postgresql://postgres@127.0.0.1:{}/postgres?sslmode=require", pg.port());
    home.cli(&["profile", "add", "tls", "--url", &plain, "--password-stdin"], Some(&pw)).ok();
    home.cli(&["profile", "test", "tls"], None).err("tls_unsupported");

    assert!(home.files_containing(&pw).is_empty());
});

#[test]
fn malformed_input_is_refused_before_anything_is_saved() {
    let home = Home::new();
    for url in ["mysql://u@h/db", "postgresql://u@h:99999/db", "host=h sslmode=sometimes", "postgresql://a,b/db"] {
        home.cli(&["profile", "add", "bad", "--url", url, "--no-password"], None).err("invalid_uri");
    }
    home.cli(&["profile", "add", "x", "--port", "0", "--no-password"], None).err("invalid_input");
    assert_eq!(home.cli(&["profile", "list"], None).ok()["profiles"].as_array().unwrap().len(), 0);
    // clap's own usage errors keep the JSON contract too.
    let usage = home.cli(&["profile", "add"], None);
    assert_eq!(usage.json["code"], "invalid_input");
}

// A value a flag does not take is refused while the arguments are read, before a profile is
// even looked up, with every value it does take.
#[test]
fn flag_values_are_refused_by_the_parser_with_the_possible_values() {
    let home = Home::new();
    let cases: [(&[&str], &str); 6] = [
        (&["backup", "nobody", "--format", "bogus"], "custom, directory, plain, tar"),
        (&["basebackup", "nobody", "--format", "bogus"], "tar, plain"),
        (&["basebackup", "nobody", "--checkpoint", "bogus"], "fast, spread"),
        (
            &["schedule", "add", "nobody", "--what", "bogus", "--daily", "03:00"],
            "database, every, globals, cluster, base, verify",
        ),
        (&["notify", "add", "--format", "bogus"], "generic, slack, discord, ping, desktop"),
        (&["wal", "setup", "nobody", "--method", "bogus"], "archive, stream"),
    ];
    for (args, values) in cases {
        let out = home.cli(args, None);
        let err = out.err("invalid_input");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("'bogus'") && message.contains(&format!("[possible values: {values}]")),
            "{args:?}: {message}"
        );
    }
    // pg_dump's own letters still work: the profile, not the format, is what is missing.
    home.cli(&["backup", "nobody", "--format", "d"], None).err("profile_missing");
}

#[test]
fn a_server_that_never_answers_is_a_timeout() {
    // Accepts TCP and then says nothing, like a firewall that drops the startup packet.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(std::time::Duration::from_secs(5));
        drop(conns);
    });
    let home = Home::new();
    let url = format!("postgresql://u@127.0.0.1:{port}/d?connect_timeout=1&sslmode=disable");
    home.cli(&["profile", "add", "slow", "--url", &url, "--no-password"], None).ok();
    let started = std::time::Instant::now();
    home.cli(&["profile", "test", "slow"], None).err("timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}

#[test]
fn edit_renames_and_replaces_the_password_in_the_keychain() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    let added =
        home.cli(&["profile", "add", "a", "--url", &pg.url("postgres"), "--password-stdin"], Some("first-wrong"));
    let id = added.ok()["id"].as_str().unwrap().to_string();
    home.cli(&["profile", "test", "a"], None).err("auth_failed");
    let edited = home.cli(&["profile", "edit", "a", "--rename", "b", "--password-stdin"], Some(&pw));
    assert_eq!(edited.ok()["id"], id.as_str());
    assert_eq!(keychain_get(&id).as_deref(), Some(pw.as_str()));
    assert_eq!(home.cli(&["profile", "test", "b"], None).ok()["major"], major);
    home.cli(&["profile", "edit", "b", "--clear-password"], None).ok();
    assert_eq!(keychain_get(&id), None);
    home.cli(&["profile", "remove", "b"], None).ok();
}

#[test]
fn without_a_flag_the_password_is_asked_for_on_the_terminal() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    // `script` gives the CLI a real terminal; the prompt reads the password from it.
    let cmd_line = format!(
        "'{}' profile add prompted --url '{}' --json",
        crate::support::tideline_bin().display(),
        pg.url("postgres")
    );
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &cmd_line, "/dev/null"])
        .env("TIDELINE_HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Type only once the prompt is up, as a person would (typed-ahead input is echoed by the tty).
    let mut stdout = child.stdout.take().unwrap();
    let mut screen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&screen).contains("Password for") {
        use std::io::Read;
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&screen));
        screen.extend_from_slice(&buf[..n]);
    }
    {
        use std::io::Write;
        // rpassword prints the prompt, then turns echo off: give it that moment, as a person would.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{pw}\n").as_bytes()).unwrap();
        std::io::Read::read_to_end(&mut stdout, &mut screen).unwrap();
    }
    let status = child.wait().unwrap();
    let screen = String::from_utf8_lossy(&screen).to_string();
    assert!(status.success(), "{screen}");
    assert!(screen.contains("Password for postgres@127.0.0.1"), "{screen}");
    assert!(!screen.contains(&pw), "the typed password is not echoed: {screen}");
    let json: serde_json::Value = serde_json::from_str(screen.trim().lines().last().unwrap().trim()).unwrap();
    assert_eq!(json["has_password"], true);
    assert_eq!(home.cli(&["profile", "test", "prompted"], None).ok()["major"], major);
    home.cli(&["profile", "remove", "prompted"], None).ok();
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    // `tideline profile list | head -0`: stdout is a pipe whose reader has gone.
    let home = Home::new();
    for json in [true, false] {
        let mut cmd = std::process::Command::new(crate::support::tideline_bin());
        cmd.env("TIDELINE_HOME", home.path()).args(["profile", "list"]);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

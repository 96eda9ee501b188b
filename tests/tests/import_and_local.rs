//! Passwordless local auth (peer over a Unix socket), and importing profiles from ~/.pgpass,
//! pg_service.conf and local discovery — against real clusters of every major.

use crate::support::{keychain_get, password, Home, TestCluster};

fn os_user_name() -> String {
    // SAFETY: getpwuid returns static storage or null; copied out at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        assert!(!pw.is_null());
        std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned()
    }
}

each_major!(fn peer_auth_over_a_unix_socket_needs_no_password(major) {
    let me = os_user_name();
    let pg = TestCluster::start_prepared(major, Some(&password()), vec![], |c| {
        let data = c.data_dir();
        // Peer auth on the socket, mapping this OS user to the database user postgres.
        let hba = std::fs::read_to_string(data.join("pg_hba.conf")).unwrap();
        let hba: String = hba.lines().filter(|l| !l.starts_with("local")).map(|l| format!("{l}\n")).collect();
        std::fs::write(data.join("pg_hba.conf"), format!("local all all peer map=tl\n{hba}")).unwrap();
        std::fs::write(data.join("pg_ident.conf"), format!("tl {me} postgres\n")).unwrap();
    });
    let home = Home::new();
    let socket = pg.get().socket_dir().display().to_string();
    let port = pg.port().to_string();
    let add = |name: &str, user: &str| {
        home.cli(
            &[
                "profile",
                "add",
                name,
                "--host",
                &socket,
                "--port",
                &port,
                "--user",
                user,
                "--database",
                "postgres",
                "--no-password",
            ],
            None,
        )
        .ok()
        .clone()
    };
    let p = add("peer", "postgres");
    assert_eq!(p["has_password"], false);
    let facts = home.cli(&["profile", "test", "peer"], None);
    assert_eq!(facts.ok()["current_user"], "postgres");
    assert_eq!(facts.ok()["major"], major);
    add("peer-other", "someone_else");
    home.cli(&["profile", "test", "peer-other"], None).err("auth_failed");
});

each_major!(fn imports_pgpass_service_file_and_discovered_servers(major) {
    let pw = password();
    let pg = TestCluster::start_with(major, Some(&pw), vec![]);
    let port = pg.port();
    let files = tempfile::tempdir().unwrap();
    let pgpass = files.path().join("pgpass");
    std::fs::write(&pgpass, format!("# mine\n127.0.0.1:{port}:postgres:postgres:{pw}\n*:*:*:postgres:wild\n"))
        .unwrap();
    let service = files.path().join("pg_service.conf");
    std::fs::write(
        &service,
        format!("[svc{major}]\nhost=127.0.0.1\nport={port}\nuser=postgres\ndbname=postgres\nsslmode=disable\n"),
    )
    .unwrap();
    let env = [
        ("PGPASSFILE", pgpass.to_str().unwrap()),
        ("PGSERVICEFILE", service.to_str().unwrap()),
        ("PGSYSCONFDIR", "/nonexistent-tideline"),
    ];
    let home = Home::new();

    let report = home.cli_env(&["profile", "import", "--pgpass"], None, &env);
    let report = report.ok();
    let added = report["added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{report}");
    let name = added[0]["name"].as_str().unwrap().to_string();
    assert_eq!(added[0]["port"], port);
    assert_eq!(added[0]["has_password"], true);
    assert_eq!(
        keychain_get(added[0]["id"].as_str().unwrap()).as_deref(),
        Some(pw.as_str()),
        "pgpass password went to the keychain"
    );
    assert!(
        report["skipped"].as_array().unwrap().iter().any(|s| s["name"].as_str().unwrap().contains('*')),
        "{report}"
    );
    assert_eq!(home.cli(&["profile", "test", &name], None).ok()["major"], major);

    let report = home.cli_env(&["profile", "import", "--service-file"], None, &env);
    let svc = &report.ok()["added"][0];
    assert_eq!(svc["name"], format!("svc{major}"));
    assert_eq!(svc["sslmode"], "disable");
    home.cli_env(&["profile", "test", &format!("svc{major}")], None, &env).err("password_missing");

    // A service named in a conninfo string resolves through the same file.
    let by_service = home.cli_env(
        &["profile", "add", "via-service", "--url", &format!("service=svc{major}"), "--password-stdin"],
        Some(&pw),
        &env,
    );
    assert_eq!(by_service.ok()["port"], port);
    assert_eq!(home.cli(&["profile", "test", "via-service"], None).ok()["major"], major);

    // Importing the same sources again adds nothing.
    let again = home.cli_env(&["profile", "import", "--pgpass", "--service-file"], None, &env);
    assert_eq!(again.ok()["added"].as_array().unwrap().len(), 0);

    assert!(home.files_containing(&pw).is_empty());
    for p in home.cli(&["profile", "list"], None).ok()["profiles"].as_array().unwrap() {
        home.cli(&["profile", "remove", p["name"].as_str().unwrap()], None).ok();
    }
});

each_major!(fn discovery_finds_a_local_server_by_its_socket(major) {
    let pg = TestCluster::start_with(major, None, vec![]);
    let socket = pg.get().socket_dir();
    // Discovery looks in the usual socket directories; point /tmp's well-known name at ours.
    let link = std::path::Path::new("/tmp").join(format!(".s.PGSQL.{}", pg.port()));
    std::os::unix::fs::symlink(socket.join(format!(".s.PGSQL.{}", pg.port())), &link).unwrap();
    let home = Home::new();
    let report = home.cli(&["profile", "import", "--discover"], None);
    let _ = std::fs::remove_file(&link);
    let report = report.ok();
    let found = report["added"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == pg.port())
        .unwrap_or_else(|| panic!("discovery missed port {}: {report}", pg.port()))
        .clone();
    assert_eq!(found["host"], "/tmp");
    assert_eq!(found["name"], format!("local-{}", pg.port()));
    assert_eq!(found["has_password"], false);
});

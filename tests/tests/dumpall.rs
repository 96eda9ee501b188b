//! pg_dumpall backups (cluster, globals, roles) and restoring them: roles first, then the
//! databases that need them; a whole cluster only into a server that lacks its databases.

use crate::support::{password, psql, Home, TestCluster};

fn add(home: &Home, name: &str, pg: &TestCluster) {
    let pw = pg.password.clone().unwrap();
    home.cli(&["profile", "add", name, "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
}

each_major!(fn globals_restore_before_the_databases_that_need_them(major) {
    let source = TestCluster::start(major, Some(&password()));
    psql(&source, "postgres", "CREATE ROLE app_owner LOGIN; CREATE DATABASE shop OWNER app_owner");
    psql(
        &source,
        "shop",
        "SET ROLE app_owner; CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 42)",
    );
    let home = Home::new();
    add(&home, "src", &source);

    let globals = home.cli(&["dumpall", "src", "--globals-only"], None);
    let globals = globals.ok().clone();
    assert_eq!(globals["kind"], "globals");
    let script =
        std::fs::read_to_string(std::path::Path::new(globals["path"].as_str().unwrap()).join("cluster.sql"))
            .unwrap();
    assert!(script.contains("CREATE ROLE app_owner"));
    assert!(!script.contains("CREATE DATABASE"));
    let roles = home.cli(&["dumpall", "src", "--roles-only"], None);
    assert_eq!(roles.ok()["kind"], "roles");
    let cluster = home.cli(&["dumpall", "src"], None);
    let cluster = cluster.ok().clone();
    // Each pg_dumpall script verifies (it ends with pg_dumpall's marker, not pg_dump's).
    for id in [&globals["id"], &cluster["id"]] {
        home.cli(&["verify", id.as_str().unwrap()], None).ok();
    }
    let db = home.cli(&["backup", "src", "--database", "shop", "--format", "custom"], None);
    let db_id = db.ok()["id"].as_str().unwrap().to_string();

    // A new server: the database backup needs the role its objects belong to.
    let target = TestCluster::start(major, Some(&password()));
    add(&home, "dst", &target);
    let refused = home.cli(&["restore", &db_id, "--profile", "dst", "--to-db", "shop"], None);
    assert!(refused.err("roles_missing")["message"].as_str().unwrap().contains("app_owner"));
    let restored = home.cli(&["restore", globals["id"].as_str().unwrap(), "--profile", "dst"], None);
    let warnings = restored.ok()["warnings"].as_array().unwrap().clone();
    // The role we connect as keeps its password: the source's would lock us out.
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("kept its own password")), "{warnings:?}");
    assert_eq!(psql(&target, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner'"), "1");
    home.cli(&["restore", &db_id, "--profile", "dst", "--to-db", "shop"], None).ok();
    assert_eq!(psql(&target, "shop", "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"), "app_owner");
    home.cli(&["restore", globals["id"].as_str().unwrap(), "--profile", "dst", "--to-db", "x"], None)
        .err("invalid_input");

    // A whole cluster into a server without its databases; not over them.
    let empty = TestCluster::start(major, Some(&password()));
    add(&home, "empty", &empty);
    home.cli(&["restore", cluster["id"].as_str().unwrap(), "--profile", "empty"], None).ok();
    assert_eq!(psql(&empty, "shop", "SELECT count(*) FROM orders"), "42");
    home.cli(&["restore", cluster["id"].as_str().unwrap(), "--profile", "empty"], None).err("target_not_empty");
});

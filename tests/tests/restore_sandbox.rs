//! `tideline restore ID --sandbox` on every major: a logical backup lands in a new
//! Tideline-managed server (the database keeps its name; the profile's role logs in with a
//! password Tideline chose and keeps in the keychain; the source's owners and grants, which the new server lacks, are left out), listed among
//! the sandboxes, compared against the live database and removed like any other. A dry run
//! makes no sandbox; a pg_dumpall script is refused.

use crate::support::{load_sample, password, psql, Home, TestCluster};

each_major!(fn a_backup_restores_into_a_new_sandbox(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    load_sample(&pg, "shop");
    // An owner and a grant the sandbox's server does not have.
    psql(&pg, "shop", "CREATE ROLE clerk; ALTER TABLE actor OWNER TO clerk; GRANT SELECT ON film TO clerk");
    let actors = psql(&pg, "shop", "SELECT count(*) FROM actor");
    let id = home.cli(&["backup", "p", "--database", "shop", "--format", "custom"], None).ok()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let dry = home.cli(&["restore", &id, "--sandbox", "--dry-run"], None).ok().clone();
    assert!(dry["sandbox"].is_null(), "{dry}");
    assert_eq!(home.cli(&["sandbox", "list"], None).ok()["sandboxes"].as_array().unwrap().len(), 0);

    let report = home.cli(&["restore", &id, "--sandbox"], None).ok().clone();
    let s = &report["sandbox"];
    assert_eq!(s["kind"], "restore", "{report}");
    assert_eq!(s["status"], "running");
    assert_eq!(s["database"], "shop");
    assert_eq!(s["backup_id"], id.as_str());
    let sid = s["id"].as_str().unwrap().to_string();
    let port = s["port"].as_u64().unwrap() as u16;
    // Its superuser password is Tideline's own choice, from the keychain, not the profile's.
    let sandbox_pw = home.cli(&["sandbox", "password", &sid], None).ok()["password"].as_str().unwrap().to_string();
    assert_ne!(sandbox_pw, pw);
    let count = crate::support::query_at_db(major, port, &sandbox_pw, "shop", "SELECT count(*) FROM actor");
    assert_eq!(count, actors, "PostgreSQL {major}: {report}");
    let counted = report["row_counts"].as_array().unwrap().iter().find(|t| t["table"] == "actor").cloned();
    assert_eq!(counted.map(|t| t["rows"].to_string()), Some(actors.clone()));

    let listed = home.cli(&["sandbox", "list"], None).ok().clone();
    assert_eq!(listed["sandboxes"][0]["id"], sid.as_str(), "{listed}");
    // Compared against the live database: the same rows on both sides.
    let cmp = home.cli(&["sandbox", "compare", &sid], None).ok().clone();
    let actor = cmp["tables"].as_array().unwrap().iter().find(|t| t["table"] == "actor").cloned().unwrap();
    assert_eq!(actor["sandbox_rows"], actor["live_rows"], "{cmp}");
    home.cli(&["sandbox", "remove", &sid], None).ok();
    assert!(!std::path::Path::new(s["root"].as_str().unwrap()).exists());

    let all = home.cli(&["dumpall", "p"], None).ok()["id"].as_str().unwrap().to_string();
    home.cli(&["restore", &all, "--sandbox"], None).err("invalid_input");
});

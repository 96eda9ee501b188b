//! `tideline demo`: a managed cluster with pagila and generated rows, archiving into the
//! repository, a base backup and a `demo` profile; the scripted accident; and PITR to the
//! restore point before it bringing the rows back in a sandbox.

use crate::support::{set_mode, wait_for, Home};
use tideline_core::pg::lsn::lsn;

#[test]
fn the_demo_is_created_once_has_an_accident_and_pitr_undoes_it() {
    let home = Home::new();
    let work = tempfile::Builder::new().prefix("tideline-demo-").tempdir().unwrap();
    set_mode(work.path(), 0o755);
    let sandboxes = work.path().join("sandboxes");
    let env = [("TIDELINE_SANDBOX_ROOT", sandboxes.to_str().unwrap())];
    home.cli(&["repo", "path", work.path().join("repo").to_str().unwrap()], None).ok();

    let demo = home.cli_env(&["demo"], None, &env).ok().clone();
    assert_eq!(demo["created"], true, "{demo}");
    assert_eq!(demo["profile"], "demo");
    assert!(demo["base_backup_id"].as_str().is_some(), "{demo}");
    let root = std::path::PathBuf::from(demo["root"].as_str().unwrap());
    assert!(root.starts_with(work.path()) && root.join("data/PG_VERSION").exists(), "{demo}");
    let again = home.cli_env(&["demo"], None, &env).ok().clone();
    assert_eq!((again["created"].as_bool(), again["port"].as_u64()), (Some(false), demo["port"].as_u64()));
    let profile = home.cli(&["profile", "show", "demo"], None).ok().clone();
    assert_eq!(profile["database"], "pagila");

    let accident = home.cli_env(&["demo", "--accident"], None, &env).ok().clone();
    assert!(accident["accident"].as_str().unwrap().contains("film_actor"), "{accident}");
    let timeline = || home.cli(&["timeline", "demo"], None).ok().clone();
    let mark = timeline()["restore_points"][0]["lsn"].as_str().unwrap().to_string();
    wait_for("the accident's WAL to be archived", || {
        let t = timeline();
        t["window"]["timelines"][0]["latest"]["lsn"].as_str().and_then(lsn) > lsn(&mark)
    });

    let s = home.cli_env(&["pitr", "demo", "--name", "before-accident"], None, &env).ok().clone();
    let id = s["id"].as_str().unwrap().to_string();
    let cmp = home.cli_env(&["sandbox", "compare", &id], None, &env).ok().clone();
    let fa = cmp["tables"].as_array().unwrap().iter().find(|t| t["table"] == "film_actor").unwrap().clone();
    assert_eq!(fa["live_rows"], 0, "{fa}");
    assert!(fa["sandbox_rows"].as_i64().unwrap() > 1000, "{fa}");

    home.cli_env(&["sandbox", "remove", &id], None, &env).ok();
    home.cli_env(&["demo", "--remove"], None, &env).ok();
    assert!(!root.exists());
    let left: Vec<_> = std::fs::read_dir(work.path().join("repo/clusters")).unwrap().flatten().collect();
    assert!(left.is_empty(), "the demo's WAL stays behind: {left:?}");
    home.cli(&["profile", "show", "demo"], None).err("profile_missing");
}

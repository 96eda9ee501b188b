//! `tideline tools --json` finds the binaries the bootstrap installed and probes each build.

use crate::support::{majors, Home};

each_major!(fn lists_every_required_major_with_capabilities(major) {
    let home = Home::new();
    let inv = home.cli(&["tools"], None);
    let installations = inv.ok()["installations"].as_array().unwrap().clone();
    // Every major's server binaries; client tools of its own major only where this machine
    // has them (the 13, 14 and 16 builds are servers only: 15, 17 and 18 serve them).
    let server = installations
        .iter()
        .find(|i| i["major"] == major && i["tools"].as_array().unwrap().iter().any(|t| t == "postgres"));
    assert!(server.is_some(), "PostgreSQL {major}'s server not listed: {installations:?}");
    let Some(inst) = installations
        .iter()
        .find(|i| i["major"] == major && i["tools"].as_array().unwrap().iter().any(|t| t == "pg_dump"))
    else {
        assert!([13, 14, 16].contains(&major), "PostgreSQL {major} with pg_dump not listed: {installations:?}");
        return;
    };
    // Every tool Tideline uses; pg_combinebackup exists from 17 on.
    let expected = tideline_core::tools::TOOL_NAMES.iter().filter(|t| major >= 17 || **t != "pg_combinebackup");
    for tool in expected {
        assert!(inst["tools"].as_array().unwrap().iter().any(|t| t == tool), "{major} lacks {tool}");
    }
    let caps = &inst["capabilities"];
    assert!(caps["dump_compression"].as_array().unwrap().iter().any(|m| m == "gzip"), "{major}: {caps}");
    assert_eq!(caps["incremental_backup"], major >= 17);
    assert_eq!(caps["table_and_children"], major >= 16);
    // Measured facts about these builds: the PyPI 17 build has zstd, the PyPI 18 build does not.
    let by_major = |m: u32| {
        installations
            .iter()
            .find(|i| i["major"] == m && i["source"] == "configured")
            .map(|i| i["capabilities"]["dump_compression"].clone())
    };
    if let Some(c17) = by_major(17) {
        assert!(c17.as_array().unwrap().iter().any(|m| m == "zstd"), "{c17}");
    }
    if let Some(c18) = by_major(18) {
        assert!(!c18.as_array().unwrap().iter().any(|m| m == "zstd"), "{c18}");
    }
});

#[test]
fn added_directories_are_remembered() {
    let home = Home::new();
    let dir = crate::support::server(majors()[0]).dir.clone();
    let out = std::process::Command::new(crate::support::tideline_bin())
        .env("TIDELINE_HOME", home.path())
        .env_remove("TIDELINE_PG_PATHS")
        .args(["tools", "--add-dir", &dir, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let again = std::process::Command::new(crate::support::tideline_bin())
        .env("TIDELINE_HOME", home.path())
        .env_remove("TIDELINE_PG_PATHS")
        .args(["tools", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(json["installations"].as_array().unwrap().iter().any(|i| i["dir"] == dir.as_str()));
    let bad = home.cli(&["tools", "--add-dir", "/nonexistent/bin"], None);
    bad.err("invalid_input");
    // Removed, it is no longer looked in.
    let removed = std::process::Command::new(crate::support::tideline_bin())
        .env("TIDELINE_HOME", home.path())
        .env_remove("TIDELINE_PG_PATHS")
        .args(["tools", "--remove-dir", &dir, "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&removed.stdout).unwrap();
    let still = json["installations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["dir"] == dir.as_str() && i["source"] == "configured");
    assert!(!still, "{json:#}");
}

#[test]
fn a_missing_major_names_the_version_and_how_to_install_it() {
    // Choosing among the binaries really found on this machine.
    let e = crate::support::inventory().client_for(99, "pg_dump").unwrap_err();
    assert_eq!(e.code, tideline_core::ErrorCode::ToolMissing);
    assert!(e.message.contains("PostgreSQL 99"), "{}", e.message);
    assert!(e.hint.contains("postgresql-client-99"), "{}", e.hint);
    let e = crate::support::inventory().server_for(12, "postgres").unwrap_err();
    assert!(e.message.contains("PostgreSQL 12"), "{}", e.message);
    assert!(e.hint.contains("postgresql-12"), "{}", e.hint);
    // A 16 server gets the closest newer client tools; a 15 server its own.
    assert_eq!(crate::support::inventory().client_for(16, "pg_dump").unwrap().major, 17);
    assert_eq!(crate::support::inventory().client_for(15, "pg_dump").unwrap().major, 15);
}

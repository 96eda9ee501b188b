//! Turning a laid-down data directory into one that recovers: the signal file, the
//! restore_command (`tideline wal-fetch`, so it reads `.zst` and `.partial` and checks the
//! cluster), the target, and files a running source left behind that must not come along.

use crate::error::{Error, Result};
use crate::pg::recovery_target::{command_path, conf_quote, RecoveryTarget};
use std::path::Path;

/// `restore_command` for a server that recovers from `repo` with the CLI at `cli`, and from
/// the bucket `bucket_config` names for what `repo` lacks or holds damaged.
pub fn restore_command(cli: &Path, repo: &Path, bucket_config: Option<&Path>) -> String {
    let mut command = format!("{} wal-fetch --repo {}", command_path(cli), command_path(repo));
    if let Some(config) = bucket_config {
        command.push_str(&format!(" --repo-config {}", command_path(config)));
    }
    command + " %f %p"
}

/// The settings a recovery needs, as postgresql.conf lines. Without a target, all the WAL
/// there is is replayed on `timeline` (the newest when None), then the server promotes.
pub fn recovery_settings(
    cli: &Path,
    repo: &Path,
    bucket_config: Option<&Path>,
    target: Option<&RecoveryTarget>,
    timeline: Option<u32>,
) -> Vec<(String, String)> {
    let mut out = vec![("restore_command".to_string(), conf_quote(&restore_command(cli, repo, bucket_config)))];
    let tli = timeline.map(|t| t.to_string()).unwrap_or_else(|| "latest".into());
    match target {
        Some(t) => out.extend(t.settings(&tli)),
        None => out.push(("recovery_target_timeline".into(), conf_quote(&tli))),
    }
    out
}

/// What a sandbox overrides besides address and port: it never archives into the source's
/// archive (that would fork the source's timelines), never follows a primary, logs in C to
/// the file Tideline reads, does not need the source's TLS files, and reads its own pg_hba.conf.
pub fn sandbox_settings(root: &Path) -> Vec<(String, String)> {
    let at = |name: &str| conf_quote(&root.join(name).to_string_lossy());
    let mut out: Vec<(String, String)> = [
        ("archive_mode", "off"),
        ("primary_conninfo", "''"),
        ("primary_slot_name", "''"),
        ("lc_messages", "'C'"),
        ("logging_collector", "off"),
        ("log_destination", "'stderr'"),
        ("log_min_messages", "'warning'"),
        ("ssl", "off"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // Relative paths would resolve against the server's working directory, not PGDATA.
    out.push(("hba_file".into(), at("data/pg_hba.conf")));
    out.push(("ident_file".into(), at("data/pg_ident.conf")));
    // Never the source's pid file path (that would overwrite a live server's). In the data
    // directory, which the server's OS user owns: the sandbox's root was refused it, and ''
    // is a file name to PostgreSQL, not "none".
    out.push(("external_pid_file".into(), at("data/external.pid")));
    out
}

/// Makes `data_dir` start in targeted recovery: recovery.signal, no standby.signal, no stale
/// pid file; the configuration files the server needs exist (a Debian-style source keeps them
/// outside its data directory, so a backup of it has none).
pub fn prepare(data_dir: &Path) -> Result<()> {
    for stale in ["postmaster.pid", "postmaster.opts", "standby.signal"] {
        let _ = std::fs::remove_file(data_dir.join(stale));
    }
    let write_new = |name: &str, text: &str| -> Result<()> {
        let path = data_dir.join(name);
        if !path.exists() {
            std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    };
    write_new("postgresql.conf", "# written by Tideline: the source kept its configuration elsewhere\n")?;
    write_new(
        "pg_hba.conf",
        "# written by Tideline: the source kept its pg_hba.conf elsewhere\nlocal all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )?;
    write_new("pg_ident.conf", "")?;
    write_new("recovery.signal", "")
}

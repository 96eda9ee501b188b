//! `tideline wal setup PROFILE [--method archive|stream] [--apply]`: what the server needs for
//! continuous WAL, what is missing, which method fits and why, and (as a superuser) setting it
//! with ALTER SYSTEM. archive_command runs as the server's OS user, so archiving is only
//! recommended when that user can run the tideline binary and write the repository; otherwise
//! streaming, which runs as the Tideline user.

use crate::cluster::os_user::{check_reachable, running_as_root, OsUser};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::server::query_failed;
use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tokio_postgres::Client;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum WalMethod {
    /// archive_command = tideline wal-push, run by the server.
    Archive,
    /// pg_receivewal with a replication slot, run by Tideline.
    Stream,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SettingCheck {
    pub name: String,
    pub current: String,
    pub wanted: String,
    pub ok: bool,
    /// Changing it takes a server restart (else a reload).
    pub restart: bool,
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct WalSetupOptions {
    pub method: Option<WalMethod>,
    pub apply: bool,
    /// The tideline binary archive_command should run (this one by default).
    pub tideline_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WalSetupReport {
    pub profile: String,
    pub system_identifier: String,
    pub method: WalMethod,
    pub method_reason: String,
    pub checks: Vec<SettingCheck>,
    pub archive_command: Option<String>,
    pub wal_dir: String,
    pub applied: bool,
    pub restart_needed: bool,
    /// The exact command that restarts this server, when it is on this machine.
    pub restart_command: Option<String>,
    pub test: Option<super::status::ArchiveTest>,
}

/// The server as seen from here: its settings, and its data directory when it is local.
struct ServerFacts {
    sysid: String,
    superuser: bool,
    replication_role: bool,
    settings: Vec<(String, String)>,
    /// The OS user owning the data directory, when that directory is on this machine (see
    /// [`local_owner`]).
    os_user: Option<OsUser>,
}

impl ServerFacts {
    fn setting(&self, name: &str) -> &str {
        self.settings.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

async fn server_facts(client: &Client) -> Result<ServerFacts> {
    let row = client
        .query_one(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()),
                    r.rolsuper, r.rolsuper OR r.rolreplication, pg_backend_pid()
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(query_failed("reading the server's identity"))?;
    let settings = client
        .query(
            "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'archive_mode', 'archive_command',
                'archive_timeout', 'max_wal_senders', 'max_slot_wal_keep_size', 'data_directory',
                'server_version_num')",
            &[],
        )
        .await
        .map_err(query_failed("reading WAL settings"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut facts =
        ServerFacts { sysid: row.get(0), superuser: row.get(1), replication_role: row.get(2), settings, os_user: None };
    let data_dir = PathBuf::from(facts.setting("data_directory"));
    facts.os_user = local_owner(&data_dir, &facts.sysid, row.get::<_, i32>(3));
    Ok(facts)
}

/// The OS user owning the server's data directory, when the server runs on this machine.
/// The directory's pg_control carries the server's system identifier; or, when it is closed
/// to us (a packaged server owned by `postgres`, Tideline run as a normal user), the backend
/// serving this very connection is a `postgres` process here, run by that directory's owner.
/// A path alone proves nothing: another machine's server has the same one. data_directory is
/// hidden from roles without pg_read_all_settings: then "not local".
fn local_owner(data_dir: &Path, sysid: &str, backend_pid: i32) -> Option<OsUser> {
    if data_dir.as_os_str().is_empty() {
        return None;
    }
    let owner = std::fs::metadata(data_dir).ok()?.uid();
    let identified = match super::control::data_dir_system_identifier(data_dir) {
        Ok(id) => id.to_string() == sysid,
        Err(_) => our_backend_is_here(backend_pid, owner),
    };
    identified.then(|| OsUser::by_uid(owner)).flatten()
}

/// Whether process `pid` here is a PostgreSQL server process run by `owner`: /proc shows
/// every user's processes, their owner and their name.
fn our_backend_is_here(pid: i32, owner: u32) -> bool {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let run_by_owner = std::fs::metadata(&proc).is_ok_and(|m| m.uid() == owner);
    let name = std::fs::read_to_string(proc.join("comm")).unwrap_or_default();
    run_by_owner && matches!(name.trim(), "postgres" | "postmaster")
}

/// Whether `user` could run `binary` and (after we prepare it) write `wal_dir`.
pub(crate) fn archive_blocker(user: &OsUser, binary: &Path, wal_dir: &Path) -> Option<String> {
    if let Err(e) = check_reachable(binary, user) {
        return Some(format!("{} (the tideline binary)", e.message));
    }
    let exec = std::fs::metadata(binary).map(|m| m.mode() & 0o111 != 0).unwrap_or(false);
    if !exec {
        return Some(format!("{} is not executable", binary.display()));
    }
    let me = OsUser::current();
    if me.as_ref().map(|m| m.uid) == Some(user.uid) || running_as_root() {
        // Ourselves, or root: inside the repository we make the way through and the WAL
        // directory theirs; above it (a home directory, say) we change nothing.
        let repo_root = wal_dir.ancestors().nth(3).unwrap_or(wal_dir);
        return check_reachable(repo_root, user).err().map(|e| e.message);
    }
    Some(format!(
        "the server runs as OS user '{}' and Tideline as '{}': that user cannot be given {}",
        user.name,
        me.map(|m| m.name).unwrap_or_default(),
        wal_dir.display()
    ))
}

fn check(name: &str, current: &str, wanted: &str, ok: bool, restart: bool, why: &str) -> SettingCheck {
    SettingCheck { name: name.into(), current: current.into(), wanted: wanted.into(), ok, restart, why: why.into() }
}

/// An SQL string literal that means the same whatever standard_conforming_strings says: an
/// escape string (E'…') when there is a backslash, read the same way by every server.
fn quote_literal(s: &str) -> String {
    if s.contains('\\') {
        format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// archive_command for this binary and repository. Paths are single-quoted for the shell.
pub fn archive_command(binary: &Path, repo: &Path) -> String {
    use crate::pg::recovery_target::command_path;
    format!("{} wal-push --repo {} %p", command_path(binary), command_path(repo))
}

fn checks(facts: &ServerFacts, method: WalMethod, command: &str) -> Vec<SettingCheck> {
    let level = facts.setting("wal_level");
    let senders: i64 = facts.setting("max_wal_senders").parse().unwrap_or(0);
    let mut out = vec![check(
        "wal_level",
        level,
        "replica",
        matches!(level, "replica" | "logical"),
        true,
        "WAL must carry enough to rebuild the data: `minimal` cannot be archived or replayed.",
    )];
    let need_senders = if method == WalMethod::Stream { 3 } else { 2 };
    out.push(check(
        "max_wal_senders",
        &senders.to_string(),
        &need_senders.to_string(),
        senders >= need_senders,
        true,
        "A streamed base backup uses two WAL senders; streaming WAL uses one more.",
    ));
    match method {
        WalMethod::Archive => {
            let mode = facts.setting("archive_mode");
            let timeout: i64 = facts.setting("archive_timeout").parse().unwrap_or(0);
            out.push(check(
                "archive_mode",
                mode,
                "on",
                matches!(mode, "on" | "always"),
                true,
                "The server hands each finished WAL segment to archive_command.",
            ));
            out.push(check(
                "archive_command",
                facts.setting("archive_command"),
                command,
                facts.setting("archive_command") == command,
                false,
                "tideline wal-push stores each segment, compressed and checked, in the repository.",
            ));
            out.push(check(
                "archive_timeout",
                &timeout.to_string(),
                "60",
                (1..=300).contains(&timeout),
                false,
                "A quiet server still hands over its WAL within a minute: the most a crash can lose.",
            ));
        }
        WalMethod::Stream => {
            let keep = facts.setting("max_slot_wal_keep_size");
            out.push(check(
                "max_slot_wal_keep_size",
                keep,
                "10240",
                keep != "-1" && !keep.is_empty(),
                false,
                "Caps the WAL a replication slot keeps (MB) while streaming is stopped, so it cannot fill the server's disk.",
            ));
        }
    }
    out
}

impl Engine {
    fn restart_command(&self, facts: &ServerFacts) -> Option<String> {
        let major = facts.setting("server_version_num").parse::<u32>().ok()? / 10_000;
        let pg_ctl = self.tools().ok().and_then(|t| t.server_for(major, "pg_ctl").ok().map(|i| i.path("pg_ctl")));
        let data_dir = PathBuf::from(facts.setting("data_directory"));
        super::restart_command::restart_command(&data_dir, facts.os_user.as_ref(), pg_ctl.as_deref())
    }

    pub async fn wal_setup(&self, profile_name: &str, opts: &WalSetupOptions) -> Result<WalSetupReport> {
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let client = crate::connect::connect(&profile.draft(), password.as_ref()).await?;
        let facts = server_facts(&client).await?;
        let binary = match &opts.tideline_path {
            Some(p) => p.clone(),
            // As root, this binary may sit where the server's user cannot reach (under /root):
            // a copy it can run, beside the sandboxes, as recovery uses.
            None => {
                let cli = crate::cluster::runnable_cli::cli_binary()?;
                let shared = crate::cluster::runnable_cli::sandboxes_root(self.home());
                crate::cluster::runnable_cli::runnable_cli(&cli, facts.os_user.as_ref(), &shared)?
            }
        };
        let binary = binary.canonicalize().unwrap_or(binary);
        let target = self.archive_target(&profile.id, &facts.sysid)?;
        let blocker = match &facts.os_user {
            None => Some("the server is not on this machine (or its data directory is hidden from this role), so it cannot write the local repository".to_string()),
            Some(user) => target.blocker(user, &binary, &facts.sysid),
        };
        let wal_place = target.wal_place(&facts.sysid);
        let (method, method_reason) = choose_method(opts.method, blocker, &facts, &binary, &wal_place)?;
        let command = target.command(&binary);
        let mut report = WalSetupReport {
            profile: profile.name.clone(),
            system_identifier: facts.sysid.clone(),
            method,
            method_reason,
            checks: checks(&facts, method, &command),
            archive_command: (method == WalMethod::Archive).then(|| command.clone()),
            wal_dir: wal_place.clone(),
            applied: false,
            restart_needed: false,
            restart_command: self.restart_command(&facts),
            test: None,
        };
        // Who may connect for replication: not settings ALTER SYSTEM can change.
        let mut access = Vec::new();
        if !facts.replication_role {
            access.push(check(
                "replication privilege",
                "no",
                "REPLICATION",
                false,
                false,
                "Base backups and streaming connect for replication.",
            ));
        }
        access.push(self.replication_rule(&profile, password.as_ref(), &profile.draft().user).await);
        report.checks.extend(access.iter().cloned());
        if !opts.apply {
            return Ok(report);
        }
        if !facts.superuser {
            return Err(Error::new(
                ErrorCode::AccessDenied,
                format!("{} is not a superuser; ALTER SYSTEM needs one", profile.draft().user),
                "Run `wal setup --apply` with a superuser profile, or set the listed settings in postgresql.conf yourself.",
            ));
        }
        if method == WalMethod::Archive {
            target.prepare(self, facts.os_user.as_ref(), &facts.sysid)?;
        }
        for c in report.checks.iter().filter(|c| !c.ok && !access.iter().any(|a| a.name == c.name)) {
            client
                .batch_execute(&format!("ALTER SYSTEM SET {} = {}", c.name, quote_literal(&c.wanted)))
                .await
                .map_err(query_failed("ALTER SYSTEM"))?;
        }
        client.batch_execute("SELECT pg_reload_conf()").await.map_err(query_failed("reloading the configuration"))?;
        report.applied = true;
        // Read back after the reload: what took effect is what counts; what still differs
        // waits for a restart.
        let after = settled_facts(&client, method, &command).await?;
        report.checks = checks(&after, method, &command);
        report.checks.extend(access);
        report.restart_needed = report.checks.iter().any(|c| !c.ok && c.restart);
        if method == WalMethod::Archive && !report.restart_needed {
            report.test = Some(self.test_archiving(&client, target.local_wal_dir(&facts.sysid).as_deref()).await?);
        }
        tracing::info!(profile = %profile.name, method = ?method, restart = report.restart_needed, "wal setup applied");
        Ok(report)
    }
}

impl Engine {
    /// Whether pg_hba.conf lets this profile connect for replication: psql makes a physical
    /// replication connection and asks IDENTIFY_SYSTEM, as pg_basebackup and pg_receivewal would.
    async fn replication_rule(
        &self,
        profile: &crate::profile::Profile,
        password: Option<&crate::Secret>,
        user: &str,
    ) -> SettingCheck {
        let name = "pg_hba replication rule";
        let why = "pg_basebackup and pg_receivewal connect with replication=true, which pg_hba.conf must allow.";
        let wanted = format!("host replication {user} <client address> scram-sha-256");
        let psql = match self.tools().and_then(|t| t.client_for(0, "psql").cloned()) {
            Ok(inst) => inst.path("psql"),
            Err(_) => return check(name, "unknown (no psql found)", &wanted, false, false, why),
        };
        let Ok(mut cc) = crate::libpq_env::client_command(&psql, &profile.draft(), password) else {
            return check(name, "unknown", &wanted, false, false, why);
        };
        cc.command.args(["-X", "-At", "--dbname=replication=true", "-c", "IDENTIFY_SYSTEM"]);
        let out = tokio::task::spawn_blocking(move || {
            let out = cc.command.output();
            drop(cc);
            out
        })
        .await;
        match out {
            Ok(Ok(o)) if o.status.success() => check(name, "allowed", &wanted, true, false, why),
            Ok(Ok(o)) => {
                let text = String::from_utf8_lossy(&o.stderr);
                let current = if text.contains("pg_hba.conf") { "no rule allows it" } else { "refused" };
                let mut c = check(name, current, &wanted, false, false, why);
                c.why = format!("{why} The server said: {}", text.trim());
                c
            }
            _ => check(name, "unknown (psql did not run)", &wanted, false, false, why),
        }
    }
}

/// The WAL directory, owned by the server's OS user (it writes there; we only read), and
/// search permission (not listing) on the repository's directories above it.
pub(crate) fn prepare_wal_dir(wal_dir: &Path, user: Option<&OsUser>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Every directory made here the server's user must pass through, and nobody need list.
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(builder.recursive(true), 0o711);
    builder.create(wal_dir).map_err(|e| Error::io(format!("creating {}", wal_dir.display()), e))?;
    for dir in wal_dir.ancestors().skip(1).take(3) {
        let mode = std::fs::metadata(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?.mode();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode((mode & 0o7777) | 0o011))
            .map_err(|e| Error::io(format!("opening {} for the server's OS user", dir.display()), e))?;
    }
    if let (Some(user), true) = (user, running_as_root()) {
        std::os::unix::fs::chown(wal_dir, Some(user.uid), Some(user.gid))
            .map_err(|e| Error::io(format!("giving {} to {}", wal_dir.display(), user.name), e))?;
    }
    Ok(())
}

/// Archiving where the server's OS user can run Tideline and write the repository; else, or
/// when asked, streaming.
fn choose_method(
    asked: Option<WalMethod>,
    blocker: Option<String>,
    facts: &ServerFacts,
    binary: &Path,
    wal_place: &str,
) -> Result<(WalMethod, String)> {
    Ok(match (asked, &blocker, &facts.os_user) {
        (Some(WalMethod::Archive), Some(why), _) => {
            return Err(Error::new(
                ErrorCode::WalSetupBlocked,
                format!("archiving cannot work here: {why}"),
                "Use --method stream (pg_receivewal runs as you), or install tideline where the server's OS user can run it (--tideline-path) and keep the repository where it can write.",
            ))
        }
        (Some(WalMethod::Stream), _, _) => (WalMethod::Stream, "asked for".to_string()),
        (_, None, Some(user)) => (
            WalMethod::Archive,
            format!("the server runs here as OS user '{}', which can run {} and write {}: archiving needs no process of ours running", user.name, binary.display(), wal_place),
        ),
        (_, Some(why), _) => (WalMethod::Stream, format!("streaming, because {why}; pg_receivewal runs as you")),
        (_, None, None) => (WalMethod::Stream, "the server's OS user is unknown".to_string()),
    })
}

/// The server's settings once a reload has reached our own backend (a signal to the
/// postmaster, then to us): read again until what needs no restart shows, a few seconds at most.
async fn settled_facts(client: &tokio_postgres::Client, method: WalMethod, command: &str) -> Result<ServerFacts> {
    let mut after = server_facts(client).await?;
    for _ in 0..30 {
        if checks(&after, method, command).iter().all(|c| c.ok || c.restart) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = server_facts(client).await?;
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_mean_the_same_whatever_standard_conforming_strings_says() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"C:\wal"), r"E'C:\\wal'");
        assert_eq!(
            archive_command(Path::new("/opt/tide line/tideline"), Path::new("/srv/100%")),
            "'/opt/tide line/tideline' wal-push --repo /srv/100%% %p"
        );
    }
}

//! The command line, as the brief's CLI contract names it: the top level here, each
//! subcommand's arguments in its own file.

mod backup;
mod profile;
mod repo;
mod restore;
mod sandbox;
mod schedule;
mod wal;

pub use backup::*;
pub use profile::*;
pub use repo::*;
pub use restore::*;
pub use sandbox::*;
pub use schedule::*;
pub use wal::*;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "tideline", version, about = "PostgreSQL backups, restores and point-in-time recovery")]
pub struct Cli {
    /// Print exactly one JSON object on stdout (progress and logs go to stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// Log level on stderr (error, warn, info, debug, trace); the log file always gets info.
    #[arg(long, global = true, default_value = "warn", env = "TIDELINE_LOG_LEVEL")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Connection profiles.
    #[command(subcommand)]
    Profile(Box<ProfileCommand>),
    /// PostgreSQL binaries per major, with what each build supports.
    Tools(ToolsArgs),
    /// A logical backup (pg_dump) into the repository.
    Backup(Box<BackupArgs>),
    /// Backups in the catalog.
    #[command(subcommand)]
    Backups(BackupsCommand),
    /// The repository.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// pg_dumpall: the whole cluster, its globals, or its roles.
    Dumpall(DumpallArgs),
    /// Restore a logical backup into a database.
    Restore(RestoreArgs),
    /// Check a backup: checksums, readability, and optionally a test restore.
    Verify(VerifyArgs),
    /// An archive's contents, and what a selection of tables pulls in.
    Toc(TocArgs),
    /// Continuous WAL: setup, status, teardown.
    #[command(subcommand)]
    Wal(WalCommand),
    /// The recovery window: per timeline, the earliest and latest moments the repository
    /// can recover to, WAL gaps and forks, base backups, dumps and restore points.
    Timeline(TimelineArgs),
    /// Destructive events found in the WAL (DROP, TRUNCATE, large DELETEs and UPDATEs), most
    /// destructive first, each with the id `pitr --before-event` takes.
    Events(EventsArgs),
    /// A named restore point on the server (pg_create_restore_point), recorded for the timeline.
    Mark(MarkArgs),
    /// A physical base backup (pg_basebackup, WAL streamed alongside) into the repository.
    Basebackup(BasebackupArgs),
    /// Point-in-time recovery into a new sandbox (a local server on a free port); nothing live is touched.
    Pitr(Box<PitrArgs>),
    /// Sandboxes: servers that recoveries landed in.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Restore a base backup in place of a stopped cluster's data directory (the old one is kept).
    RestoreInPlace(Box<RestoreInPlaceArgs>),
    /// The demo: a local cluster with sample data, WAL archiving, a base backup, profile `demo`.
    Demo(DemoArgs),
    /// Each profile at a glance: newest good backup against a threshold, the WAL archiver,
    /// slots, and RPO/RTO estimates with their formulas.
    Health {
        profile: Option<String>,
        /// Hours after which the newest good backup is stale.
        #[arg(long, default_value_t = tideline_core::health::DEFAULT_THRESHOLD_HOURS)]
        threshold_hours: f64,
    },
    /// Webhooks for backup outcomes and health (URLs live in the keychain).
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Which backups a retention policy keeps; preview or apply.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Scheduled backups: add, edit, list, show, remove, enable, disable, run one now, the
    /// calendar, and the runners (run-due, agent, install).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// archive_command: store one WAL file PostgreSQL archives (needs no catalog, keychain or HOME).
    WalPush(WalPushArgs),
    /// restore_command: write one archived WAL file where PostgreSQL asks (exit 1 when absent).
    WalFetch(WalFetchArgs),
}

//! Continuous WAL: setup, status, streaming, the timeline, events, restore points, and what PostgreSQL itself runs (wal-push, wal-fetch).

use crate::values::WalMethodValue;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum WalCommand {
    /// Check (and with --apply, set) what the server needs for continuous WAL.
    Setup(WalSetupArgs),
    /// Archiver health, Tideline's replication slots and the WAL they hold.
    Status { profile: String },
    /// Stop archiving to Tideline and drop Tideline's inactive slots.
    Teardown { profile: String },
    /// Stream WAL with pg_receivewal on Tideline's slot, in the foreground, until Ctrl-C.
    Stream { profile: String },
    /// Summarise archived segments that have no summary yet, and index every summary.
    Index { profile: String },
    /// Read every archived WAL file back against its checksum; rewrite damaged summaries.
    Verify { profile: String },
    /// Read WAL segment files (plain or .zst, in order) with the native reader: records,
    /// commits and aborts with their times, restore points.
    Inspect {
        #[arg(required = true)]
        segments: Vec<std::path::PathBuf>,
        /// Skip each record's CRC-32C check.
        #[arg(long)]
        no_crc: bool,
        /// Count records only.
        #[arg(long, conflicts_with = "events")]
        count_only: bool,
        /// Also rows changed per transaction and relation file, and files created.
        #[arg(long)]
        events: bool,
    },
}

#[derive(Args, Debug)]
pub struct WalSetupArgs {
    pub profile: String,
    /// archive (archive_command = tideline wal-push) or stream (pg_receivewal); chosen for you by default.
    #[arg(long, value_enum)]
    pub method: Option<WalMethodValue>,
    /// Set what is missing with ALTER SYSTEM (needs a superuser), then test archiving.
    #[arg(long)]
    pub apply: bool,
    /// The tideline binary the server should run in archive_command (this one by default).
    #[arg(long)]
    pub tideline_path: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TimelineArgs {
    pub profile: String,
    /// Only points (backups, dumps, restore points) from this moment (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Args, Debug)]
pub struct MarkArgs {
    pub profile: String,
    pub name: String,
}

#[derive(Args, Debug)]
pub struct WalPushArgs {
    /// The repository (the directory holding `clusters/`).
    #[arg(long, required_unless_present = "repo_config", conflicts_with = "repo_config")]
    pub repo: Option<PathBuf>,
    /// A bucket repository's config for this OS user (`tideline repo wal-config`).
    #[arg(long)]
    pub repo_config: Option<PathBuf>,
    /// The server's data directory; the current directory by default, where PostgreSQL runs
    /// archive_command.
    #[arg(long)]
    pub pgdata: Option<PathBuf>,
    /// The file to archive (%p).
    pub path: PathBuf,
}

#[derive(Args, Debug)]
pub struct WalFetchArgs {
    /// The repository (the directory holding `clusters/`). With --repo-config too, it is read
    /// first and the bucket gives what it lacks or holds damaged.
    #[arg(long, required_unless_present = "repo_config")]
    pub repo: Option<PathBuf>,
    /// A bucket repository's config (`tideline repo wal-config --with-identity` when encrypted).
    #[arg(long)]
    pub repo_config: Option<PathBuf>,
    /// The recovering server's data directory; the current directory by default.
    #[arg(long)]
    pub pgdata: Option<PathBuf>,
    /// The file PostgreSQL asks for (%f).
    pub name: String,
    /// Where to write it (%p).
    pub dest: PathBuf,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    pub profile: String,
    /// Commits from this moment (RFC 3339, or YYYY-MM-DD HH:MM:SS in the local time zone).
    #[arg(long)]
    pub from: Option<String>,
    /// Commits up to this moment.
    #[arg(long)]
    pub to: Option<String>,
    /// A DELETE or UPDATE counts from this many rows …
    #[arg(long, default_value_t = 1000)]
    pub min_rows: u64,
    /// … or from this percentage of its table.
    #[arg(long, default_value_t = 10.0)]
    pub min_percent: f64,
}

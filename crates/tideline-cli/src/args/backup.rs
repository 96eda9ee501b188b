//! Backups: logical, pg_dumpall and base backups, their listing, verification, TOCs, the repository and retention.

use crate::values::{BaseFormatValue, CheckpointValue, DumpFormatValue};
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct BasebackupArgs {
    pub profile: String,
    /// tar (default; compressed) or plain (a copy of the data directory).
    #[arg(long, value_enum, default_value = "tar")]
    pub format: BaseFormatValue,
    /// [client-|server-]METHOD[:LEVEL] or none; zstd:1 (else lz4, gzip:1) by default for tar.
    #[arg(long)]
    pub compress: Option<String>,
    /// fast (default: checkpoint at once) or spread (wait for the next checkpoint).
    #[arg(long, value_enum, default_value = "fast")]
    pub checkpoint: CheckpointValue,
    /// PG 17+: only what changed since the newest plain base backup (needs --format plain).
    #[arg(long)]
    pub incremental: bool,
    /// Transfer at most this many kB/s (or with k or M, e.g. 20M), to spare the server's disk.
    #[arg(long, value_name = "RATE")]
    pub max_rate: Option<String>,
}

#[derive(Args, Debug)]
pub struct DumpallArgs {
    pub profile: String,
    /// Roles and tablespaces only.
    #[arg(long, conflicts_with = "roles_only")]
    pub globals_only: bool,
    #[arg(long)]
    pub roles_only: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub id: String,
    /// Also restore into a throwaway local cluster and compare row counts.
    #[arg(long)]
    pub restore_test: bool,
}

#[derive(Args, Debug)]
pub struct TocArgs {
    pub id: String,
    /// Show what restoring these tables would include.
    #[arg(long = "table")]
    pub tables: Vec<String>,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    pub profile: String,
    /// The database to dump (the profile's database by default).
    #[arg(long)]
    pub database: Option<String>,
    /// custom, directory (default; parallel), plain or tar.
    #[arg(long, value_enum, default_value = "directory")]
    pub format: DumpFormatValue,
    /// Parallel jobs (directory format).
    #[arg(long)]
    pub jobs: Option<u32>,
    #[arg(long, conflicts_with = "data_only")]
    pub schema_only: bool,
    #[arg(long)]
    pub data_only: bool,
    /// An exact table name, schema.table (repeatable); partitions come along.
    #[arg(long = "table")]
    pub tables: Vec<String>,
    #[arg(long = "exclude-table")]
    pub exclude_tables: Vec<String>,
    #[arg(long = "schema")]
    pub schemas: Vec<String>,
    #[arg(long = "exclude-schema")]
    pub exclude_schemas: Vec<String>,
    /// Include large objects when tables or schemas are selected.
    #[arg(long)]
    pub large_objects: bool,
    #[arg(long)]
    pub no_owner: bool,
    #[arg(long)]
    pub no_privileges: bool,
    /// Dump the planner statistics too (pg_dump 18 or newer).
    #[arg(long, conflicts_with = "no_statistics")]
    pub statistics: bool,
    /// Leave the planner statistics out (pg_dump 18 or newer).
    #[arg(long)]
    pub no_statistics: bool,
    /// METHOD[:LEVEL]: gzip, lz4, zstd or none (default: the fastest this pg_dump supports).
    #[arg(long)]
    pub compress: Option<String>,
    /// Skip the exact row counts.
    #[arg(long)]
    pub no_row_counts: bool,
}

#[derive(Subcommand, Debug)]
pub enum BackupsCommand {
    /// Backups, newest first.
    List { profile: Option<String> },
    /// One backup's manifest.
    Show { id: String },
    /// The tool's own output for a backup.
    Log { id: String },
}

/// A retention policy: a backup any rule keeps is kept; the newest complete and the newest
/// verified backup always are.
#[derive(Args, Debug, Default)]
pub struct RetentionArgs {
    #[arg(long)]
    pub keep_last: Option<u32>,
    #[arg(long)]
    pub keep_days: Option<u32>,
    #[arg(long)]
    pub keep_daily: Option<u32>,
    #[arg(long)]
    pub keep_weekly: Option<u32>,
    #[arg(long)]
    pub keep_monthly: Option<u32>,
    #[arg(long)]
    pub keep_yearly: Option<u32>,
}

impl RetentionArgs {
    pub fn policy(&self) -> tideline_core::retention::select::RetentionPolicy {
        tideline_core::retention::select::RetentionPolicy {
            keep_last: self.keep_last,
            keep_days: self.keep_days,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// What a policy would delete of a profile's backups (and archived WAL), and why; changes nothing.
    Preview {
        profile: String,
        #[command(flatten)]
        policy: RetentionArgs,
        /// Only this series (logical:DB, dumpall:FORMAT or base).
        #[arg(long)]
        series: Option<String>,
    },
    /// Delete what the policy does not keep.
    Apply {
        profile: String,
        #[command(flatten)]
        policy: RetentionArgs,
        #[arg(long)]
        series: Option<String>,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

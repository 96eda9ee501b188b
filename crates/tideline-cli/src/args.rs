//! The command line, as the brief's CLI contract names it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
    #[arg(long)]
    pub method: Option<String>,
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
pub struct BasebackupArgs {
    pub profile: String,
    /// tar (default; compressed) or plain (a copy of the data directory).
    #[arg(long, default_value = "tar")]
    pub format: String,
    /// [client-|server-]METHOD[:LEVEL] or none; zstd:1 (else lz4, gzip:1) by default for tar.
    #[arg(long)]
    pub compress: Option<String>,
    /// fast (default: checkpoint at once) or spread (wait for the next checkpoint).
    #[arg(long, default_value = "fast")]
    pub checkpoint: String,
    /// PG 17+: only what changed since the newest plain base backup (needs --format plain).
    #[arg(long)]
    pub incremental: bool,
    /// Transfer at most this many kB/s (or with k or M, e.g. 20M), to spare the server's disk.
    #[arg(long, value_name = "RATE")]
    pub max_rate: Option<String>,
}

#[derive(Args, Debug)]
pub struct WalPushArgs {
    /// The repository (the directory holding `clusters/`).
    #[arg(long)]
    pub repo: PathBuf,
    /// The server's data directory; the current directory by default, where PostgreSQL runs
    /// archive_command.
    #[arg(long)]
    pub pgdata: Option<PathBuf>,
    /// The file to archive (%p).
    pub path: PathBuf,
}

#[derive(Args, Debug)]
pub struct WalFetchArgs {
    #[arg(long)]
    pub repo: PathBuf,
    /// The recovering server's data directory; the current directory by default.
    #[arg(long)]
    pub pgdata: Option<PathBuf>,
    /// The file PostgreSQL asks for (%f).
    pub name: String,
    /// Where to write it (%p).
    pub dest: PathBuf,
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
pub struct RestoreArgs {
    pub id: String,
    /// The database to restore into; created when it does not exist. Not for pg_dumpall backups.
    #[arg(long, default_value = "")]
    pub to_db: String,
    /// The profile whose server receives the restore (the backup's own by default).
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long)]
    pub jobs: Option<u32>,
    /// An exact table name (repeatable); brings its sequences, indexes, constraints and more.
    #[arg(long = "table")]
    pub tables: Vec<String>,
    #[arg(long = "schema")]
    pub schemas: Vec<String>,
    /// Drop and recreate the archive's objects in an existing, non-empty database.
    #[arg(long)]
    pub clean: bool,
    /// Objects belong to the restoring user instead of their original owners.
    #[arg(long)]
    pub no_owner: bool,
    /// Show what would be restored; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Restore the chosen tables or schema under this new schema name.
    #[arg(long)]
    pub into_schema: Option<String>,
    /// Only this section (repeatable): pre-data, data or post-data.
    #[arg(long = "section")]
    pub sections: Vec<String>,
    /// Every restored object belongs to this role.
    #[arg(long)]
    pub owner: Option<String>,
    /// OLD=NEW (repeatable): NEW owns, and gets the grants of, what OLD had.
    #[arg(long = "map-role")]
    pub map_roles: Vec<String>,
    /// Into a new sandbox (a local server Tideline manages) instead of the profile's server;
    /// the database keeps its name unless --to-db says otherwise.
    #[arg(long, conflicts_with_all = ["clean", "owner", "map_roles"])]
    pub sandbox: bool,
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
    #[arg(long, default_value = "directory")]
    pub format: String,
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

#[derive(Subcommand, Debug)]
pub enum RepoCommand {
    /// Rebuild the catalog's backup index from the repository's manifests.
    Rescan,
    /// Show the repository's directory, or move new backups to DIR.
    Path { dir: Option<std::path::PathBuf> },
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Save a profile (without connecting).
    Add(AddArgs),
    /// List profiles.
    List,
    /// Show one profile.
    Show { name: String },
    /// Change a profile.
    Edit(EditArgs),
    /// Connect and report the server.
    Test { name: String },
    /// Remove a profile and its keychain entry.
    Remove { name: String },
    /// Import from ~/.pgpass, pg_service.conf, or local servers.
    Import(ImportArgs),
}

#[derive(Args, Debug, Default)]
pub struct ConnectionFields {
    /// A postgres:// URI or a key=value conninfo string.
    #[arg(long)]
    pub url: Option<String>,
    /// Hostname, IP address, or Unix socket directory.
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long)]
    pub database: Option<String>,
    #[arg(long)]
    pub user: Option<String>,
    /// disable, prefer, require, verify-ca or verify-full.
    #[arg(long)]
    pub sslmode: Option<String>,
    #[arg(long)]
    pub sslrootcert: Option<String>,
    #[arg(long)]
    pub sslcert: Option<String>,
    #[arg(long)]
    pub sslkey: Option<String>,
    #[arg(long)]
    pub application_name: Option<String>,
    /// Seconds to wait for the server.
    #[arg(long)]
    pub connect_timeout: Option<u32>,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    pub name: String,
    #[command(flatten)]
    pub fields: ConnectionFields,
    /// Read the password from standard input (for scripts).
    #[arg(long, conflicts_with = "no_password")]
    pub password_stdin: bool,
    /// Store no password (peer, trust or certificate auth); skips the prompt.
    #[arg(long)]
    pub no_password: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    pub name: String,
    /// A new name for the profile.
    #[arg(long)]
    pub rename: Option<String>,
    #[command(flatten)]
    pub fields: ConnectionFields,
    /// Replace the stored password with standard input.
    #[arg(long, conflicts_with = "clear_password")]
    pub password_stdin: bool,
    /// Remove the stored password.
    #[arg(long)]
    pub clear_password: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// From ~/.pgpass (or $PGPASSFILE); passwords go to the keychain.
    #[arg(long)]
    pub pgpass: bool,
    /// From pg_service.conf.
    #[arg(long)]
    pub service_file: bool,
    /// Local servers: Unix sockets and TCP 5432–5439 on localhost.
    #[arg(long)]
    pub discover: bool,
}

#[derive(Args, Debug)]
pub struct ToolsArgs {
    /// Also look in this bin directory from now on.
    #[arg(long)]
    pub add_dir: Option<PathBuf>,
}

/// A recovery target: exactly one of time, xid, LSN, name, immediate.
#[derive(Args, Debug)]
#[group(skip)]
pub struct TargetArgs {
    /// RFC 3339, or YYYY-MM-DD HH:MM:SS[.ffffff] in the local time zone.
    #[arg(long, group = "target_point")]
    pub time: Option<String>,
    /// A transaction id (with --exclusive: stop just before it commits).
    #[arg(long, group = "target_point")]
    pub xid: Option<String>,
    /// A WAL location, e.g. 0/3000148.
    #[arg(long, group = "target_point")]
    pub lsn: Option<String>,
    /// A named restore point (`tideline mark`).
    #[arg(long, group = "target_point")]
    pub name: Option<String>,
    /// As soon as the backup is consistent.
    #[arg(long, group = "target_point")]
    pub immediate: bool,
    /// Just before a destructive event (an id from `tideline events`: timeline:xid).
    #[arg(long, group = "target_point")]
    pub before_event: Option<String>,
    /// Stop just before the target instead of just after it.
    #[arg(long)]
    pub exclusive: bool,
    /// A timeline number, or `latest` (the default).
    #[arg(long)]
    pub timeline: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// A webhook; its URL is read from stdin (it is a secret).
    Add {
        /// generic (JSON), slack, discord, ping (a dead-man's switch: URL on success, URL/fail on
        /// failure), or desktop (a notification on this machine's session bus; no URL).
        #[arg(long, default_value = "generic")]
        format: String,
        /// Only this profile's events (every profile's by default).
        #[arg(long)]
        profile: Option<String>,
        /// Comma-separated: failure, success, stale, archiver (default: failure,stale,archiver).
        #[arg(long, value_delimiter = ',')]
        on: Vec<String>,
        /// Read the URL from stdin (every format but desktop).
        #[arg(long)]
        url_stdin: bool,
    },
    List,
    Remove {
        id: String,
    },
    /// Send a test notification to one webhook.
    Test {
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// A new schedule for a profile.
    Add(Box<ScheduleAddArgs>),
    /// Replace a schedule's settings (same options as add); its runs stay.
    Edit {
        id: String,
        #[command(flatten)]
        args: Box<ScheduleAddArgs>,
    },
    /// Run a schedule now, outside its times (refused while a run of it is going).
    Run { id: String },
    /// Every schedule with its next occurrences.
    List,
    /// One schedule, its next occurrences and its runs.
    Show {
        id: String,
        /// How many next occurrences to list.
        #[arg(long, default_value_t = 5)]
        next: usize,
    },
    /// Delete a schedule and its run history (the backups it made stay).
    Remove { id: String },
    /// Turn a schedule on; its times count from now (the time it was off is not "missed").
    Enable { id: String },
    /// Turn a schedule off; nothing runs or is recorded missed until it is on again.
    Disable { id: String },
    /// Planned occurrences and past runs (status, duration, size, missed) per day.
    Calendar {
        /// First day, YYYY-MM-DD (default: today).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: four weeks on).
        #[arg(long)]
        to: Option<String>,
        /// Days in this IANA zone (default: this machine's).
        #[arg(long)]
        tz: Option<String>,
        /// Write the planned occurrences to this .ics file.
        #[arg(long)]
        ics: Option<std::path::PathBuf>,
    },
    /// Keep running: start what is due every minute until Ctrl-C.
    Agent {
        #[arg(long, default_value_t = tideline_core::schedule::run::DEFAULT_LIMIT)]
        limit: u32,
    },
    /// Install the runner as a user service: a systemd timer on Linux (every minute, run-due);
    /// the launchd agent or Task Scheduler task is printed on macOS and Windows.
    Install {
        /// Only print the definitions.
        #[arg(long)]
        print: bool,
        /// linux, macos or windows (this machine's by default).
        #[arg(long)]
        platform: Option<String>,
    },
    /// Start what is due now (for cron or a systemd timer), record what was missed, and exit.
    RunDue {
        /// At most this many runs at a time, across profiles and runners.
        #[arg(long, default_value_t = tideline_core::schedule::run::DEFAULT_LIMIT)]
        limit: u32,
    },
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("when").required(true).args(["cron", "hourly", "daily", "weekdays", "weekly", "monthly"])))]
pub struct ScheduleAddArgs {
    pub profile: String,
    /// database (one database: --database, or the profile's), every (each database), globals,
    /// cluster, base, or verify (test-restore the newest backups).
    #[arg(long, default_value = "database")]
    pub what: String,
    #[arg(long)]
    pub database: Option<String>,
    /// Five fields: minute hour day-of-month month day-of-week.
    #[arg(long)]
    pub cron: Option<String>,
    /// Every hour at this minute.
    #[arg(long)]
    pub hourly: Option<u32>,
    /// Every day at HH:MM.
    #[arg(long)]
    pub daily: Option<String>,
    /// Monday to Friday at HH:MM.
    #[arg(long)]
    pub weekdays: Option<String>,
    /// DAY@HH:MM, e.g. sun@03:00.
    #[arg(long)]
    pub weekly: Option<String>,
    /// DAY@HH:MM with DAY 1–28, e.g. 1@04:00.
    #[arg(long)]
    pub monthly: Option<String>,
    /// IANA time zone (default: this machine's, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Do not make up for missed occurrences with one run at the next chance.
    #[arg(long)]
    pub no_catch_up: bool,
    #[command(flatten)]
    pub retention: RetentionArgs,
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

#[derive(Args, Debug)]
pub struct PitrArgs {
    pub profile: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Recover from this base backup instead of the best one for the target.
    #[arg(long)]
    pub from_backup: Option<String>,
    /// Listen on this port (when free).
    #[arg(long)]
    pub port: Option<u16>,
}

#[derive(Subcommand, Debug)]
pub enum SandboxCommand {
    /// Every sandbox, with whether it runs (read from the server).
    List,
    Show {
        id: String,
    },
    Stop {
        id: String,
    },
    Start {
        id: String,
    },
    /// Stop the server and delete the sandbox's directory.
    Remove {
        id: String,
    },
    /// Print the superuser password Tideline chose for a restore sandbox (kept in the keychain).
    Password {
        id: String,
    },
    /// Row counts per table: the sandbox beside the live database.
    Compare {
        id: String,
    },
    /// Copy tables from the sandbox into a live database: under a new name by default.
    CopyBack(CopyBackArgs),
}

#[derive(Args, Debug)]
pub struct CopyBackArgs {
    pub id: String,
    /// schema.table (repeatable).
    #[arg(long = "table", required = true)]
    pub tables: Vec<String>,
    /// The profile of the live database.
    #[arg(long)]
    pub to: String,
    /// The new table's name (one table; default `<table>_<sandbox id>`).
    #[arg(long = "as", conflicts_with = "replace")]
    pub as_name: Option<String>,
    /// Replace the live table's rows with the sandbox's (needs --yes).
    #[arg(long)]
    pub replace: bool,
    /// Confirm --replace.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct RestoreInPlaceArgs {
    pub backup_id: String,
    /// The stopped cluster's data directory.
    #[arg(long)]
    pub data_dir: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Confirm: the current directory is moved aside and the backup put in its place.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Remove the demo (cluster, profile, backups) and create it again.
    #[arg(long)]
    pub reset: bool,
    /// The scripted accident: a restore point, then DELETE FROM film_actor.
    #[arg(long, conflicts_with = "reset")]
    pub accident: bool,
    /// Remove the demo and create nothing.
    #[arg(long, conflicts_with_all = ["reset", "accident"])]
    pub remove: bool,
}

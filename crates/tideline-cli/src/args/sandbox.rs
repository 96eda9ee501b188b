//! Point-in-time recovery into sandboxes, the sandboxes themselves, and the demo.

use clap::{Args, Subcommand};

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

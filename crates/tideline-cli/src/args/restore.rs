//! Restores: of a logical backup, and of a cluster in place.

use super::*;
use clap::Args;

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

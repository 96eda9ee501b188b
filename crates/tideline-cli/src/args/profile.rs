//! Connection profiles and the PostgreSQL tools Tideline finds.

use clap::{Args, Subcommand};
use std::path::PathBuf;

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
    /// Keep this profile's backups and WAL in this named repository (a bucket or folder):
    /// each backup is uploaded there before it is reported done, and `wal setup` points
    /// archive_command at it. `local` keeps them only in this computer's repository.
    #[arg(long)]
    pub repo: Option<String>,
    /// Copy each backup of this profile to this named repository once it is complete.
    #[arg(long, conflicts_with = "no_second_repo")]
    pub second_repo: Option<String>,
    /// Stop copying this profile's backups to a second repository.
    #[arg(long)]
    pub no_second_repo: bool,
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
    /// Stop looking in a directory added with --add-dir.
    #[arg(long)]
    pub remove_dir: Option<PathBuf>,
}

//! Repositories: the default directory, named repositories (a directory or an S3-compatible
//! bucket), their test, their keys.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum RepoCommand {
    /// Rebuild the catalog's backup index from the repository's manifests; with --repo, first
    /// bring what that named repository holds to this computer (another installation's backups).
    Rescan {
        #[arg(long)]
        repo: Option<String>,
    },
    /// Show the repository's directory, or move new backups to DIR.
    Path { dir: Option<PathBuf> },
    /// Add a named repository: a bucket (--s3) or a directory (--dir). stdin: line 1 the
    /// secret access key (--s3); the next line the recovery-kit passphrase (encrypted).
    Add(RepoAddArgs),
    /// The named repositories.
    List,
    /// One named repository.
    Show { name: String },
    /// Check a repository: reach, credentials, write, read, list, clock, conditional create,
    /// multipart, delete.
    Test { name: String },
    /// Forget a repository on this computer (its record and keychain entries); its files stay.
    Remove { name: String },
    /// Abort the unfinished multipart uploads a stopped run left in a bucket (their parts stay
    /// stored, and billed, until then).
    Clean {
        name: String,
        /// Only those begun at least this long ago: a younger one may be another run's.
        #[arg(long, default_value_t = tideline_core::repo::store::s3_uploads::CLEAN_AFTER_MINUTES)]
        older_than_minutes: u32,
    },
    /// Copy what FROM holds and TO lacks (backups, WAL, summaries); resumable, never deletes.
    /// `local` names the default repository directory.
    Sync { from: String, to: String },
    /// Write the config archive_command's `wal-push --repo-config FILE` reads: the bucket, its
    /// access key and the recipient, readable by one OS user only.
    WalConfig {
        name: String,
        #[arg(long)]
        out: PathBuf,
        /// The OS user who runs it (the server's); the current user by default.
        #[arg(long)]
        owner: Option<String>,
        /// Include the identity, for restore_command of an encrypted repository (a recovery):
        /// whoever reads the file can read every backup.
        #[arg(long)]
        with_identity: bool,
    },
    /// An encrypted repository's key: export a recovery kit, or import one.
    #[command(subcommand)]
    Key(RepoKeyCommand),
}

#[derive(Args, Debug)]
pub struct RepoAddArgs {
    pub name: String,
    /// s3://BUCKET/PREFIX
    #[arg(long, conflicts_with = "dir", requires = "access_key_id")]
    pub s3: Option<String>,
    /// The S3 endpoint (https://…); AWS's own when absent.
    #[arg(long, requires = "s3")]
    pub endpoint: Option<String>,
    /// The bucket's region (Garage: garage; R2: auto).
    #[arg(long, requires = "s3", default_value = "us-east-1")]
    pub region: String,
    /// Address the bucket in the path (https://endpoint/bucket), not the host name.
    #[arg(long, requires = "s3")]
    pub path_style: bool,
    #[arg(long, requires = "s3")]
    pub access_key_id: Option<String>,
    /// A directory on this computer.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Store a bucket repository's files unencrypted.
    #[arg(long, conflicts_with = "encryption")]
    pub no_encryption: bool,
    /// Encrypt a directory repository's files.
    #[arg(long)]
    pub encryption: bool,
    /// Where a new encrypted repository's recovery kit is written (required), or the kit that
    /// opens an existing one.
    #[arg(long)]
    pub recovery_kit: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum RepoKeyCommand {
    /// Write a new recovery kit (stdin: its passphrase).
    Export {
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Put the repository's key into this computer's keychain from a kit (stdin: its passphrase).
    Import {
        name: String,
        #[arg(long)]
        from: PathBuf,
    },
    /// A new key for what is written from now on; the old keys stay in the new recovery kit,
    /// and no file is encrypted again (stdin: the new kit's passphrase).
    Rotate {
        name: String,
        #[arg(long)]
        recovery_kit: PathBuf,
    },
}

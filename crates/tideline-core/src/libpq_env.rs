//! How a child process (pg_dump, psql, pg_basebackup, …) gets its connection: settings in
//! libpq's environment variables, the password in a private passfile (0600 in a 0700 temp dir,
//! removed when the command is dropped). Never on argv, where `ps` and /proc show it to everyone.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PassFile {
    // Dropping the TempDir removes the file and its directory.
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl PassFile {
    pub fn create(password: &Secret) -> Result<Self> {
        Self::write(Some(password))
    }

    /// A passfile with no entries: it keeps the user's ~/.pgpass from answering for a profile
    /// meant to use peer or certificate auth. (Pointing PGPASSFILE at /dev/null works too, but
    /// libpq then warns on every connection that it is not a plain file.)
    pub fn empty() -> Result<Self> {
        Self::write(None)
    }

    fn write(password: Option<&Secret>) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("tideline-pass-")
            .tempdir()
            .map_err(|e| Error::io("creating a private directory for the passfile", e))?;
        restrict(dir.path(), 0o700)?;
        let path = dir.path().join("pgpass");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&path).map_err(|e| Error::io("creating the passfile", e))?;
        if let Some(password) = password {
            let escaped = password.expose().replace('\\', "\\\\").replace(':', "\\:");
            let line = Secret::new(format!("*:*:*:*:{escaped}\n"));
            file.write_all(line.expose().as_bytes()).map_err(|e| Error::io("writing the passfile", e))?;
        }
        Ok(PassFile { _dir: dir, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn restrict(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("restricting {}", path.display()), e))?;
    }
    let _ = (path, mode);
    Ok(())
}

/// A command for a PostgreSQL client tool, connected to `draft`. Keep it alive while the child
/// runs: the passfile goes away with it.
pub struct ClientCommand {
    pub command: Command,
    passfile: PassFile,
}

impl ClientCommand {
    pub fn passfile_path(&self) -> &Path {
        self.passfile.path()
    }
}

pub fn client_command(program: &Path, draft: &ProfileDraft, password: Option<&Secret>) -> Result<ClientCommand> {
    let mut command = Command::new(program);
    // Inherited settings would silently change where the child connects or what it sends.
    for var in ["PGPASSWORD", "PGSERVICE", "PGSERVICEFILE", "PGOPTIONS", "PGHOSTADDR", "PGREQUIRESSL"] {
        command.env_remove(var);
    }
    command
        .env("PGHOST", &draft.host)
        .env("PGPORT", draft.port.to_string())
        .env("PGUSER", &draft.user)
        .env("PGDATABASE", &draft.database)
        .env("PGSSLMODE", draft.sslmode.as_str())
        .env("PGCONNECT_TIMEOUT", draft.connect_timeout_secs.max(1).to_string())
        .env("PGAPPNAME", draft.application_name.as_deref().unwrap_or("tideline"));
    for (var, value) in
        [("PGSSLROOTCERT", &draft.sslrootcert), ("PGSSLCERT", &draft.sslcert), ("PGSSLKEY", &draft.sslkey)]
    {
        match value {
            Some(v) => command.env(var, v),
            None => command.env_remove(var),
        };
    }
    let passfile = match password {
        Some(pw) => PassFile::create(pw)?,
        None => PassFile::empty()?,
    };
    command.env("PGPASSFILE", passfile.path());
    Ok(ClientCommand { command, passfile })
}

/// `--dbname=` for pg_restore naming only the database, quoted as a conninfo value so that a
/// name with `=` or spaces stays a name; host, user and the rest come from the environment.
pub fn dbname_arg(database: &str) -> String {
    format!("--dbname=dbname='{}'", database.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Engine {
    /// A client tool from `bin_dir`, connected as profile `name` with its stored password.
    pub fn client_command(&self, name: &str, program: &Path) -> Result<ClientCommand> {
        let profile = self.profile(name)?;
        let password = self.password(&profile)?;
        client_command(program, &profile.draft(), password.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn dbname_args_quote_conninfo_values() {
        assert_eq!(dbname_arg("shop"), "--dbname=dbname='shop'");
        assert_eq!(dbname_arg("a=b c's\\"), "--dbname=dbname='a=b c\\'s\\\\'");
    }

    #[test]
    fn passfile_is_private_escaped_and_removed() {
        let pw = Secret::new("a:b\\c");
        let cmd = client_command(Path::new("/bin/true"), &ProfileDraft::default(), Some(&pw)).unwrap();
        let path = cmd.passfile_path().to_path_buf();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "*:*:*:*:a\\:b\\\\c\n");
        let argv: Vec<_> = cmd.command.get_args().collect();
        assert!(argv.is_empty());
        drop(cmd);
        assert!(!path.exists());
        assert!(!path.parent().unwrap().exists());
    }
}

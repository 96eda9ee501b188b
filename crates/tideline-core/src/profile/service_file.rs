//! `pg_service.conf`: INI sections of libpq keywords. The user file wins over the system one.

use std::path::PathBuf;

pub fn candidate_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(p) = std::env::var_os("PGSERVICEFILE") {
        paths.push(PathBuf::from(p));
    } else if let Some(home) = dirs::home_dir() {
        paths.push(home.join(".pg_service.conf"));
    }
    if let Some(dir) = std::env::var_os("PGSYSCONFDIR") {
        paths.push(PathBuf::from(dir).join("pg_service.conf"));
    } else {
        paths.push(PathBuf::from("/etc/postgresql-common/pg_service.conf"));
        paths.push(PathBuf::from("/etc/pg_service.conf"));
    }
    paths
}

/// Sections in file order, each with its `key=value` pairs.
pub fn parse(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.trim().to_string(), Vec::new()));
        } else if let (Some((k, v)), Some(section)) = (line.split_once('='), sections.last_mut()) {
            section.1.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    sections
}

/// The pairs of service `name` from the first file that defines it.
pub fn lookup(name: &str) -> Option<Vec<(String, String)>> {
    candidate_paths().into_iter().find_map(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        parse(&text).into_iter().find(|(n, _)| n == name).map(|(_, pairs)| pairs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections() {
        let s = parse("# x\n[prod]\nhost=db1\nport = 5433\n\n[dev]\nhost=/tmp\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "prod");
        assert_eq!(s[0].1[1], ("port".to_string(), "5433".to_string()));
        assert_eq!(s[1].1[0].1, "/tmp");
    }
}

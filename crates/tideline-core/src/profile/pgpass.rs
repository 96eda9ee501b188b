//! `~/.pgpass` (or `$PGPASSFILE`): `host:port:database:user:password`, `\:` and `\\` escaped.

use crate::secret::Secret;
use std::path::PathBuf;

#[derive(Debug)]
pub struct PgpassEntry {
    pub host: String,
    pub port: String,
    pub database: String,
    pub user: String,
    pub password: Secret,
}

pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE") {
        return Some(PathBuf::from(p));
    }
    if cfg!(windows) {
        dirs::config_dir().map(|d| d.join("postgresql").join("pgpass.conf"))
    } else {
        dirs::home_dir().map(|d| d.join(".pgpass"))
    }
}

pub fn parse(text: &str) -> Vec<PgpassEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let fields = split_fields(line);
            let [host, port, database, user, password]: [String; 5] = fields.try_into().ok()?;
            Some(PgpassEntry { host, port, database, user, password: Secret::new(password) })
        })
        .collect()
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            // The password is the last field and may itself contain unescaped colons.
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escapes_comments_and_wildcards() {
        let text = "# comment\nlocalhost:5432:shop:alice:pa\\:ss\\\\word\n*:*:*:bob:x:y\nbad:line\n";
        let e = parse(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].host, "localhost");
        assert_eq!(e[0].database, "shop");
        assert_eq!(e[0].password.expose(), "pa:ss\\word");
        assert_eq!(e[1].host, "*");
        assert_eq!(e[1].password.expose(), "x:y");
    }
}

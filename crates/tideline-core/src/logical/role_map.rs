//! Restoring under other roles: `--map-role OLD=NEW` makes NEW own (and receive the grants of)
//! what OLD owned in the archive. pg_restore cannot do this itself, so the restore goes through
//! the SQL script pg_restore writes, and only the role names at the ends of pg_dump's own
//! ownership and privilege statements are changed — `ALTER … OWNER TO old;`,
//! `GRANT … TO old[ WITH GRANT OPTION];`, `REVOKE … FROM old;`, `ALTER DEFAULT PRIVILEGES FOR
//! ROLE old …` — never names inside definitions or data.

use crate::error::{Error, Result};
use crate::pg::table_names::quote_ident;

pub fn parse(spec: &str) -> Result<(String, String)> {
    match spec.split_once('=') {
        Some((old, new)) if !old.is_empty() && !new.is_empty() => Ok((old.to_string(), new.to_string())),
        _ => Err(Error::invalid_input(
            format!("'{spec}' is not a role mapping"),
            "Write OLD=NEW, e.g. --map-role app_owner=staging_owner.",
        )),
    }
}

fn spellings(role: &str) -> [String; 2] {
    [role.to_string(), quote_ident(role)]
}

fn map_line(line: &str, old: &str, new: &str) -> Option<String> {
    let new_q = quote_ident(new);
    for o in spellings(old) {
        if line.starts_with("ALTER ") {
            if let Some(head) = line.strip_suffix(&format!(" OWNER TO {o};")) {
                return Some(format!("{head} OWNER TO {new_q};"));
            }
        }
        if line.starts_with("GRANT ") {
            if let Some(head) = line.strip_suffix(&format!(" TO {o};")) {
                return Some(format!("{head} TO {new_q};"));
            }
            if let Some(head) = line.strip_suffix(&format!(" TO {o} WITH GRANT OPTION;")) {
                return Some(format!("{head} TO {new_q} WITH GRANT OPTION;"));
            }
        }
        if line.starts_with("REVOKE ") {
            if let Some(head) = line.strip_suffix(&format!(" FROM {o};")) {
                return Some(format!("{head} FROM {new_q};"));
            }
        }
        if let Some(rest) = line.strip_prefix(&format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} ")) {
            return Some(format!("ALTER DEFAULT PRIVILEGES FOR ROLE {new_q} {rest}"));
        }
    }
    None
}

pub fn apply(script: &str, map: &[(String, String)]) -> String {
    script
        .lines()
        .map(|line| {
            let mapped = map.iter().find_map(|(old, new)| map_line(line, old, new));
            format!("{}\n", mapped.as_deref().unwrap_or(line))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_owners_and_grants_only() {
        let script = "CREATE TABLE public.t (owner_note text DEFAULT 'app_owner');\n\
                      ALTER TABLE public.t OWNER TO app_owner;\n\
                      GRANT SELECT ON TABLE public.t TO app_owner;\n\
                      GRANT ALL ON SCHEMA s TO \"Odd Role\" WITH GRANT OPTION;\n\
                      REVOKE ALL ON TABLE public.t FROM app_owner;\n\
                      ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT SELECT ON TABLES TO reporting;\n\
                      COPY public.t (owner_note) FROM stdin;\n\
                      app_owner\n";
        let map = vec![("app_owner".to_string(), "staging".to_string()), ("Odd Role".to_string(), "x".to_string())];
        let out = apply(script, &map);
        assert!(out.contains("ALTER TABLE public.t OWNER TO \"staging\";"));
        assert!(out.contains("GRANT SELECT ON TABLE public.t TO \"staging\";"));
        assert!(out.contains("TO \"x\" WITH GRANT OPTION;"));
        assert!(out.contains("REVOKE ALL ON TABLE public.t FROM \"staging\";"));
        assert!(out.contains("FOR ROLE \"staging\" IN SCHEMA public"));
        assert!(out.contains("DEFAULT 'app_owner'"), "definitions are untouched");
        assert!(out.ends_with("FROM stdin;\napp_owner\n"), "data is untouched");
        assert_eq!(parse("a=b").unwrap(), ("a".to_string(), "b".to_string()));
        assert!(parse("a").is_err() && parse("=b").is_err());
    }
}

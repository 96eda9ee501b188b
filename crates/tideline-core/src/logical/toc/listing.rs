//! Parsing `pg_restore -l -v`. Each entry is printed as `<tableoid> <oid> KIND schema name owner`
//! with names unquoted, so a schema, name or owner with a space is ambiguous on its own line.
//! The rest of the listing resolves it: a schema's name is what its dependents' lines start
//! with, the database's owner follows the header's `dbname`, and owners found that way are
//! matched whole at the ends of other lines.

use super::TocEntry;
use std::collections::BTreeSet;

// The longest matching kind wins ("TABLE DATA" over "TABLE").
const KINDS: &[&str] = &[
    "TABLE DATA",
    "STATISTICS DATA",
    "BLOB METADATA",
    "LARGE OBJECTS",
    "MATERIALIZED VIEW DATA",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "TEXT SEARCH TEMPLATE",
    "TEXT SEARCH PARSER",
    "FOREIGN DATA WRAPPER",
    "DATABASE PROPERTIES",
    "PROCEDURAL LANGUAGE",
    "SEQUENCE OWNED BY",
    "MATERIALIZED VIEW",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
    "OPERATOR FAMILY",
    "OPERATOR CLASS",
    "CHECK CONSTRAINT",
    "FK CONSTRAINT",
    "EVENT TRIGGER",
    "FOREIGN TABLE",
    "ACCESS METHOD",
    "INDEX ATTACH",
    "TABLE ATTACH",
    "SEQUENCE SET",
    "ROW SECURITY",
    "LARGE OBJECT",
    "USER MAPPING",
    "SUBSCRIPTION",
    "DEFAULT ACL",
    "SHELL TYPE",
    "STDSTRINGS",
    "SEARCHPATH",
    "PUBLICATION",
    "CONSTRAINT",
    "CONVERSION",
    "STATISTICS",
    "EXTENSION",
    "COLLATION",
    "PROCEDURE",
    "AGGREGATE",
    "TRANSFORM",
    "FUNCTION",
    "SEQUENCE",
    "ENCODING",
    "DATABASE",
    "OPERATOR",
    "TRIGGER",
    "DEFAULT",
    "COMMENT",
    "DOMAIN",
    "SCHEMA",
    "POLICY",
    "SERVER",
    "BLOBS",
    "BLOB",
    "TABLE",
    "INDEX",
    "VIEW",
    "RULE",
    "TYPE",
    "CAST",
    "ACL",
];

/// Stands for "no entry" where a schema name comes from outside the listing (dump ids start at 1).
const NOT_AN_ENTRY: u32 = 0;

/// One entry as printed: `text` is everything after the kind (`schema name owner`).
struct Raw {
    id: u32,
    kind: &'static str,
    text: String,
    depends_on: Vec<u32>,
    line: String,
}

/// Parses `pg_restore -l -v` output. `known_schemas` are schema names known from elsewhere
/// (the manifest's tables): a table selection's listing holds no SCHEMA entries to go by.
pub fn parse(listing: &str, known_schemas: &[String]) -> Vec<TocEntry> {
    let raws = raw_entries(listing);
    let mut schemas = schemas_by_dependents(&raws);
    let owners = known_owners(listing, &raws, &schemas);
    schemas.extend(schemas_by_owner(&raws, &schemas, &owners));
    schemas.extend(known_schemas.iter().map(|s| (NOT_AN_ENTRY, s.clone())));
    raws.into_iter()
        .map(|r| {
            let (schema, rest) = split_schema(&r, &schemas);
            let (name, owner) = split_owner(rest, &owners);
            TocEntry {
                id: r.id,
                kind: r.kind.to_string(),
                schema: schema.to_string(),
                name: name.to_string(),
                owner: owner.to_string(),
                depends_on: r.depends_on,
                line: r.line,
            }
        })
        .collect()
}

fn raw_entries(listing: &str) -> Vec<Raw> {
    let mut raws: Vec<Raw> = Vec::new();
    for line in listing.lines() {
        // pg_restore writes ";\tdepends on: 1 2".
        if let Some(deps) = line.strip_prefix(';').map(str::trim_start).and_then(|l| l.strip_prefix("depends on:")) {
            if let Some(last) = raws.last_mut() {
                last.depends_on = deps.split_whitespace().filter_map(|d| d.parse().ok()).collect();
            }
            continue;
        }
        if line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let Some((id, rest)) = line.split_once("; ") else {
            continue;
        };
        let Ok(id) = id.trim().parse() else { continue };
        let mut it = rest.splitn(3, ' ');
        let (Some(_tableoid), Some(_oid), Some(rest)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let Some(kind) = KINDS.iter().filter(|k| rest.starts_with(&format!("{k} "))).max_by_key(|k| k.len()) else {
            continue;
        };
        raws.push(Raw {
            id,
            kind,
            text: rest[kind.len() + 1..].to_string(),
            depends_on: vec![],
            line: line.to_string(),
        });
    }
    raws
}

/// The names of SCHEMA entries (text `- name owner`) that others depend on: the longest
/// prefix, ending at a space, that every dependent's line starts with.
fn schemas_by_dependents(raws: &[Raw]) -> Vec<(u32, String)> {
    let mut names = Vec::new();
    for r in raws.iter().filter(|r| r.kind == "SCHEMA") {
        let Some(text) = r.text.strip_prefix("- ") else { continue };
        let dependents: Vec<&Raw> = raws
            .iter()
            .filter(|d| d.kind != "SCHEMA" && d.depends_on.contains(&r.id) && !d.text.starts_with("- "))
            .collect();
        if dependents.is_empty() {
            continue;
        }
        let fits = |cut: &usize| dependents.iter().all(|d| d.text.starts_with(&format!("{} ", &text[..*cut])));
        if let Some(cut) = text.match_indices(' ').map(|(i, _)| i).rev().find(fits) {
            names.push((r.id, text[..cut].to_string()));
        }
    }
    names
}

/// The names of the other SCHEMA entries: what is left before a known owner, else the last word.
fn schemas_by_owner(raws: &[Raw], known: &[(u32, String)], owners: &[String]) -> Vec<(u32, String)> {
    raws.iter()
        .filter(|r| r.kind == "SCHEMA" && !known.iter().any(|(id, _)| *id == r.id))
        .filter_map(|r| r.text.strip_prefix("- ").map(|text| (r.id, split_owner(text, owners).0.to_string())))
        .collect()
}

/// Owners whose names are certain: the database's (after the header's dbname) and each
/// resolved schema's. Longest first, so `my user` wins over `user`.
fn known_owners(listing: &str, raws: &[Raw], schemas: &[(u32, String)]) -> Vec<String> {
    let mut owners = BTreeSet::new();
    let dbname =
        listing.lines().find_map(|l| l.strip_prefix(';').map(str::trim).and_then(|l| l.strip_prefix("dbname: ")));
    for r in raws {
        let owner = match r.kind {
            "DATABASE" => dbname.and_then(|db| r.text.strip_prefix(&format!("- {db} "))),
            "SCHEMA" => schemas
                .iter()
                .find(|(id, _)| *id == r.id)
                .and_then(|(_, name)| r.text.strip_prefix(&format!("- {name} "))),
            _ => None,
        };
        owners.extend(owner.filter(|o| !o.is_empty()).map(str::to_string));
    }
    let mut owners: Vec<String> = owners.into_iter().collect();
    owners.sort_by_key(|o| std::cmp::Reverse(o.len()));
    owners
}

/// The schema an entry's text starts with: the SCHEMA it depends on, else the longest known
/// schema name, else the first word (`-` for objects outside schemas).
fn split_schema<'a>(r: &'a Raw, schemas: &[(u32, String)]) -> (&'a str, &'a str) {
    let strip = |name: &str| {
        r.text.strip_prefix(name).and_then(|t| t.strip_prefix(' ')).map(|rest| (&r.text[..name.len()], rest))
    };
    if r.kind != "SCHEMA" {
        let own = schemas
            .iter()
            .filter(|(id, _)| r.depends_on.contains(id))
            .filter_map(|(_, n)| strip(n))
            .max_by_key(|(s, _)| s.len());
        let any = || schemas.iter().filter_map(|(_, n)| strip(n)).max_by_key(|(s, _)| s.len());
        if let Some(found) = own.or_else(any) {
            return found;
        }
    }
    r.text.split_once(' ').unwrap_or((&r.text, ""))
}

/// `name owner`: a known owner at the end, else the last word.
fn split_owner<'a>(rest: &'a str, owners: &[String]) -> (&'a str, &'a str) {
    for owner in owners {
        if let Some(name) = rest.strip_suffix(owner.as_str()).and_then(|n| n.strip_suffix(' ')) {
            return (name, &rest[rest.len() - owner.len()..]);
        }
    }
    rest.rsplit_once(' ').unwrap_or((rest, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Taken from pg_restore 18 on a database with these objects.
    const ODD: &str = "\
;     dbname: my db
;
; Selected TOC Entries:
;
2575; 0 0 ENCODING - ENCODING 
2578; 1262 5 DATABASE - my db postgres
6; 2615 16385 SCHEMA - Sch \"ema my user
7; 2615 16392 SCHEMA - sales postgres
8; 2615 16393 SCHEMA - empty one my user
221; 1259 16386 TABLE Sch \"ema Ta ble.x*? postgres
;\tdepends on: 6
222; 1259 16393 TABLE sales orders my user
;\tdepends on: 7
2423; 2606 16391 CONSTRAINT Sch \"ema Ta ble.x*? Ta ble.x*?_pkey postgres
;\tdepends on: 221
223; 1259 16394 TABLE public Ünï cödé my user
";

    fn get(e: &[TocEntry], id: u32) -> (String, String, String) {
        let t = e.iter().find(|x| x.id == id).unwrap();
        (t.schema.clone(), t.name.clone(), t.owner.clone())
    }

    fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn schemas_names_and_owners_with_spaces_are_resolved_from_the_listing() {
        let e = parse(ODD, &[]);
        assert_eq!(get(&e, 2578), t("-", "my db", "postgres"));
        assert_eq!(get(&e, 6), t("-", "Sch \"ema", "my user"));
        assert_eq!(get(&e, 221), t("Sch \"ema", "Ta ble.x*?", "postgres"));
        assert_eq!(get(&e, 222), t("sales", "orders", "my user"));
        assert_eq!(get(&e, 2423), t("Sch \"ema", "Ta ble.x*? Ta ble.x*?_pkey", "postgres"));
        assert_eq!(get(&e, 223), t("public", "Ünï cödé", "my user"));
        // No dependents: the owner is known from elsewhere.
        assert_eq!(get(&e, 8), t("-", "empty one", "my user"));
        assert_eq!(get(&e, 2575), t("-", "ENCODING", ""));
    }

    #[test]
    fn pg_dump_18s_statistics_belong_to_their_table() {
        // As `pg_restore -l -v` 18 lists a dump made with --statistics (no owner).
        let listing = ";\n219; 1259 16389 TABLE public t postgres\n2564; 0 16389 TABLE DATA public t postgres\n2571; 0 0 STATISTICS DATA public t \n";
        let e = parse(listing, &["public".to_string()]);
        assert_eq!(e[2].kind, "STATISTICS DATA");
        assert_eq!((e[2].schema.as_str(), e[2].name.as_str()), ("public", "t"));
    }

    #[test]
    fn a_table_selection_without_schema_entries_uses_the_schemas_known_elsewhere() {
        let listing =
            ";\n20; 1259 400 TABLE Sch \"ema Ta ble.x*? postgres\n21; 0 400 TABLE DATA Sch \"ema Ta ble.x*? postgres\n";
        let unknown = parse(listing, &[]);
        assert_eq!(unknown[0].schema, "Sch");
        let known = parse(listing, &["Sch \"ema".to_string()]);
        assert_eq!((known[1].schema.as_str(), known[1].name.as_str()), ("Sch \"ema", "Ta ble.x*?"));
    }
}

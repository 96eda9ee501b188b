//! An archive's table of contents, from `pg_restore -l -v` (entries and their `; depends on:`
//! lines), and selections over it: a table pulls in what it needs (schema, types, functions,
//! sequences) and what belongs to it (data, indexes, constraints, defaults, triggers, comments,
//! grants, partitions); foreign keys to tables left out are dropped and reported.
//! A selection becomes a `pg_restore -L` list: exact, unlike `pg_restore -t`, which ignores the
//! schema and leaves out indexes.

use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TocEntry {
    pub id: u32,
    /// pg_dump's object type: TABLE, TABLE DATA, INDEX, FK CONSTRAINT, …
    pub kind: String,
    /// `-` for objects outside schemas.
    pub schema: String,
    pub name: String,
    pub owner: String,
    pub depends_on: Vec<u32>,
    /// The line as pg_restore printed it, for `-L`.
    #[serde(skip)]
    #[ts(skip)]
    pub line: String,
}

mod listing;
pub use listing::parse;

/// Kinds that belong to the table they depend on: selected with it.
const BELONGS_TO_TABLE: &[&str] = &[
    "TABLE DATA",
    "STATISTICS DATA",
    "INDEX",
    "CONSTRAINT",
    "CHECK CONSTRAINT",
    "DEFAULT",
    "TRIGGER",
    "RULE",
    "POLICY",
    "ROW SECURITY",
    "COMMENT",
    "ACL",
    "SEQUENCE OWNED BY",
    "TABLE ATTACH",
    "INDEX ATTACH",
    "STATISTICS",
    "SEQUENCE",
    "SEQUENCE SET",
    "MATERIALIZED VIEW DATA",
];

/// Kinds a selected object may need to exist first: pulled in.
const NEEDED_DEFINITIONS: &[&str] = &[
    "SCHEMA",
    "TYPE",
    "DOMAIN",
    "SHELL TYPE",
    "FUNCTION",
    "PROCEDURE",
    "AGGREGATE",
    "EXTENSION",
    "COLLATION",
    "SEQUENCE",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "OPERATOR",
    "CAST",
];

/// Always kept: the session settings pg_restore emits first.
const SESSION: &[&str] = &["ENCODING", "STDSTRINGS", "SEARCHPATH"];

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Selection {
    pub entries: Vec<TocEntry>,
    /// What the selection references but leaves out (foreign keys to other tables).
    pub warnings: Vec<String>,
}

impl Selection {
    /// The `-L` list for pg_restore.
    pub fn list_file(&self) -> String {
        self.entries.iter().map(|e| format!("{}\n", e.line)).collect()
    }
}

fn is_table(e: &TocEntry) -> bool {
    matches!(e.kind.as_str(), "TABLE" | "VIEW" | "MATERIALIZED VIEW" | "FOREIGN TABLE")
}

/// Finds the table a user named (`schema.table` or a bare name) among the archive's tables.
pub fn find_table<'a>(entries: &'a [TocEntry], spec: &str) -> Result<&'a TocEntry> {
    let wanted = crate::pg::table_names::parse_table(spec)?;
    let found: Vec<&TocEntry> = entries
        .iter()
        .filter(|e| is_table(e) && e.name == wanted.name && wanted.schema.as_ref().is_none_or(|s| *s == e.schema))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::new(
            ErrorCode::TableMissing,
            format!("the backup holds no table '{spec}'"),
            "Names are exact and case-sensitive; `tideline toc ID` lists the archive's tables.",
        )),
        many => Err(Error::new(
            ErrorCode::AmbiguousTable,
            format!(
                "'{spec}' names tables in several schemas of the backup: {}",
                many.iter().map(|e| crate::pg::table_names::display(&e.schema, &e.name)).collect::<Vec<_>>().join(", ")
            ),
            "Give the schema too, e.g. --table public.orders.",
        )),
    }
}

/// Tables (with all they need and all that belongs to them) and whole schemas.
pub fn select(entries: &[TocEntry], tables: &[String], schemas: &[String]) -> Result<Selection> {
    let mut chosen: BTreeSet<u32> = BTreeSet::new();
    for spec in tables {
        chosen.insert(find_table(entries, spec)?.id);
    }
    for schema in schemas {
        if !entries.iter().any(|e| e.schema == *schema || (e.kind == "SCHEMA" && e.name == *schema)) {
            return Err(Error::new(
                ErrorCode::SchemaMissing,
                format!("the backup holds no schema '{schema}'"),
                "Schema names are exact and case-sensitive.",
            ));
        }
        chosen.extend(
            entries.iter().filter(|e| e.schema == *schema || (e.kind == "SCHEMA" && e.name == *schema)).map(|e| e.id),
        );
    }
    let by_id = |id: u32| entries.iter().find(|e| e.id == id);
    // Owners are the chosen tables and sequences: what belongs to them comes along. Needed
    // definitions (schemas, types, functions) are pulled in, but bring only their comments and
    // grants — not everything else that lives in the same schema.
    let is_owner = |id: &u32| by_id(*id).is_some_and(|e| is_table(e) || e.kind == "SEQUENCE");
    loop {
        let before = chosen.len();
        for e in entries {
            if chosen.contains(&e.id) {
                for d in &e.depends_on {
                    if let Some(dep) = by_id(*d) {
                        if NEEDED_DEFINITIONS.contains(&dep.kind.as_str()) {
                            chosen.insert(dep.id);
                        }
                    }
                }
                continue;
            }
            let on_owner = e.depends_on.iter().any(|d| chosen.contains(d) && is_owner(d));
            let on_any = e.depends_on.iter().any(|d| chosen.contains(d));
            if e.kind == "TABLE ATTACH" && on_owner {
                // Partitions come with their parent: TABLE ATTACH depends on both.
                chosen.insert(e.id);
                chosen.extend(e.depends_on.iter().copied());
            } else if (on_owner && BELONGS_TO_TABLE.contains(&e.kind.as_str()))
                || (on_any && matches!(e.kind.as_str(), "COMMENT" | "ACL"))
            {
                chosen.insert(e.id);
            }
        }
        if chosen.len() == before {
            break;
        }
    }
    let mut warnings = Vec::new();
    for e in entries.iter().filter(|e| e.kind == "FK CONSTRAINT") {
        let tables: Vec<&TocEntry> = e.depends_on.iter().filter_map(|d| by_id(*d)).filter(|d| is_table(d)).collect();
        let selected = tables.iter().filter(|t| chosen.contains(&t.id)).count();
        if selected == tables.len() && selected > 0 {
            chosen.insert(e.id);
        } else if selected > 0 {
            let missing: Vec<String> = tables
                .iter()
                .filter(|t| !chosen.contains(&t.id))
                .map(|t| crate::pg::table_names::display(&t.schema, &t.name))
                .collect();
            // A constraint's TOC name is "<table> <constraint>".
            let constraint = e.name.rsplit(' ').next().unwrap_or(&e.name);
            let kept: Vec<String> = tables
                .iter()
                .filter(|t| chosen.contains(&t.id))
                .map(|t| crate::pg::table_names::display(&t.schema, &t.name))
                .collect();
            warnings.push(format!(
                "foreign key {constraint} between {} and {} is left out: {} is not restored",
                kept.join(", "),
                missing.join(", "),
                missing.join(", ")
            ));
        }
    }
    let entries =
        entries.iter().filter(|e| chosen.contains(&e.id) || SESSION.contains(&e.kind.as_str())).cloned().collect();
    Ok(Selection { entries, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
;
; Selected TOC Entries:
;
4000; 0 0 ENCODING - ENCODING 
4001; 0 0 STDSTRINGS - STDSTRINGS 
10; 2615 2200 SCHEMA - shop postgres
11; 1247 300 TYPE shop mood postgres
;\tdepends on: 10
12; 1255 301 FUNCTION shop touch() postgres
;\tdepends on: 10
20; 1259 400 TABLE shop Order Items postgres
;\tdepends on: 10 11
21; 1259 401 SEQUENCE shop Order Items_id_seq postgres
;\tdepends on: 10
22; 2604 402 SEQUENCE OWNED BY shop Order Items_id_seq postgres
;\tdepends on: 20 21
23; 2604 403 DEFAULT shop Order Items id postgres
;\tdepends on: 20 21
24; 0 400 TABLE DATA shop Order Items postgres
;\tdepends on: 20
25; 0 0 SEQUENCE SET shop Order Items_id_seq postgres
;\tdepends on: 21
26; 2606 404 CONSTRAINT shop Order Items Order Items_pkey postgres
;\tdepends on: 20
27; 1259 405 INDEX shop oi_idx postgres
;\tdepends on: 20
28; 2620 406 TRIGGER shop Order Items t postgres
;\tdepends on: 20 12
30; 1259 500 TABLE shop customers postgres
;\tdepends on: 10
31; 2606 501 FK CONSTRAINT shop Order Items fk_customer postgres
;\tdepends on: 20 30
32; 0 500 TABLE DATA shop customers postgres
;\tdepends on: 30
";

    #[test]
    fn parses_kinds_names_with_spaces_and_dependencies() {
        let e = parse(LISTING, &[]);
        assert_eq!(e.len(), 17);
        let t = e.iter().find(|x| x.id == 20).unwrap();
        assert_eq!(
            (t.kind.as_str(), t.schema.as_str(), t.name.as_str(), t.owner.as_str()),
            ("TABLE", "shop", "Order Items", "postgres")
        );
        assert_eq!(t.depends_on, vec![10, 11]);
        assert_eq!(e.iter().find(|x| x.id == 24).unwrap().kind, "TABLE DATA");
        assert_eq!(e.iter().find(|x| x.id == 22).unwrap().kind, "SEQUENCE OWNED BY");
    }

    #[test]
    fn a_table_brings_what_it_needs_and_what_belongs_to_it() {
        let e = parse(LISTING, &[]);
        let s = select(&e, &["shop.Order Items".into()], &[]).unwrap();
        let ids: Vec<u32> = s.entries.iter().map(|x| x.id).collect();
        assert_eq!(ids, vec![4000, 4001, 10, 11, 12, 20, 21, 22, 23, 24, 25, 26, 27, 28]);
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("shop.customers"));
        let both = select(&e, &["Order Items".into(), "customers".into()], &[]).unwrap();
        assert!(both.entries.iter().any(|x| x.id == 31) && both.warnings.is_empty());
        assert_eq!(select(&e, &["nope".into()], &[]).unwrap_err().code, ErrorCode::TableMissing);
    }
}

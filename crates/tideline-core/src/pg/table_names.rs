//! Table and schema names as the CLI contract spells them: `schema.table`, a part containing
//! `.` or `"` double-quoted SQL-style, no case folding. They are exact names, never patterns:
//! resolved against the server's catalog, then handed to pg_dump double-quoted (inside quotes
//! pg_dump's pattern characters `*`, `?`, `.` are literal) with `--strict-names`.

use crate::error::{Error, ErrorCode, Result};
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

fn bad(spec: &str, why: &str) -> Error {
    Error::invalid_input(
        format!("'{spec}' is not a table name: {why}"),
        "Write schema.table; quote a part that contains a dot or a quote: \"my.schema\".\"Order \"\"x\"\"\".",
    )
}

/// Splits `a.b`, `"a.b"."c""d"`, `Order Items` into parts; quotes are removed, `""` → `"`.
pub fn split(spec: &str) -> Result<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut chars = spec.chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted_part = true;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            parts.last_mut().unwrap().push('"');
                        }
                        Some('"') => break,
                        Some(c) => parts.last_mut().unwrap().push(c),
                        None => return Err(bad(spec, "unterminated quote")),
                    }
                }
            }
            '.' => {
                if parts.last().unwrap().is_empty() && !quoted_part {
                    return Err(bad(spec, "empty part"));
                }
                parts.push(String::new());
                quoted_part = false;
            }
            c => parts.last_mut().unwrap().push(c),
        }
    }
    if parts.last().unwrap().is_empty() && !quoted_part {
        return Err(bad(spec, "empty part"));
    }
    Ok(parts)
}

pub fn parse_table(spec: &str) -> Result<TableName> {
    let mut parts = split(spec)?;
    match parts.len() {
        1 => Ok(TableName { schema: None, name: parts.remove(0) }),
        2 => {
            let name = parts.remove(1);
            Ok(TableName { schema: Some(parts.remove(0)), name })
        }
        _ => Err(bad(spec, "more than two dot-separated parts")),
    }
}

/// An SQL identifier, always quoted: `Order "x"` → `"Order ""x"""`.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The exact pattern pg_dump / psql read as this one relation.
pub fn exact_pattern(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// The user's spelling of a resolved table, for messages.
pub fn display(schema: &str, name: &str) -> String {
    let part = |s: &str| {
        if s.contains(['.', '"']) {
            quote_ident(s)
        } else {
            s.to_string()
        }
    };
    format!("{}.{}", part(schema), part(name))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub schema: String,
    pub name: String,
    /// pg_class.relkind: r table, p partitioned table, v view, m materialized view, f foreign, S sequence.
    pub kind: char,
}

const RESOLVE_SQL: &str = "SELECT n.nspname::text, c.relname::text, c.relkind::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = $1 AND ($2::text IS NULL OR n.nspname = $2)
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
    ORDER BY 1";

// A partitioned table and every partition below it, at any depth.
const PARTITIONS_SQL: &str = "WITH RECURSIVE tree(oid) AS (
        SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2
      UNION ALL
        SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
    SELECT n.nspname::text, c.relname::text, c.relkind::text
    FROM tree JOIN pg_class c ON c.oid = tree.oid JOIN pg_namespace n ON n.oid = c.relnamespace
    ORDER BY 1, 2";

fn query_failed(e: tokio_postgres::Error) -> Error {
    Error::new(ErrorCode::ServerError, format!("reading the catalog failed: {e}"), "The log file has details.")
}

fn relation(row: &tokio_postgres::Row) -> Relation {
    let kind: String = row.get(2);
    Relation { schema: row.get(0), name: row.get(1), kind: kind.chars().next().unwrap_or('r') }
}

/// Resolves one user-given name to exactly one relation, and a partitioned table to itself
/// plus all its partitions.
pub async fn resolve(client: &Client, spec: &str) -> Result<Vec<Relation>> {
    let wanted = parse_table(spec)?;
    let rows = client.query(RESOLVE_SQL, &[&wanted.name, &wanted.schema]).await.map_err(query_failed)?;
    let found: Vec<Relation> = rows.iter().map(relation).collect();
    let one = match found.len() {
        0 => {
            return Err(Error::new(
                ErrorCode::TableMissing,
                format!("there is no table '{spec}'"),
                "Names are exact and case-sensitive: MixedCase and mixedcase are different tables. `tideline toc` lists what a backup holds.",
            ))
        }
        1 => found.into_iter().next().unwrap(),
        _ => {
            let choices: Vec<String> = found.iter().map(|r| display(&r.schema, &r.name)).collect();
            return Err(Error::new(
                ErrorCode::AmbiguousTable,
                format!("'{spec}' names tables in several schemas: {}", choices.join(", ")),
                "Give the schema too, e.g. --table public.orders.",
            ));
        }
    };
    if one.kind != 'p' {
        return Ok(vec![one]);
    }
    let rows = client.query(PARTITIONS_SQL, &[&one.schema, &one.name]).await.map_err(query_failed)?;
    Ok(rows.iter().map(relation).collect())
}

pub async fn check_schema(client: &Client, schema: &str) -> Result<()> {
    let n = client
        .query_one("SELECT count(*) FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(query_failed)?;
    if n.get::<_, i64>(0) == 0 {
        return Err(Error::new(
            ErrorCode::SchemaMissing,
            format!("there is no schema '{schema}'"),
            "Schema names are exact and case-sensitive.",
        ));
    }
    Ok(())
}

/// POSIX shell quoting: bare when safe, else single quotes with `'\''` for quotes.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_names() {
        assert_eq!(
            parse_table("public.orders").unwrap(),
            TableName { schema: Some("public".into()), name: "orders".into() }
        );
        assert_eq!(parse_table("Order Items").unwrap(), TableName { schema: None, name: "Order Items".into() });
        assert_eq!(
            parse_table("\"a.b\".\"x*y?\"").unwrap(),
            TableName { schema: Some("a.b".into()), name: "x*y?".into() }
        );
        assert_eq!(parse_table("s.\"say \"\"hi\"\"\"").unwrap().name, "say \"hi\"");
        assert_eq!(parse_table("MixedCase").unwrap().name, "MixedCase");
        for bad in ["a.b.c", "\"open", ".x", "x."] {
            assert_eq!(parse_table(bad).unwrap_err().code, ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn patterns_are_exact() {
        assert_eq!(exact_pattern("a.b", "x*y?"), "\"a.b\".\"x*y?\"");
        assert_eq!(exact_pattern("s", "q\"t"), "\"s\".\"q\"\"t\"");
        assert_eq!(display("a.b", "Order Items"), "\"a.b\".Order Items");
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(super::shell_quote("--format=d"), "--format=d");
        assert_eq!(super::shell_quote("--table=\"a.b\".\"x*y?\""), "'--table=\"a.b\".\"x*y?\"'");
        assert_eq!(super::shell_quote("it's"), "'it'\\''s'");
    }
}

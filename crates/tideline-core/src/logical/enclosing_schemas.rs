//! A backup of chosen tables (`backup --table sales.orders`) holds the tables but not the schema
//! they live in — pg_dump leaves schemas out of a table selection — so restoring it into a new
//! database failed with `schema "sales" does not exist`. Such schemas are created first.

use super::archive::Archive;
use super::toc::TocEntry;
use crate::error::Result;
use crate::pg::server::query_failed;
use crate::pg::table_names::{parse_table, quote_ident};
use std::collections::BTreeSet;

/// Schemas present from initdb on: never created.
const BUILT_IN: &[&str] = &["-", "public", "pg_catalog", "information_schema"];

/// The schemas the restored objects live in that the archive does not define. `entries` is the
/// archive's TOC (or the selection from it); plain dumps have none and name them in the manifest.
pub(crate) fn undefined_schemas(archive: &Archive, entries: Option<&[TocEntry]>) -> Vec<String> {
    // Only a table selection leaves schemas out; whole and per-schema dumps define their own.
    if archive.manifest.options.tables.is_empty() {
        return vec![];
    }
    let used: BTreeSet<String> = match entries {
        Some(entries) => {
            let defined: BTreeSet<&str> =
                entries.iter().filter(|e| e.kind == "SCHEMA").map(|e| e.name.as_str()).collect();
            entries.iter().map(|e| e.schema.as_str()).filter(|s| !defined.contains(s)).map(str::to_string).collect()
        }
        None if !archive.manifest.row_counts.tables.is_empty() => {
            archive.manifest.row_counts.tables.iter().map(|t| t.schema.clone()).collect()
        }
        None => archive.manifest.options.tables.iter().filter_map(|t| parse_table(t).ok()?.schema).collect(),
    };
    used.into_iter().filter(|s| !BUILT_IN.contains(&s.as_str())).collect()
}

/// `CREATE SCHEMA IF NOT EXISTS` for each, owned by the restoring role.
pub(crate) async fn create(client: &tokio_postgres::Client, schemas: &[String]) -> Result<()> {
    for schema in schemas {
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema)))
            .await
            .map_err(query_failed("creating the schema the backed-up tables live in"))?;
    }
    Ok(())
}

impl crate::engine::Engine {
    /// Creates the schemas a table-selection backup leaves out, in the target, before pg_restore.
    pub(crate) async fn create_enclosing_schemas(
        &self,
        archive: &Archive,
        selection: Option<&super::toc::Selection>,
        dest: &super::restore::Destination<'_>,
        opts: &super::restore::RestoreOptions,
    ) -> Result<()> {
        let defines = opts.sections.is_empty() || opts.sections.iter().any(|s| s == "pre-data");
        if archive.manifest.options.tables.is_empty() || !defines {
            return Ok(());
        }
        let whole;
        let entries = match (selection, archive.is_plain()) {
            (Some(sel), _) => Some(sel.entries.as_slice()),
            (None, true) => None,
            (None, false) => {
                whole = archive.toc(&self.pg_restore_for(&archive.manifest, dest.server_major)?)?;
                Some(whole.as_slice())
            }
        };
        let schemas = undefined_schemas(archive, entries);
        if schemas.is_empty() {
            return Ok(());
        }
        let client = crate::connect::connect(dest.draft, dest.password).await?;
        create(&client, &schemas).await
    }
}

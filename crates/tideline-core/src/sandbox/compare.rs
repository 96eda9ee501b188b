//! `tideline sandbox compare ID`: per-table row counts in the sandbox beside the live
//! database's, so the user sees what the recovery brings back before copying anything.

use crate::engine::Engine;
use crate::error::Result;
use crate::logical::row_counts::{restored_rows, Counting};
use crate::profile::ProfileDraft;
use crate::repo::manifest::TableCount;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TableComparison {
    pub schema: String,
    pub table: String,
    /// None where the table does not exist on that side.
    #[ts(type = "number | null")]
    pub sandbox_rows: Option<i64>,
    #[ts(type = "number | null")]
    pub live_rows: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SandboxComparison {
    pub id: String,
    pub database: String,
    pub tables: Vec<TableComparison>,
    /// How many tables differ (in rows, or exist on one side only).
    pub differing: usize,
}

const USER_TABLES: &str = "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2";

async fn counts(draft: &ProfileDraft, password: Option<&Secret>) -> Result<Vec<TableCount>> {
    let client = crate::connect::connect(draft, password).await?;
    let rows = client.query(USER_TABLES, &[]).await.map_err(crate::pg::server::query_failed("listing tables"))?;
    let tables: Vec<TableCount> =
        rows.iter().map(|r| TableCount { schema: r.get(0), table: r.get(1), rows: 0 }).collect();
    restored_rows(draft, password, &tables, 4, Counting::Scan).await
}

impl Engine {
    pub async fn sandbox_compare(&self, id: &str) -> Result<SandboxComparison> {
        let (record, sandbox, password) = self.sandbox_connection(id)?;
        let profile = self.profile(&record.profile)?;
        let mut live_draft = profile.draft();
        if record.kind == super::SandboxKind::Restore {
            // Beside the database the backup was taken of.
            if let Ok(b) = self.catalog().backup(&record.backup_id) {
                live_draft.database = b.database;
            }
        }
        let (in_sandbox, live) =
            tokio::try_join!(counts(&sandbox, password.as_ref()), counts(&live_draft, password.as_ref()))?;
        let mut merged: BTreeMap<(String, String), TableComparison> = BTreeMap::new();
        for t in in_sandbox {
            merged.insert(
                (t.schema.clone(), t.table.clone()),
                TableComparison { schema: t.schema, table: t.table, sandbox_rows: Some(t.rows), live_rows: None },
            );
        }
        for t in live {
            merged
                .entry((t.schema.clone(), t.table.clone()))
                .or_insert(TableComparison { schema: t.schema, table: t.table, sandbox_rows: None, live_rows: None })
                .live_rows = Some(t.rows);
        }
        let tables: Vec<TableComparison> = merged.into_values().collect();
        let differing = tables.iter().filter(|t| t.sandbox_rows != t.live_rows).count();
        Ok(SandboxComparison { id: id.into(), database: record.database, tables, differing })
    }
}

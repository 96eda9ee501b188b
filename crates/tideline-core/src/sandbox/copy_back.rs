//! `tideline sandbox copy-back ID --table T --to PROFILE [--as NAME | --replace]`: table-level
//! recovery. The table goes to the live database under a new name by default, so nothing live
//! changes until the user decides; `--replace` swaps the rows in (after confirmation).
//!
//! The copy is made by pg_dump / pg_restore, not by hand: it carries indexes, constraints,
//! defaults, comments and grants. For a new name the table, its indexes and its owned
//! sequences are renamed *in the sandbox* for the dump (and renamed back after), so nothing in
//! the dump collides with the live originals and the defaults keep pointing at the right
//! sequence. Replace then moves rows across in one transaction and sets each sequence past the
//! rows it now holds.

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::libpq_env::{client_command, dbname_arg};
use crate::pg::table_names::{display, exact_pattern, quote_ident, resolve, Relation};
use crate::profile::ProfileDraft;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use tokio_postgres::Client;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopyBackRequest {
    pub tables: Vec<String>,
    /// The profile of the live database (normally the sandbox's own).
    pub to_profile: String,
    /// A new name for a single table (default `<table>_<sandbox id>`).
    pub as_name: Option<String>,
    /// Replace the live table's rows with the sandbox's.
    pub replace: bool,
    /// Given by the user for `replace`.
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopiedTable {
    pub source: String,
    pub target: String,
    #[ts(type = "number")]
    pub rows: i64,
    /// `new_table`, `replaced` (rows swapped in) or `recreated` (the live table was gone).
    pub how: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CopyBackReport {
    pub id: String,
    pub tables: Vec<CopiedTable>,
}

fn failed(context: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
    crate::pg::server::query_failed(context)
}

/// Names to give the table's indexes and owned sequences when the table is called `new`.
async fn dependents(client: &Client, rel: &Relation) -> Result<Vec<(String, &'static str)>> {
    let oid = exact_pattern(&rel.schema, &rel.name);
    let rows = client
        .query(
            "SELECT c.relname, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'INDEX' END FROM pg_class c
             WHERE c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1::text::regclass)
                OR c.oid IN (SELECT d.objid FROM pg_depend d WHERE d.refobjid = $1::text::regclass
                             AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
                   AND c.relkind = 'S'",
            &[&oid],
        )
        .await
        .map_err(failed("listing the table's indexes and sequences"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, String>(0), if r.get::<_, String>(1) == "SEQUENCE" { "SEQUENCE" } else { "INDEX" }))
        .collect())
}

fn renamed(old_dependent: &str, old_table: &str, new_table: &str) -> String {
    match old_dependent.strip_prefix(old_table) {
        Some(rest) => format!("{new_table}{rest}"),
        None => format!("{new_table}_{old_dependent}"),
    }
}

/// Renames the table and its dependents in the sandbox (one transaction); returns the SQL
/// that undoes it.
async fn rename_in_sandbox(client: &mut Client, rel: &Relation, new: &str) -> Result<String> {
    let deps = dependents(client, rel).await?;
    let schema = quote_ident(&rel.schema);
    let (mut forward, mut back) = (String::new(), String::new());
    for (name, kind) in &deps {
        let to = renamed(name, &rel.name, new);
        forward.push_str(&format!("ALTER {kind} {schema}.{} RENAME TO {};\n", quote_ident(name), quote_ident(&to)));
        back.push_str(&format!("ALTER {kind} {schema}.{} RENAME TO {};\n", quote_ident(&to), quote_ident(name)));
    }
    forward.push_str(&format!("ALTER TABLE {schema}.{} RENAME TO {};\n", quote_ident(&rel.name), quote_ident(new)));
    back.push_str(&format!("ALTER TABLE {schema}.{} RENAME TO {};\n", quote_ident(new), quote_ident(&rel.name)));
    let tx = client.transaction().await.map_err(failed("renaming in the sandbox"))?;
    tx.batch_execute(&forward).await.map_err(failed("renaming in the sandbox"))?;
    tx.commit().await.map_err(failed("renaming in the sandbox"))?;
    Ok(back)
}

async fn exists(client: &Client, schema: &str, table: &str) -> Result<bool> {
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&exact_pattern(schema, table)])
        .await
        .map_err(failed("looking up a live table"))?;
    Ok(row.get(0))
}

impl Engine {
    /// pg_dump of one table (and its owned sequences) from the sandbox, restored into `live`.
    fn dump_and_restore(
        &self,
        major: u32,
        (sandbox, password): (&ProfileDraft, Option<&Secret>),
        (live, live_password): (&ProfileDraft, Option<&Secret>),
        schema: &str,
        table: &str,
    ) -> Result<()> {
        let tools = self.tools()?;
        let dir = tempfile::tempdir().map_err(|e| Error::io("creating a temporary directory", e))?;
        let file = dir.path().join("table.dump");
        let mut dump = client_command(&tools.client_for(major, "pg_dump")?.path("pg_dump"), sandbox, password)?;
        dump.command
            .args(["-Fc", "--strict-names", "-t"])
            .arg(exact_pattern(schema, table))
            .arg("-f")
            .arg(&file)
            .arg(dbname_arg(&sandbox.database));
        let out = dump.command.output().map_err(|e| Error::io("running pg_dump", e))?;
        if !out.status.success() {
            return Err(Error::new(
                ErrorCode::ToolFailed,
                format!(
                    "pg_dump of {} from the sandbox failed: {}",
                    display(schema, table),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                "The sandbox's server.log may say more.",
            ));
        }
        let mut restore = crate::logical::older_servers::restore_in_one_transaction(
            self.runner(),
            &tools,
            major,
            &file,
            &["--no-owner"],
            live,
            live_password,
            dir.path(),
        )?;
        let out = restore.command.output().map_err(|e| Error::io("running pg_restore", e))?;
        if !out.status.success() {
            return Err(Error::new(
                ErrorCode::RestoreFailed,
                format!(
                    "restoring {} into the live database failed (nothing was changed): {}",
                    display(schema, table),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                "A name the copy needs may be taken in the live database: choose another with --as.",
            ));
        }
        Ok(())
    }

    pub async fn sandbox_copy_back(&self, id: &str, req: &CopyBackRequest) -> Result<CopyBackReport> {
        if req.tables.is_empty() {
            return Err(Error::invalid_input("no table named".to_string(), "Name tables with --table schema.table."));
        }
        if req.as_name.is_some() && (req.tables.len() > 1 || req.replace) {
            return Err(Error::invalid_input(
                "--as names one table copied under a new name".to_string(),
                "Copy one table with --as, or several without it (each gets `<table>_<sandbox id>`).",
            ));
        }
        if req.replace && !req.confirmed {
            return Err(Error::new(
                ErrorCode::ConfirmationRequired,
                format!("replacing {} in the live database needs confirmation", req.tables.join(", ")),
                "The live rows are deleted and the sandbox's put in their place. Add --yes to confirm, or copy under a new name instead (the default).",
            ));
        }
        let (record, sandbox, password) = self.sandbox_connection(id)?;
        let live_profile = self.profile(&req.to_profile)?;
        let live_password = self.password(&live_profile)?;
        let live = live_profile.draft();
        let mut sandbox_client = crate::connect::connect(&sandbox, password.as_ref()).await?;
        let mut live_client = crate::connect::connect(&live, live_password.as_ref()).await?;
        let suffix = id.trim_start_matches("sb-");
        let mut report = CopyBackReport { id: id.into(), tables: Vec::new() };
        for spec in &req.tables {
            let rels = resolve(&sandbox_client, spec).await?;
            let rel = &rels[0];
            if rel.kind != 'r' {
                return Err(Error::invalid_input(
                    format!("{} is not an ordinary table", display(&rel.schema, &rel.name)),
                    "Copy-back takes ordinary tables; for a partitioned table, name its partitions.",
                ));
            }
            {
                let source = display(&rel.schema, &rel.name);
                let live_has_it = exists(&live_client, &rel.schema, &rel.name).await?;
                let (target_name, how) = match (&req.as_name, req.replace, live_has_it) {
                    (_, true, false) => (rel.name.clone(), "recreated"),
                    (_, true, true) => (format!("{}_tideline_{suffix}", rel.name), "replaced"),
                    (Some(n), false, _) => (n.clone(), "new_table"),
                    (None, false, _) => (format!("{}_{suffix}", rel.name), "new_table"),
                };
                if target_name != rel.name && exists(&live_client, &rel.schema, &target_name).await? {
                    return Err(Error::new(
                        ErrorCode::TargetNotEmpty,
                        format!("{} already exists in the live database", display(&rel.schema, &target_name)),
                        "Choose another name with --as.",
                    ));
                }
                let undo = if target_name != rel.name {
                    Some(rename_in_sandbox(&mut sandbox_client, rel, &target_name).await?)
                } else {
                    None
                };
                let copied = self.dump_and_restore(
                    record.major,
                    (&sandbox, password.as_ref()),
                    (&live, live_password.as_ref()),
                    &rel.schema,
                    &target_name,
                );
                if let Some(undo) = undo {
                    sandbox_client.batch_execute(&undo).await.map_err(failed("renaming back in the sandbox"))?;
                }
                copied?;
                let target = if how == "replaced" {
                    let what = format!("copy-back of {source} from sandbox {id}");
                    let recording =
                        self.own_change_begins(&live_profile.name, &live_client, &live.database, what).await;
                    let swapped = swap_rows(&mut live_client, &rel.schema, &rel.name, &target_name).await;
                    let xid = swapped.as_ref().ok().map(String::as_str);
                    self.own_change_ends(recording, &live_client, xid).await;
                    swapped?;
                    display(&rel.schema, &rel.name)
                } else {
                    display(&rel.schema, &target_name)
                };
                let counted_name = if how == "replaced" { &rel.name } else { &target_name };
                let rows: i64 = live_client
                    .query_one(&format!("SELECT count(*) FROM ONLY {}", exact_pattern(&rel.schema, counted_name)), &[])
                    .await
                    .map_err(failed("counting copied rows"))?
                    .get(0);
                tracing::info!(sandbox = %id, %source, %target, rows, how, "table copied back");
                report.tables.push(CopiedTable { source, target, rows, how: how.into() });
            }
        }
        Ok(report)
    }
}

/// In one transaction: the live table's rows replaced by the copy's, the copy dropped, and each
/// sequence feeding the table moved past the largest value it now holds. Returns the
/// transaction's id, by which its events are known as Tideline's.
async fn swap_rows(client: &mut Client, schema: &str, table: &str, copy: &str) -> Result<String> {
    let live = exact_pattern(schema, table);
    let from = exact_pattern(schema, copy);
    let tx = client.transaction().await.map_err(failed("replacing rows"))?;
    let xid = crate::events::own_changes::current_xid(&tx).await?;
    let cols = tx
        .query(
            "SELECT quote_ident(attname), pg_get_serial_sequence($1, attname) FROM pg_attribute
             WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            &[&live],
        )
        .await
        .map_err(failed("reading the table's columns"))?;
    let names: Vec<String> = cols.iter().map(|r| r.get(0)).collect();
    let list = names.join(", ");
    tx.batch_execute(&format!(
        "DELETE FROM {live}; INSERT INTO {live} ({list}) OVERRIDING SYSTEM VALUE SELECT {list} FROM {from}; DROP TABLE {from};"
    ))
    .await
    .map_err(failed("replacing rows"))?;
    for row in &cols {
        let (col, seq): (String, Option<String>) = (row.get(0), row.get(1));
        if let Some(seq) = seq {
            tx.execute(
                &format!("SELECT setval($1::text::regclass, GREATEST((SELECT max({col}) FROM {live})::bigint, (SELECT last_value FROM {seq}), 1))"),
                &[&seq],
            )
            .await
            .map_err(failed("setting a sequence"))?;
        }
    }
    tx.commit().await.map_err(failed("replacing rows"))?;
    Ok(xid)
}

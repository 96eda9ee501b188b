//! `tideline restore`, `verify`, `toc`.

use crate::args::{RestoreArgs, TocArgs, VerifyArgs};
use crate::output::Reply;
use serde_json::json;
use tideline_core::logical::restore::RestoreOptions;
use tideline_core::logical::toc;
use tideline_core::logical::verify;
use tideline_core::{Engine, Result};

pub async fn restore(engine: &Engine, a: RestoreArgs, json: bool) -> Result<Reply> {
    let opts = RestoreOptions {
        to_db: a.to_db,
        profile: a.profile,
        jobs: a.jobs,
        tables: a.tables,
        schemas: a.schemas,
        clean: a.clean,
        no_owner: a.no_owner,
        dry_run: a.dry_run,
        into_schema: a.into_schema,
        sections: a.sections,
        owner: a.owner,
        map_roles: a.map_roles,
        sandbox: a.sandbox,
    };
    let (job, bar) = crate::progress::job(json);
    let report = engine.restore(&a.id, &opts, &job).await;
    bar.finish_and_clear();
    let report = report?;
    let mut text = if report.dry_run {
        format!("dry run: would restore {} into {} on {}", report.backup_id, report.database, report.profile)
    } else {
        format!(
            "restored {} into {}{} on {} in {} ms",
            report.backup_id,
            report.database,
            if report.created_database { " (created)" } else { "" },
            report.profile,
            report.duration_ms
        )
    };
    if let Some(tool) = &report.tool_choice {
        text.push_str(&format!("\n  {tool}"));
    }
    for line in &report.list {
        text.push_str(&format!("\n  {line}"));
    }
    for w in &report.warnings {
        text.push_str(&format!("\nwarning: {w}"));
    }
    for t in &report.row_counts {
        text.push_str(&format!("\n  {:>10}  {}.{}", t.rows, t.schema, t.table));
    }
    if let Some(s) = &report.sandbox {
        text.push_str(&format!(
            "\nsandbox {} — PostgreSQL {} at {} (`tideline sandbox compare {}`, `sandbox remove {}`)",
            s.record.id, s.record.major, s.url, s.record.id, s.record.id
        ));
    }
    Ok(Reply::of(&report, text))
}

pub async fn verify(engine: &Engine, a: VerifyArgs, json: bool) -> Result<Reply> {
    let (job, bar) = crate::progress::job(json);
    let report = engine.verify(&a.id, a.restore_test, &job).await;
    bar.finish_and_clear();
    let report = report?;
    if report.status != "passed" {
        return Err(verify::failure(&report));
    }
    let mut text = format!(
        "backup {} passed: {} file(s) match their checksums, readable by pg_restore{}",
        report.id,
        report.files_checked,
        if report.restore_tested {
            format!(", test restore matched {} table row counts", report.tables_compared)
        } else {
            String::new()
        }
    );
    for copy in &report.copies {
        match copy.status.as_str() {
            "passed" => text.push_str(&format!(
                "\ncopy in {}: read back, {} file(s) match their checksums",
                copy.repository, copy.files_checked
            )),
            _ => {
                text.push_str(&format!("\ncopy in {}: not copied yet ({})", copy.repository, copy.problems.join("; ")))
            }
        }
    }
    if let Some(note) = &report.row_counts_note {
        text.push_str(&format!("\nnote: {note}"));
    }
    Ok(Reply::of(&report, text))
}

pub fn toc(engine: &Engine, a: TocArgs) -> Result<Reply> {
    let archive = engine.archive(&a.id)?;
    let pg_restore = engine.pg_restore_for(&archive.manifest, archive.manifest.tool_major)?;
    let entries = archive.toc(&pg_restore)?;
    if a.tables.is_empty() {
        let text = entries
            .iter()
            .map(|e| format!("{:>6}  {:<20} {:<16} {}", e.id, e.kind, e.schema, e.name))
            .collect::<Vec<_>>()
            .join("\n");
        return Ok(Reply::new(json!({ "id": a.id, "entries": entries }), text));
    }
    let selection = toc::select(&entries, &a.tables, &[])?;
    let mut text = selection
        .entries
        .iter()
        .map(|e| format!("{:>6}  {:<20} {:<16} {}", e.id, e.kind, e.schema, e.name))
        .collect::<Vec<_>>()
        .join("\n");
    for w in &selection.warnings {
        text.push_str(&format!("\nwarning: {w}"));
    }
    Ok(Reply::new(json!({ "id": a.id, "entries": selection.entries, "warnings": selection.warnings }), text))
}

//! Restoring with --clean over partitioned tables. pg_restore's drop section tries
//! `ALTER TABLE ONLY <partition> DROP CONSTRAINT` and `DROP INDEX <partition index>`, which
//! PostgreSQL refuses for objects inherited from the parent ("cannot drop inherited
//! constraint"). Such drops are wrapped so that exactly that refusal is passed over (those
//! objects go with their partition's `DROP TABLE` later in the script); a partition's own
//! constraints (its foreign keys) are still dropped, and every other error still stops the run.

use super::toc::TocEntry;
use crate::pg::table_names::quote_ident;

/// The spellings pg_dump may use for `schema.name` (each part quoted or not).
fn spellings(schema: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in [schema.to_string(), quote_ident(schema)] {
        for n in [name.to_string(), quote_ident(name)] {
            out.push(format!("{s}.{n}"));
        }
    }
    out
}

pub fn tolerate_partition_drops(script: &str, entries: &[TocEntry]) -> String {
    let by_id = |id: u32| entries.iter().find(|e| e.id == id);
    let mut partitions = Vec::new();
    let mut partition_indexes = Vec::new();
    for e in entries {
        match e.kind.as_str() {
            // TABLE ATTACH depends on the parent and the partition; the partition shares its name.
            "TABLE ATTACH" => partitions.extend(spellings(&e.schema, &e.name)),
            "INDEX ATTACH" => {
                partition_indexes.extend(spellings(&e.schema, &e.name));
                for d in &e.depends_on {
                    if let Some(dep) = by_id(*d).filter(|d| d.kind == "INDEX") {
                        partition_indexes.extend(spellings(&dep.schema, &dep.name));
                    }
                }
            }
            _ => {}
        }
    }
    // pg_restore writes `ALTER TABLE IF EXISTS ONLY t DROP …` (older: `ALTER TABLE ONLY t DROP …`).
    let constraint_drop = |line: &str| {
        partitions.iter().any(|p| {
            ["ALTER TABLE IF EXISTS ONLY", "ALTER TABLE ONLY", "ALTER TABLE IF EXISTS", "ALTER TABLE"]
                .iter()
                .any(|head| line.starts_with(&format!("{head} {p} DROP CONSTRAINT IF EXISTS ")))
        })
    };
    let index_drop = |line: &str| partition_indexes.iter().any(|i| line == format!("DROP INDEX IF EXISTS {i};"));
    script
        .lines()
        .map(|l| {
            // 42P16: cannot drop an inherited constraint; 2BP01: an attached index its parent needs.
            let code = if constraint_drop(l) {
                "invalid_table_definition"
            } else if index_drop(l) {
                "dependent_objects_still_exist"
            } else {
                return format!("{l}\n");
            };
            let stmt = l.trim_end_matches(';');
            format!("DO $tideline_clean$ BEGIN EXECUTE $q$ {stmt} $q$; EXCEPTION WHEN {code} THEN NULL; END $tideline_clean$;\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u32, kind: &str, schema: &str, name: &str, deps: Vec<u32>) -> TocEntry {
        TocEntry {
            id,
            kind: kind.into(),
            schema: schema.into(),
            name: name.into(),
            owner: "o".into(),
            depends_on: deps,
            line: String::new(),
        }
    }

    #[test]
    fn drops_of_inherited_partition_objects_tolerate_their_refusal() {
        let entries = vec![
            entry(1, "TABLE", "public", "m", vec![]),
            entry(2, "TABLE", "public", "m 1", vec![]),
            entry(3, "TABLE ATTACH", "public", "m 1", vec![1, 2]),
            entry(4, "INDEX", "public", "m1_idx", vec![2]),
            entry(5, "INDEX ATTACH", "public", "m1_idx", vec![4]),
        ];
        let script = "ALTER TABLE IF EXISTS ONLY public.\"m 1\" DROP CONSTRAINT IF EXISTS \"m 1_pkey\";\nDROP INDEX IF EXISTS public.m1_idx;\nALTER TABLE ONLY public.m DROP CONSTRAINT IF EXISTS m_pkey;\nDROP TABLE IF EXISTS public.\"m 1\";\n";
        let kept = tolerate_partition_drops(script, &entries);
        let lines: Vec<&str> = kept.lines().collect();
        assert!(lines[0].starts_with(
            "DO $tideline_clean$ BEGIN EXECUTE $q$ ALTER TABLE IF EXISTS ONLY public.\"m 1\" DROP CONSTRAINT"
        ));
        assert!(lines[0].ends_with("EXCEPTION WHEN invalid_table_definition THEN NULL; END $tideline_clean$;"));
        assert!(
            lines[1].contains("DROP INDEX IF EXISTS public.m1_idx $q$; EXCEPTION WHEN dependent_objects_still_exist")
        );
        assert_eq!(lines[2], "ALTER TABLE ONLY public.m DROP CONSTRAINT IF EXISTS m_pkey;");
        assert_eq!(lines[3], "DROP TABLE IF EXISTS public.\"m 1\";");
    }
}

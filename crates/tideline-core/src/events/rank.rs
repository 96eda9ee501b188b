//! Destructive events from the WAL index: each remembered commit becomes an event when it
//! dropped or truncated a table, or deleted or updated more rows than a threshold (a number,
//! or a share of the table). Names come from the relation-file snapshots, carried forward
//! across TRUNCATE and rewrites, which give a table a new file.
//!
//! DROP, TRUNCATE and a rewrite all drop the table's old files at commit. They differ in what
//! the transaction created: nothing (DROP), a new file left empty (TRUNCATE: the heap has no
//! pages), or new files all filled with page images (VACUUM FULL, CLUSTER, a rewriting ALTER,
//! which lose nothing and are no event). A snapshot taken after the commit settles it: a table
//! it still lists was not dropped.

use super::rows_before::FileChanges;
use crate::catalog::relation_files::RelationFile;
use crate::wal::summary::{EndedTransaction, KEPT_CHANGED_ROWS};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EventFilter {
    /// RFC 3339 bounds on the commit time.
    pub from: Option<String>,
    pub to: Option<String>,
    /// A DELETE or UPDATE is an event from this many rows …
    #[ts(type = "number")]
    pub min_rows: u64,
    /// … or from this share of the table (0–1).
    pub min_share: f64,
}

impl Default for EventFilter {
    fn default() -> Self {
        EventFilter { from: None, to: None, min_rows: 1000, min_share: 0.1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum EffectKind {
    Update,
    Delete,
    Truncate,
    Drop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EventEffect {
    pub kind: EffectKind,
    /// `schema.table`, or the file when no snapshot named it.
    pub relation: String,
    pub database: Option<String>,
    #[ts(type = "number | null")]
    pub rows: Option<u64>,
    /// The table's rows just before the commit, when a snapshot of it is known (rows_before.rs).
    #[serde(default)]
    #[ts(type = "number | null")]
    pub rows_before: Option<u64>,
    /// `rows / rows_before`, 0–1.
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WalEvent {
    /// `timeline:xid`, what `pitr --before-event` takes.
    pub id: String,
    /// 1 = the most destructive in the list.
    pub rank: u32,
    pub kind: EffectKind,
    pub timeline: u32,
    pub xid: String,
    /// The commit record's LSN: recovery stops just before it.
    pub lsn: String,
    pub time: String,
    pub effects: Vec<EventEffect>,
    pub description: String,
    /// How much it destroyed, for the list and the chart.
    pub severity: Severity,
    /// What Tideline itself was doing when this committed (own_changes.rs): never an accident.
    #[serde(default)]
    pub by_tideline: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Severity {
    /// Some rows of a table, under 10 % of it.
    Low,
    /// A tenth of a table or more, or 10,000 rows of one whose size is not known.
    Medium,
    /// A table dropped or emptied, or half its rows or more.
    High,
}

fn severity(effects: &[EventEffect]) -> Severity {
    let one = |e: &EventEffect| match (e.kind, e.share, e.rows) {
        (EffectKind::Drop | EffectKind::Truncate, _, _) => Severity::High,
        (_, Some(share), _) if share >= 0.5 => Severity::High,
        (_, Some(share), _) if share >= 0.1 => Severity::Medium,
        (_, None, Some(rows)) if rows >= 10_000 => Severity::Medium,
        _ => Severity::Low,
    };
    effects.iter().map(one).max().unwrap_or(Severity::Low)
}

/// One remembered commit with its row changes (file → inserted, updated, deleted).
pub struct Ended {
    pub timeline: u32,
    pub tx: EndedTransaction,
    pub changes: BTreeMap<String, [u64; 3]>,
}

/// File → table, from the snapshots plus what TRUNCATE and rewrites teach on the way.
pub struct Names {
    by_file: HashMap<String, RelationFile>,
    /// Each file's rows at its newest sighting, and when that was: snapshots only.
    seen: HashMap<String, (i64, String)>,
    /// Files a TRUNCATE or a rewrite made, with their rows as of its commit time.
    started: HashMap<String, (i64, String)>,
    /// Newest sighting of each table oid per database.
    last_seen: HashMap<(String, u32), String>,
    snapshots: Vec<String>,
    home_database: String,
}

impl Names {
    /// `files` most recently seen mapping first per file (as the catalog returns them).
    pub fn new(files: Vec<RelationFile>, snapshots: Vec<String>, home_database: &str) -> Names {
        let mut by_file = HashMap::new();
        let mut last_seen: HashMap<(String, u32), String> = HashMap::new();
        let seen = files.iter().map(|f| (f.file.clone(), (f.rows_estimate, f.last_seen.clone()))).collect();
        for f in files {
            let seen = last_seen.entry((f.database.clone(), f.relation_oid)).or_default();
            if f.last_seen > *seen {
                *seen = f.last_seen.clone();
            }
            by_file.entry(f.file.clone()).or_insert(f);
        }
        Names { by_file, seen, started: HashMap::new(), last_seen, snapshots, home_database: home_database.to_string() }
    }

    pub(crate) fn seen(&self, file: &str) -> Option<(i64, &str)> {
        self.seen.get(file).map(|(rows, at)| (*rows, at.as_str()))
    }

    pub(crate) fn started(&self, file: &str) -> Option<(i64, &str)> {
        self.started.get(file).map(|(rows, at)| (*rows, at.as_str()))
    }

    fn label(&self, f: &RelationFile) -> (String, Option<String>) {
        let db = (f.database != self.home_database).then(|| f.database.clone());
        (format!("{}.{}", f.schema, f.name), db)
    }

    /// Whether a snapshot after `time` still listed the table (None: no snapshot since).
    fn exists_after(&self, f: &RelationFile, time: &str) -> Option<bool> {
        let next = self.snapshots.iter().find(|s| s.as_str() > time)?;
        Some(self.last_seen.get(&(f.database.clone(), f.relation_oid)).is_some_and(|s| s >= next))
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn describe(e: &EventEffect) -> String {
    let on = match &e.database {
        Some(db) => format!("{} (database {db})", e.relation),
        None => e.relation.clone(),
    };
    let rows = e.rows.unwrap_or(0);
    let (counted, share) = match (e.rows_before, e.share) {
        (Some(before), Some(share)) => (
            format!("{} of {} rows", thousands(rows), thousands(before)),
            format!(" ({})", percent(rows, before, share)),
        ),
        _ => (format!("{} rows", thousands(rows)), String::new()),
    };
    let had = e.rows_before.map(|b| format!(" ({} rows)", thousands(b))).unwrap_or_default();
    match e.kind {
        EffectKind::Drop => format!("DROP TABLE {on}{had}"),
        EffectKind::Truncate => format!("TRUNCATE {on}{had}"),
        EffectKind::Delete => format!("DELETE of {counted} from {on}{share}"),
        EffectKind::Update => format!("UPDATE of {counted} in {on}{share}"),
    }
}

/// A share in words, never rounded up to all of the table nor down to none of it.
fn percent(rows: u64, before: u64, share: f64) -> String {
    if share < 0.01 {
        "under 1%".into()
    } else if rows < before {
        format!("{}%", ((share * 100.0).round() as u64).min(99))
    } else {
        "100%".into()
    }
}

/// The files a commit dropped, per table: drops and truncations (rewrites lose nothing and
/// are not reported, but like truncations they teach the table's new files).
fn dropped_effects(ended: &[Ended], changes: &FileChanges, i: usize, names: &mut Names) -> Vec<EventEffect> {
    let e = &ended[i];
    let created: Vec<&str> = e.tx.created.iter().map(|c| c.file.as_str()).collect();
    // A table created and dropped in one transaction (a work table) lost nothing.
    let dropped: Vec<&String> = e.tx.dropped.iter().filter(|d| !created.contains(&d.as_str())).collect();
    if dropped.is_empty() {
        return Vec::new();
    }
    let kept_new: Vec<_> = e.tx.created.iter().filter(|c| !e.tx.dropped.contains(&c.file)).collect();
    let rewrite = !kept_new.is_empty() && kept_new.iter().all(|c| c.written);
    let by_wal = if kept_new.is_empty() { EffectKind::Drop } else { EffectKind::Truncate };
    let mut tables: BTreeMap<String, (Option<RelationFile>, String)> = BTreeMap::new();
    for file in dropped {
        match names.by_file.get(file.as_str()) {
            Some(f) if f.kind == "index" => {}
            Some(f) => {
                tables.entry(format!("{}/{}", f.database, f.relation_oid)).or_insert((Some(f.clone()), file.clone()));
            }
            None => {
                tables.insert(file.clone(), (None, file.clone()));
            }
        }
    }
    let single = match (tables.len(), tables.values().next()) {
        (1, Some((Some(f), _))) => Some(f.clone()),
        _ => None,
    };
    // One table got new files (and a later snapshot does not say it was dropped): its heap is
    // the first one created (heap, then toast, then indexes, in TRUNCATE and in rewrites
    // alike); the others are its toast and indexes.
    if let Some(f) = single.filter(|f| !kept_new.is_empty() && names.exists_after(f, &e.tx.time) != Some(false)) {
        for (n, c) in kept_new.iter().enumerate() {
            let mut renamed = f.clone();
            renamed.file = c.file.clone();
            renamed.kind = if n == 0 { "table" } else { "index" }.into();
            names.by_file.insert(c.file.clone(), renamed);
        }
        // The new heap starts empty after a TRUNCATE, with the old one's rows after a rewrite.
        let old_heap = tables.values().next().map(|(_, file)| file.clone()).unwrap_or_default();
        let rows = if rewrite { super::rows_before::rows_before(names, ended, changes, i, &old_heap) } else { Some(0) };
        if let Some(rows) = rows {
            names.started.insert(kept_new[0].file.clone(), (rows as i64, e.tx.time.clone()));
        }
    }
    if rewrite {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (_, (known, file)) in tables {
        let kind = match known.as_ref().and_then(|f| names.exists_after(f, &e.tx.time)) {
            Some(false) => EffectKind::Drop,
            Some(true) if by_wal == EffectKind::Drop => continue, // still there: not destroyed
            _ => by_wal,
        };
        let (relation, database) = match &known {
            Some(f) => names.label(f),
            None => (format!("relation file {file}"), None),
        };
        let rows_before = known.as_ref().and_then(|_| super::rows_before::rows_before(names, ended, changes, i, &file));
        let rows = rows_before.filter(|_| kind == EffectKind::Truncate);
        out.push(EventEffect { kind, relation, database, rows, rows_before, share: None });
    }
    out
}

/// DELETEs and UPDATEs over the threshold, per table.
fn row_effects(
    ended: &[Ended],
    changes: &FileChanges,
    i: usize,
    names: &Names,
    filter: &EventFilter,
) -> Vec<EventEffect> {
    let e = &ended[i];
    let created: Vec<&str> = e.tx.created.iter().map(|c| c.file.as_str()).collect();
    let mut tables: BTreeMap<String, (Option<&RelationFile>, String, [u64; 3])> = BTreeMap::new();
    for (file, counts) in &e.changes {
        if created.contains(&file.as_str()) {
            continue; // rows of a table this transaction made
        }
        let known = names.by_file.get(file);
        if known.is_some_and(|f| f.kind == "toast" || f.kind == "index") {
            continue; // toast chunks are not rows
        }
        let key = known.map(|f| format!("{}/{}", f.database, f.relation_oid)).unwrap_or_else(|| file.clone());
        let entry = tables.entry(key).or_insert((known, file.clone(), [0; 3]));
        for (total, n) in entry.2.iter_mut().zip(counts) {
            *total += n;
        }
    }
    let mut out = Vec::new();
    for (_, (known, file, [_, updated, deleted])) in tables {
        for (kind, rows) in [(EffectKind::Delete, deleted), (EffectKind::Update, updated)] {
            if rows == 0 {
                continue;
            }
            let rows_before = known
                .and_then(|_| super::rows_before::rows_before(names, ended, changes, i, &file))
                .map(|before| before.max(rows));
            let share = rows_before.filter(|b| *b > 0).map(|b| rows as f64 / b as f64);
            let big = rows >= filter.min_rows
                || (rows >= u64::from(KEPT_CHANGED_ROWS) && share.is_some_and(|s| s >= filter.min_share));
            if !big {
                continue;
            }
            let (relation, database) = match known {
                Some(f) => names.label(f),
                None => (format!("relation file {file}"), None),
            };
            out.push(EventEffect { kind, relation, database, rows: Some(rows), rows_before, share });
        }
    }
    out
}

/// Events from remembered commits (oldest first), ranked, within the filter's time range.
pub fn events(ended: &[Ended], names: &mut Names, filter: &EventFilter) -> Vec<WalEvent> {
    let mut out = Vec::new();
    let changes = FileChanges::of(ended);
    for (i, e) in ended.iter().enumerate() {
        // Every commit is read, in order, so that names learnt from a TRUNCATE hold later.
        let mut effects = dropped_effects(ended, &changes, i, names);
        effects.extend(row_effects(ended, &changes, i, names, filter));
        let in_range = filter.from.as_deref().is_none_or(|f| e.tx.time.as_str() >= f)
            && filter.to.as_deref().is_none_or(|t| e.tx.time.as_str() <= t);
        let Some(kind) = effects.iter().map(|f| f.kind).max() else { continue };
        if !in_range {
            continue;
        }
        effects.sort_by(|a, b| b.kind.cmp(&a.kind).then(b.rows.cmp(&a.rows)));
        out.push(WalEvent {
            id: format!("{}:{}", e.timeline, e.tx.xid),
            rank: 0,
            kind,
            timeline: e.timeline,
            xid: e.tx.xid.clone(),
            lsn: e.tx.lsn.clone(),
            time: e.tx.time.clone(),
            description: effects.iter().map(describe).collect::<Vec<_>>().join("; "),
            severity: severity(&effects),
            effects,
            by_tideline: None,
        });
    }
    rank(&mut out);
    out
}

/// Ranks 1, 2, … most destructive first, newer first among equals; Tideline's own changes
/// after every other event, whatever they destroyed.
pub fn rank(events: &mut [WalEvent]) {
    let mut order: Vec<usize> = (0..events.len()).collect();
    let weight = |w: &WalEvent| (w.by_tideline.is_none(), w.kind, w.effects.iter().filter_map(|f| f.rows).sum::<u64>());
    order.sort_by(|&a, &b| weight(&events[b]).cmp(&weight(&events[a])).then(events[b].time.cmp(&events[a].time)));
    for (rank, i) in order.into_iter().enumerate() {
        events[i].rank = rank as u32 + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::summary::CreatedFile;

    fn table(file: &str, oid: u32, name: &str, kind: &str, rows: i64, seen: &str) -> RelationFile {
        RelationFile {
            file: file.into(),
            relation_oid: oid,
            database: "app".into(),
            schema: "public".into(),
            name: name.into(),
            kind: kind.into(),
            rows_estimate: rows,
            first_seen: seen.into(),
            last_seen: seen.into(),
        }
    }

    const SNAP: &str = "2026-01-01T00:00:00.000000Z";

    fn names(extra_snapshots: &[&str]) -> Names {
        let files = vec![
            table("1663/5/100", 100, "orders", "table", 10_000, SNAP),
            table("1663/5/101", 100, "orders", "toast", 10_000, SNAP),
            table("1663/5/102", 100, "orders", "index", 10_000, SNAP),
            table("1663/5/200", 200, "audit", "table", 100, SNAP),
        ];
        let mut snaps = vec![SNAP.to_string()];
        snaps.extend(extra_snapshots.iter().map(|s| s.to_string()));
        Names::new(files, snaps, "app")
    }

    fn ended(xid: u32, time: &str, dropped: &[&str], created: &[(&str, bool)], changes: &[(&str, [u64; 3])]) -> Ended {
        Ended {
            timeline: 1,
            tx: EndedTransaction {
                xid: xid.to_string(),
                subxacts: vec![],
                lsn: format!("0/{xid:X}"),
                time: time.into(),
                dropped: dropped.iter().map(|d| d.to_string()).collect(),
                created: created
                    .iter()
                    .map(|(f, w)| CreatedFile { xid: xid.to_string(), file: f.to_string(), written: *w })
                    .collect(),
            },
            changes: changes.iter().map(|(f, c)| (f.to_string(), *c)).collect(),
        }
    }

    fn descriptions(events: &[WalEvent]) -> Vec<&str> {
        events.iter().map(|e| e.description.as_str()).collect()
    }

    #[test]
    fn drop_truncate_and_rewrite_are_told_apart_by_what_the_transaction_created() {
        let t = |m: u32| format!("2026-01-01T00:{m:02}:00.000000Z");
        let all = [
            // VACUUM FULL: every new file filled.
            ended(
                10,
                &t(1),
                &["1663/5/100", "1663/5/101", "1663/5/102"],
                &[("1663/5/300", true), ("1663/5/301", true)],
                &[],
            ),
            // A work table made and dropped in one transaction.
            ended(11, &t(2), &["1663/5/400"], &[("1663/5/400", false)], &[("1663/5/400", [5000, 0, 0])]),
            // TRUNCATE: the new heap stays empty (its index gets a metapage).
            ended(12, &t(3), &["1663/5/200"], &[("1663/5/500", false), ("1663/5/501", true)], &[]),
            // Rows into the truncated table's new file …
            ended(16, "2026-01-01T00:03:30.000000Z", &[], &[], &[("1663/5/500", [80, 0, 0])]),
            // … and a DELETE of most: named, and counted, from what TRUNCATE taught.
            ended(13, &t(4), &[], &[], &[("1663/5/500", [0, 0, 60])]),
            // And one on the rewritten table's new heap, likewise.
            ended(15, &t(4), &[], &[], &[("1663/5/300", [0, 0, 5000])]),
            // DROP: nothing created.
            ended(14, &t(5), &["1663/5/500", "1663/5/501"], &[], &[]),
        ];
        let events = events(&all, &mut names(&[]), &EventFilter::default());
        assert_eq!(
            descriptions(&events),
            [
                "TRUNCATE public.audit (100 rows)",
                "DELETE of 60 of 80 rows from public.audit (75%)",
                "DELETE of 5,000 of 10,000 rows from public.orders (50%)",
                "DROP TABLE public.audit (20 rows)"
            ]
        );
        // DROP first, then TRUNCATE, then the DELETEs, more rows first.
        assert_eq!(events.iter().map(|e| e.rank).collect::<Vec<_>>(), [2, 4, 3, 1]);
        assert_eq!(events[3].id, "1:14");
        assert_eq!(events[3].lsn, "0/E");
        let severities: Vec<Severity> = events.iter().map(|e| e.severity).collect();
        assert_eq!(severities, [Severity::High, Severity::High, Severity::High, Severity::High]);
    }

    #[test]
    fn a_later_snapshot_settles_whether_the_table_still_exists() {
        // The transaction created files (another table) and dropped orders' files: the WAL
        // alone says TRUNCATE; a snapshot after it no longer lists orders, so it was a DROP.
        let later = "2026-01-02T00:00:00.000000Z";
        let all = [ended(20, "2026-01-01T12:00:00.000000Z", &["1663/5/100"], &[("1663/5/600", false)], &[])];
        let got = events(&all, &mut names(&[later]), &EventFilter::default());
        assert_eq!(descriptions(&got), ["DROP TABLE public.orders (10,000 rows)"]);
        // Without that snapshot, the WAL's reading stands.
        let got = events(&all, &mut names(&[]), &EventFilter::default());
        assert_eq!(descriptions(&got), ["TRUNCATE public.orders (10,000 rows)"]);
    }

    #[test]
    fn row_changes_count_against_rows_or_a_share_of_the_table() {
        let at = "2026-01-01T01:00:00.000000Z";
        let all = [
            ended(30, at, &[], &[], &[("1663/5/200", [0, 0, 10])]), // 10% of 100: an event
            ended(31, at, &[], &[], &[("1663/5/100", [0, 900, 0])]), // 9%, under 1,000: none
            ended(32, at, &[], &[], &[("1663/5/101", [0, 0, 50_000])]), // toast chunks: not rows
            ended(33, at, &[], &[], &[("1663/5/999", [0, 1500, 0])]), // no name: the file
        ];
        let got = events(&all, &mut names(&[]), &EventFilter::default());
        assert_eq!(
            descriptions(&got),
            ["DELETE of 10 of 100 rows from public.audit (10%)", "UPDATE of 1,500 rows in relation file 1663/5/999"]
        );
        // A tenth of a table is medium; 1,500 rows of a table of unknown size, low.
        assert_eq!(got.iter().map(|e| e.severity).collect::<Vec<_>>(), [Severity::Medium, Severity::Low]);
        let lowered = EventFilter { min_rows: 100, ..EventFilter::default() };
        assert_eq!(events(&all, &mut names(&[]), &lowered).len(), 3);
        let window = EventFilter { from: Some("2026-01-01T02:00:00Z".into()), ..EventFilter::default() };
        assert!(events(&all, &mut names(&[]), &window).is_empty());
    }

    #[test]
    fn rows_before_are_counted_from_the_nearest_snapshot_forward_or_back() {
        let at = |m: u32| format!("2026-01-01T00:{m:02}:00.000000Z");
        // orders: 10,000 at the snapshot (00:00); 2,000 more, then all of them deleted.
        let all = [
            ended(40, &at(1), &[], &[], &[("1663/5/100", [2000, 0, 0])]),
            ended(41, &at(2), &[], &[], &[("1663/5/100", [0, 0, 12_000])]),
        ];
        let got = events(&all, &mut names(&[]), &EventFilter::default());
        assert_eq!(descriptions(&got), ["DELETE of 12,000 of 12,000 rows from public.orders (100%)"]);
        assert_eq!((got[0].effects[0].rows, got[0].effects[0].rows_before), (Some(12_000), Some(12_000)));
        // The same history seen by a snapshot after it (0 rows left then): counted back.
        let after = "2026-01-01T00:05:00.000000Z";
        let files = vec![table("1663/5/100", 100, "orders", "table", 0, after)];
        let mut later = Names::new(files, vec![SNAP.into(), after.into()], "app");
        let got = events(&all, &mut later, &EventFilter::default());
        assert_eq!(descriptions(&got), ["DELETE of 12,000 of 12,000 rows from public.orders (100%)"]);
        // A share is never rounded up to all, nor down to none.
        assert_eq!(percent(2499, 2500, 0.9996), "99%");
        assert_eq!(percent(1, 1000, 0.001), "under 1%");
    }

    #[test]
    fn counts_read_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(48210), "48,210");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}

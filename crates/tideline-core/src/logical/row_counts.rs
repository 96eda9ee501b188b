//! Reading back how many rows each restored table holds, to set beside the manifest's counts.
//! Several connections at once: a sequential `count(*)` over every table costs as long as a
//! scan of the whole database, which is most of a restore's overhead over pg_restore alone —
//! so a parallel restore's tables are counted as their data lands, while indexes are built.

use super::names::exact_pattern;
use crate::error::Result;
use crate::profile::ProfileDraft;
use crate::repo::manifest::TableCount;
use crate::secret::Secret;
use tokio_postgres::Client;

/// The tables of `expected` that exist in `target`, each with its row count, in `expected`'s
/// order. A table that is not there (left out of a selection) is absent from the result.
pub(crate) async fn restored_rows(
    target: &ProfileDraft,
    password: Option<&Secret>,
    expected: &[TableCount],
    connections: usize,
) -> Result<Vec<TableCount>> {
    let shares = shares(expected, connections.clamp(1, expected.len().max(1)));
    let mut clients = Vec::with_capacity(shares.len());
    for _ in 0..shares.len() {
        clients.push(crate::connect::connect(target, password).await?);
    }
    let counted = futures_util::future::join_all(
        clients.iter().zip(&shares).map(|(client, share)| count_share(client, expected, share)),
    )
    .await;
    let mut found: Vec<(usize, TableCount)> = counted.into_iter().flatten().collect();
    found.sort_by_key(|(i, _)| *i);
    Ok(found.into_iter().map(|(_, t)| t).collect())
}

/// The rest of `expected` counted now, beside what `early` already counted: all in `expected`'s
/// order.
pub(crate) async fn restored_rows_after(
    target: &ProfileDraft,
    password: Option<&Secret>,
    expected: &[TableCount],
    early: Vec<(usize, TableCount)>,
    connections: usize,
) -> Result<Vec<TableCount>> {
    let done: std::collections::HashSet<usize> = early.iter().map(|(i, _)| *i).collect();
    let rest: Vec<usize> = (0..expected.len()).filter(|i| !done.contains(i)).collect();
    let tables: Vec<TableCount> = rest.iter().map(|&i| expected[i].clone()).collect();
    let counted = restored_rows(target, password, &tables, connections).await?;
    // restored_rows keeps order but leaves out missing tables: match them back by name.
    let mut found: Vec<(usize, TableCount)> = early;
    for t in counted {
        if let Some(&i) = rest.iter().find(|&&i| expected[i].schema == t.schema && expected[i].table == t.table) {
            found.push((i, t));
        }
    }
    found.sort_by_key(|(i, _)| *i);
    Ok(found.into_iter().map(|(_, t)| t).collect())
}

/// Counts tables while a parallel pg_restore goes on: each as its log says its data finished
/// (`finished item N TABLE DATA name`, committed by then), on a connection of its own. A name
/// in several schemas is left for the end, as is anything the log does not mention.
pub(crate) struct EarlyCounts {
    expected: Vec<TableCount>,
    landed: Option<tokio::sync::mpsc::UnboundedSender<usize>>,
    counting: Option<tokio::task::JoinHandle<Vec<(usize, TableCount)>>>,
}

impl EarlyCounts {
    /// Connects only once a table has landed: a serial restore (no such lines) costs nothing.
    pub(crate) fn start(target: &ProfileDraft, password: Option<&Secret>, expected: Vec<TableCount>) -> EarlyCounts {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
        let (target, password, tables) = (target.clone(), password.cloned(), expected.clone());
        let counting = tokio::spawn(async move {
            let mut out = Vec::new();
            let mut client = None;
            while let Some(i) = rx.recv().await {
                if client.is_none() {
                    // Unreachable now: the tables are counted at the end instead.
                    client = crate::connect::connect(&target, password.as_ref()).await.ok();
                }
                if let Some(c) = &client {
                    out.extend(count_share(c, &tables, &[i]).await);
                }
            }
            out
        });
        EarlyCounts { expected, landed: Some(tx), counting: Some(counting) }
    }

    /// A line of pg_restore's log.
    pub(crate) fn landed(&self, line: &str) {
        if let (Some(i), Some(tx)) = (landed_table(line, &self.expected), &self.landed) {
            let _ = tx.send(i);
        }
    }

    /// What was counted (index into `expected`, count).
    pub(crate) async fn finish(mut self) -> Vec<(usize, TableCount)> {
        self.landed = None;
        match self.counting.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => vec![],
        }
    }
}

/// The table of `expected` whose data a `finished item N TABLE DATA name` line reports, when
/// the name is in one schema only (the line does not say which).
fn landed_table(line: &str, expected: &[TableCount]) -> Option<usize> {
    let (_, name) = line.split("finished item ").nth(1)?.split_once(" TABLE DATA ")?;
    let mut matching = expected.iter().enumerate().filter(|(_, t)| t.table == name);
    match (matching.next(), matching.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

async fn count_share(client: &Client, expected: &[TableCount], share: &[usize]) -> Vec<(usize, TableCount)> {
    let mut out = Vec::with_capacity(share.len());
    for &i in share {
        let t = &expected[i];
        let sql = format!("SELECT count(*) FROM ONLY {}", exact_pattern(&t.schema, &t.table));
        if let Ok(row) = client.query_one(&sql, &[]).await {
            out.push((i, TableCount { rows: row.get(0), ..t.clone() }));
        }
    }
    out
}

/// Table indices split over `n` connections by the manifest's row counts, largest first to the
/// least loaded, so one big table does not leave the others idle at the end.
fn shares(expected: &[TableCount], n: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..expected.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(expected[i].rows));
    let mut shares = vec![(0i64, Vec::new()); n];
    for i in order {
        let least = shares.iter_mut().min_by_key(|(load, _)| *load).expect("n >= 1");
        least.0 += expected[i].rows.max(1);
        least.1.push(i);
    }
    shares.into_iter().map(|(_, share)| share).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, rows: i64) -> TableCount {
        TableCount { schema: "public".into(), table: name.into(), rows }
    }

    #[test]
    fn a_finished_table_is_named_by_its_line_when_the_name_is_unique() {
        let mut other = table("orders", 5);
        other.schema = "archive".into();
        let tables = [table("orders", 10), table("Order Items", 3), other, table("users", 1)];
        let line = |rest: &str| format!("pg_restore: finished item 3354 TABLE DATA {rest}");
        assert_eq!(landed_table(&line("Order Items"), &tables), Some(1));
        assert_eq!(landed_table(&line("users"), &tables), Some(3));
        // In two schemas: left for the end.
        assert_eq!(landed_table(&line("orders"), &tables), None);
        assert_eq!(landed_table(&line("missing"), &tables), None);
        assert_eq!(landed_table("pg_restore: finished item 3355 INDEX users_pkey", &tables), None);
        assert_eq!(landed_table("pg_restore: processing data for table \"public.users\"", &tables), None);
    }

    #[test]
    fn big_tables_spread_over_connections() {
        let tables = [table("a", 10), table("b", 1000), table("c", 900), table("d", 50), table("e", 60)];
        assert_eq!(shares(&tables, 2), vec![vec![1, 0], vec![2, 4, 3]]);
        assert_eq!(shares(&tables, 1), vec![vec![1, 2, 4, 3, 0]]);
        assert_eq!(shares(&tables[..1], 3), vec![vec![0]]);
        assert!(shares(&[], 1).is_empty());
    }
}

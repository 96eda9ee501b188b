//! Reading back how many rows each restored table holds, to set beside the manifest's counts.
//! Several connections at once: a sequential `count(*)` over every table costs as long as a
//! scan of the whole database, which is most of a restore's overhead over pg_restore alone.

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
    fn big_tables_spread_over_connections() {
        let tables = [table("a", 10), table("b", 1000), table("c", 900), table("d", 50), table("e", 60)];
        assert_eq!(shares(&tables, 2), vec![vec![1, 0], vec![2, 4, 3]]);
        assert_eq!(shares(&tables, 1), vec![vec![1, 2, 4, 3, 0]]);
        assert_eq!(shares(&tables[..1], 3), vec![vec![0]]);
        assert!(shares(&[], 1).is_empty());
    }
}

//! How many rows a table had just before an event's commit: what a snapshot of its file said
//! (the server's live-row count then), or what a TRUNCATE (none) or a rewrite (the old file's)
//! left in the new file it made, carried to the commit through the row changes of the commits in between — forward from a
//! snapshot taken before it, backward from one taken after. Commits too small to be remembered
//! (under ten changed rows, under a thousand inserted) are not in the WAL index: their rows
//! make the count off by as many.

use super::rank::{Ended, Names};

/// Rows of relation file `file` just before commit `i` of `ended` (oldest first).
pub(crate) fn rows_before(names: &Names, ended: &[Ended], i: usize, file: &str) -> Option<u64> {
    let at = ended[i].tx.time.as_str();
    let net = |j: usize| ended[j].changes.get(file).map_or(0, |c| c[0] as i64 - c[2] as i64);
    let since =
        |rows: i64, from: &str| rows + (0..i).filter(|&j| ended[j].tx.time.as_str() > from).map(net).sum::<i64>();
    let counted = match (names.started(file), names.seen(file)) {
        (Some((rows, started)), _) if started <= at => since(rows, started),
        (_, Some((rows, seen))) if seen <= at => since(rows, seen),
        // Seen after the commit: take back what the commits up to then changed, this one too.
        (_, Some((rows, seen))) => {
            rows - (i..ended.len()).filter(|&j| ended[j].tx.time.as_str() <= seen).map(net).sum::<i64>()
        }
        _ => return None,
    };
    Some(counted.max(0) as u64)
}

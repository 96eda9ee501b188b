//! How many rows a table had just before an event's commit: what a snapshot of its file said
//! (the server's live-row count then), or what a TRUNCATE (none) or a rewrite (the old file's)
//! left in the new file it made, carried to the commit through the row changes of the commits
//! in between — forward from a snapshot taken before it, backward from one taken after.
//! Commits too small to be remembered (under ten changed rows, under a thousand inserted) are
//! not in the WAL index: their rows make the count off by as many.

use super::rank::{Ended, Names};
use std::collections::HashMap;

/// Each file's net row change (inserted − deleted) per remembered commit, in commit order:
/// indexed once, so a count walks only the commits that touched its file.
pub(crate) struct FileChanges(HashMap<String, Vec<(usize, i64)>>);

impl FileChanges {
    pub(crate) fn of(ended: &[Ended]) -> FileChanges {
        let mut by_file: HashMap<String, Vec<(usize, i64)>> = HashMap::new();
        for (j, e) in ended.iter().enumerate() {
            for (file, c) in &e.changes {
                by_file.entry(file.clone()).or_default().push((j, c[0] as i64 - c[2] as i64));
            }
        }
        FileChanges(by_file)
    }
}

/// Rows of relation file `file` just before commit `i` of `ended` (oldest first).
pub(crate) fn rows_before(names: &Names, ended: &[Ended], changes: &FileChanges, i: usize, file: &str) -> Option<u64> {
    let at = ended[i].tx.time.as_str();
    let touched = changes.0.get(file).map(Vec::as_slice).unwrap_or_default();
    let time = |j: usize| ended[j].tx.time.as_str();
    let since = |rows: i64, from: &str| {
        rows + touched.iter().filter(|&&(j, _)| j < i && time(j) > from).map(|(_, net)| net).sum::<i64>()
    };
    let counted = match (names.started(file), names.seen(file)) {
        (Some((rows, started)), _) if started <= at => since(rows, started),
        (_, Some((rows, seen))) if seen <= at => since(rows, seen),
        // Seen after the commit: take back what the commits up to then changed, this one too.
        (_, Some((rows, seen))) => {
            rows - touched.iter().filter(|&&(j, _)| j >= i && time(j) <= seen).map(|(_, net)| net).sum::<i64>()
        }
        _ => return None,
    };
    Some(counted.max(0) as u64)
}

//! Timeline history files (`00000002.history`): each line names a parent timeline and the LSN
//! where this timeline forked from it.

use crate::pg::lsn::lsn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    pub parent: u32,
    /// The first LSN that belongs to the child timeline.
    pub switch_lsn: u64,
}

/// The ancestry of a timeline, oldest first, from its history file's text.
pub fn parse(text: &str) -> Vec<Fork> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let parent = parts.next()?.parse().ok()?;
            let switch_lsn = lsn(parts.next()?)?;
            Some(Fork { parent, switch_lsn })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_each_fork() {
        let text = "1\t0/3000158\tno recovery target specified\n\n2\t0/5000000\tbefore 2026-11-24 10:00:00+00\n";
        let forks = super::parse(text);
        assert_eq!(forks.len(), 2);
        assert_eq!((forks[0].parent, forks[0].switch_lsn), (1, 0x3000158));
        assert_eq!((forks[1].parent, forks[1].switch_lsn), (2, 0x5000000));
    }
}

//! Which records a reader hands over to its caller.

/// Which records a reader hands over, by resource manager; it reads, checks and counts the
/// others all the same. Handing over only what a caller looks at spares a call per record
/// (most of them heap and index records), and a copy of each one spanning pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rmgrs([u64; 4]);

impl Rmgrs {
    pub const ALL: Rmgrs = Rmgrs([u64::MAX; 4]);
    pub const NONE: Rmgrs = Rmgrs([0; 4]);

    pub fn of(ids: &[u8]) -> Rmgrs {
        let mut set = Rmgrs::NONE;
        for &id in ids {
            set.0[usize::from(id / 64)] |= 1 << (id % 64);
        }
        set
    }

    pub(crate) fn has(&self, rmgr: u8) -> bool {
        self.0[usize::from(rmgr / 64)] & (1 << (rmgr % 64)) != 0
    }
}

impl Default for Rmgrs {
    fn default() -> Rmgrs {
        Rmgrs::ALL
    }
}

//! What reading each archived WAL file last found (whole, or the damage), with the size and
//! modification time the file had then: a file unchanged since is not read again.

use super::Catalog;
use crate::error::Result;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalCheck {
    pub name: String,
    pub size_bytes: u64,
    pub modified_ns: i64,
    /// Why the file cannot be used; `None` when it read back whole.
    pub damage: Option<String>,
}

impl Catalog {
    pub fn wal_checks(&self, system_identifier: &str) -> Result<HashMap<String, WalCheck>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, size_bytes, modified_ns, damage FROM wal_checks WHERE system_identifier = ?1")?;
        let rows = stmt.query_map([system_identifier], |r| {
            Ok(WalCheck {
                name: r.get(0)?,
                size_bytes: r.get::<_, i64>(1)? as u64,
                modified_ns: r.get(2)?,
                damage: r.get(3)?,
            })
        })?;
        let checks: Vec<WalCheck> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(checks.into_iter().map(|c| (c.name.clone(), c)).collect())
    }

    /// Records checks in one transaction, replacing earlier ones of the same files.
    pub fn record_wal_checks(&self, system_identifier: &str, checks: &[WalCheck], checked_at: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for c in checks {
            self.conn.execute(
                "INSERT OR REPLACE INTO wal_checks (system_identifier, name, size_bytes, modified_ns, damage, checked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![system_identifier, c.name, c.size_bytes as i64, c.modified_ns, c.damage, checked_at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

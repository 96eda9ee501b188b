//! Named restore points, as `tideline mark` created them (the WAL holds them too).

use super::Catalog;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RestorePoint {
    pub system_identifier: String,
    pub name: String,
    pub profile: String,
    pub lsn: String,
    pub timeline: u32,
    pub created_at: String,
}

impl Catalog {
    pub fn record_restore_point(&self, p: &RestorePoint) -> Result<()> {
        self.conn.execute(
            &format!(
                "INSERT OR REPLACE INTO restore_points (system_identifier, name, profile, lsn, timeline, created_at, profile_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, {})",
                super::profile_id_of(3)
            ),
            rusqlite::params![p.system_identifier, p.name, p.profile, p.lsn, p.timeline, p.created_at],
        )?;
        Ok(())
    }

    pub fn restore_points(&self, system_identifier: &str) -> Result<Vec<RestorePoint>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT system_identifier, name, {}, lsn, timeline, created_at FROM restore_points
             WHERE system_identifier = ?1 ORDER BY created_at",
            super::owner_name("restore_points")
        ))?;
        let rows = stmt.query_map([system_identifier], |r| {
            Ok(RestorePoint {
                system_identifier: r.get(0)?,
                name: r.get(1)?,
                profile: r.get(2)?,
                lsn: r.get(3)?,
                timeline: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

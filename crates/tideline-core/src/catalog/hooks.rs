//! Webhooks, as JSON records (no URL: that is in the keychain).

use super::Catalog;
use crate::error::{Error, Result};
use crate::notify::Hook;

impl Catalog {
    pub fn save_hook(&self, h: &Hook) -> Result<()> {
        let json = serde_json::to_string(h).map_err(|e| Error::internal(e.to_string()))?;
        self.conn.execute("INSERT OR REPLACE INTO hooks (id, hook) VALUES (?1, ?2)", rusqlite::params![h.id, json])?;
        Ok(())
    }

    pub fn hooks(&self) -> Result<Vec<Hook>> {
        let mut stmt = self.conn.prepare("SELECT hook FROM hooks ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(
                serde_json::from_str(&json?)
                    .map_err(|e| Error::internal(format!("a webhook in the catalog is damaged: {e}")))?,
            );
        }
        Ok(out)
    }

    pub fn delete_hook(&self, id: &str) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM hooks WHERE id = ?1", [id])? > 0)
    }
}

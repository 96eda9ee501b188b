//! Tideline's own changes to a live database, recorded around them (catalog/own_changes.rs),
//! and the events they caused marked "by Tideline". Before each change a relation snapshot is
//! taken, so the files it drops are named after the tables they held.

use super::rank::WalEvent;
use crate::catalog::own_changes::OwnChange;
use crate::engine::Engine;
use crate::error::Result;
use crate::pg::lsn::lsn;
use crate::pg::server::query_failed;
use tokio_postgres::Client;

/// A change being made: the catalog row to finish.
pub(crate) struct Recording {
    id: i64,
}

/// Where the WAL is written up to now (the next record goes there).
async fn insert_lsn(client: &Client) -> Result<String> {
    Ok(client
        .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
        .await
        .map_err(query_failed("reading where the WAL stands"))?
        .get(0))
}

/// The 32-bit id the WAL gives the current transaction (it starts one if none runs).
pub(crate) async fn current_xid(client: &impl tokio_postgres::GenericClient) -> Result<String> {
    Ok(client
        .query_one("SELECT (txid_current() % 4294967296)::text", &[])
        .await
        .map_err(query_failed("reading the transaction's id"))?
        .get(0))
}

impl Engine {
    /// Before Tideline changes `database` of `profile_name`'s cluster through `client`: names
    /// of the files about to change, and where the WAL stands. A failure to record is logged,
    /// never a reason to refuse the change.
    pub(crate) async fn own_change_begins(
        &self,
        profile_name: &str,
        client: &Client,
        database: &str,
        what: String,
    ) -> Option<Recording> {
        self.try_snapshot_relation_names(profile_name).await;
        let begun = async {
            let change = OwnChange {
                system_identifier: crate::pg::server::system_identifier(client).await?,
                database: database.to_string(),
                what,
                xid: None,
                start_lsn: insert_lsn(client).await?,
                end_lsn: None,
                started_at: self.clock.now_rfc3339(),
            };
            self.catalog().own_change_began(&change)
        };
        match begun.await {
            Ok(id) => Some(Recording { id }),
            Err(e) => {
                tracing::warn!(error = %e.message, "Tideline's own change is not recorded; its events will read as accidents");
                None
            }
        }
    }

    /// After the change (whether it committed or not): where the WAL stands now, and the one
    /// transaction's id when the change was one.
    pub(crate) async fn own_change_ends(&self, recording: Option<Recording>, client: &Client, xid: Option<&str>) {
        let Some(recording) = recording else { return };
        let ended = async {
            let end = insert_lsn(client).await?;
            self.catalog().own_change_ended(recording.id, &end, xid)
        };
        if let Err(e) = ended.await {
            tracing::warn!(error = %e.message, "the end of Tideline's own change is not recorded");
        }
    }
}

/// Marks the events Tideline's own changes caused: committed between a change's two LSNs,
/// in its transaction when it names one, and touching only its database.
pub(crate) fn mark(events: &mut [WalEvent], changes: &[OwnChange], home_database: &str) {
    for event in events.iter_mut() {
        let Some(at) = lsn(&event.lsn) else { continue };
        let databases: Vec<&str> =
            event.effects.iter().map(|e| e.database.as_deref().unwrap_or(home_database)).collect();
        let caused = changes.iter().find(|c| {
            let (Some(start), Some(end)) = (lsn(&c.start_lsn), c.end_lsn.as_deref().and_then(lsn)) else {
                return false;
            };
            start <= at
                && at <= end
                && c.xid.as_deref().is_none_or(|x| x == event.xid)
                && databases.iter().all(|d| *d == c.database)
        });
        event.by_tideline = caused.map(|c| c.what.clone());
    }
}

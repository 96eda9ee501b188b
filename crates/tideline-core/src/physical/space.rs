//! Refusing a base backup that cannot fit, before pg_basebackup writes anything: the cluster's
//! size (every database, plus the WAL the backup streams, roughly one segment per database
//! checkpoint — small beside the data) against the repository's free space. Compressed tar
//! archives need about a third (realistic rows compress better); an incremental backup only
//! holds changed blocks and is not estimated.

use crate::error::Result;
use crate::pg::server::query_failed;
use std::path::Path;
use tokio_postgres::Client;

pub(crate) async fn check_space(client: &Client, dir: &Path, compressed: bool, incremental: bool) -> Result<()> {
    if incremental {
        return Ok(());
    }
    let size = client.query_one("SELECT sum(pg_database_size(oid))::bigint FROM pg_database WHERE datallowconn", &[]);
    // A role that may not read every database's size still may back up: then nothing is estimated.
    let size: i64 = match size.await {
        Ok(row) => row.get::<_, Option<i64>>(0).unwrap_or(0),
        Err(e) => {
            tracing::warn!(error = %query_failed("reading the cluster's size")(e).message, "no space check");
            return Ok(());
        }
    };
    let needed = if compressed { size as u64 / 3 } else { size as u64 };
    crate::repo::check_room(dir, needed, "this base backup")
}

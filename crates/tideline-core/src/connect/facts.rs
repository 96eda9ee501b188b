//! What "Test connection" reports about a server.

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DatabaseSize {
    pub name: String,
    #[ts(type = "number")]
    pub size_bytes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ServerFacts {
    pub server_version: String,
    pub major: u32,
    pub current_user: String,
    pub is_superuser: bool,
    pub can_replicate: bool,
    pub wal_level: String,
    pub archive_mode: String,
    pub archive_command: String,
    pub max_wal_senders: i32,
    pub databases: Vec<DatabaseSize>,
    pub round_trip_ms: f64,
    pub tls: bool,
    pub tested_at: String,
}

const FACTS_SQL: &str = "SELECT current_setting('server_version'),
        current_setting('server_version_num')::int,
        current_user::text,
        r.rolsuper, r.rolreplication,
        coalesce(current_setting('wal_level', true), ''),
        coalesce(current_setting('archive_mode', true), ''),
        coalesce(current_setting('archive_command', true), ''),
        coalesce(current_setting('max_wal_senders', true), '0')::int,
        coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)
    FROM pg_roles r WHERE r.rolname = current_user";

// pg_database_size needs CONNECT on the database (or pg_read_all_stats); list only those.
const DATABASES_SQL: &str = "SELECT datname::text, pg_database_size(oid)
    FROM pg_database
    WHERE datallowconn AND NOT datistemplate AND has_database_privilege(oid, 'CONNECT')
    ORDER BY datname";

async fn databases_on(
    client: &tokio_postgres::Client,
) -> std::result::Result<Vec<DatabaseSize>, tokio_postgres::Error> {
    Ok(client
        .query(DATABASES_SQL, &[])
        .await?
        .iter()
        .map(|r| DatabaseSize { name: r.get(0), size_bytes: r.get(1) })
        .collect())
}

impl Engine {
    /// The databases the profile's role can connect to, with their sizes.
    pub async fn databases(&self, name: &str) -> Result<Vec<DatabaseSize>> {
        let profile = self.profile(name)?;
        let password = self.password(&profile)?;
        let draft = profile.draft();
        let client = super::connect(&draft, password.as_ref()).await?;
        databases_on(&client).await.map_err(|e| {
            Error::new(
                ErrorCode::ServerError,
                format!("listing the databases on {} failed: {e}", draft.target()),
                "The log file has details.",
            )
        })
    }

    /// Connects with the profile's settings and stored password and reports the server.
    pub async fn test_profile(&self, name: &str) -> Result<ServerFacts> {
        let profile = self.profile(name)?;
        let password = self.password(&profile)?;
        let draft = profile.draft();
        let client = super::connect(&draft, password.as_ref()).await?;
        let query_failed = |e: tokio_postgres::Error| {
            Error::new(
                ErrorCode::ServerError,
                format!("a query on {} failed: {e}", draft.target()),
                "The log file has details.",
            )
        };
        let row = client.query_one(FACTS_SQL, &[]).await.map_err(query_failed)?;
        let mut rtts = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            client.simple_query("SELECT 1").await.map_err(query_failed)?;
            rtts.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        rtts.sort_by(f64::total_cmp);
        let databases = databases_on(&client).await.map_err(query_failed)?;
        let num: i32 = row.get(1);
        let facts = ServerFacts {
            server_version: row.get(0),
            major: (num / 10000) as u32,
            current_user: row.get(2),
            is_superuser: row.get(3),
            can_replicate: row.get(4),
            wal_level: row.get(5),
            archive_mode: row.get(6),
            archive_command: row.get(7),
            max_wal_senders: row.get(8),
            databases,
            round_trip_ms: (rtts[rtts.len() / 2] * 100.0).round() / 100.0,
            tls: row.get(9),
            tested_at: self.clock.now_rfc3339(),
        };
        tracing::info!(profile = %name, version = %facts.server_version, rtt_ms = facts.round_trip_ms, "connection tested");
        Ok(facts)
    }
}

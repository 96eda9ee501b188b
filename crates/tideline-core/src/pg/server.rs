//! What a server says: its errors in its own words, its version and its identity.

use crate::error::{Error, ErrorCode, Result};
use tokio_postgres::Client;

pub fn query_failed(what: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
    move |e| {
        // tokio-postgres displays a server error as just "db error"; the server's words are inside.
        let detail = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
        Error::new(ErrorCode::ServerError, format!("{what} failed: {detail}"), "The log file has details.")
    }
}

pub async fn server_version(client: &Client) -> Result<(String, u32)> {
    let row = client
        .query_one("SELECT current_setting('server_version'), current_setting('server_version_num')::int", &[])
        .await
        .map_err(query_failed("reading the server version"))?;
    let num: i32 = row.get(1);
    Ok((row.get(0), (num / 10000) as u32))
}

/// The cluster's system identifier, as text (what the repository and the catalog key it by).
pub async fn system_identifier(client: &Client) -> Result<String> {
    Ok(client
        .query_one("SELECT system_identifier::text FROM pg_control_system()", &[])
        .await
        .map_err(query_failed("reading the cluster's identity"))?
        .get(0))
}

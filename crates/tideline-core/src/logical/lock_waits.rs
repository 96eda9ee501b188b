//! Autovacuum yielding to a restore. Autovacuum visits tables soon after a restore has loaded
//! them; a restore step that then needs the table (building an index, adding a constraint,
//! dropping it under `--clean`) waits `deadlock_timeout` — one second by default — before the
//! server cancels the autovacuum worker. Measured on an 8-table, 1.2 GB restore with pg_restore
//! in one job: 0 to 6 such stalls per run, each a full second with both cores idle. The
//! restore's own sessions therefore run with a short `deadlock_timeout`, so the worker is
//! cancelled almost at once. Only the restore's sessions change; the server's setting, and
//! every other session, stay as they are.

use super::dump::query_failed;
use crate::error::Result;
use tokio_postgres::Client;

/// How long a restore session waits on a lock before the server checks for deadlocks — and
/// cancels an autovacuum worker holding the lock. Long enough that waits between the restore's
/// own jobs (a foreign key waiting for an index) rarely run the deadlock check at all.
pub(crate) const RESTORE_DEADLOCK_TIMEOUT_MS: i32 = 100;

/// The libpq `PGOPTIONS` for the restore's sessions, when the login may shorten the setting
/// and the server's own is longer; `None` leaves the server's setting. Setting it needs a
/// superuser or, from PostgreSQL 15, `GRANT SET ON PARAMETER deadlock_timeout`: a connection
/// asking for a setting it may not change is refused outright, so this asks first.
pub(crate) async fn restore_session_options(client: &Client, server_major: u32) -> Result<Option<String>> {
    let allowed = if server_major >= 15 {
        "has_parameter_privilege('deadlock_timeout', 'SET')"
    } else {
        "current_setting('is_superuser') = 'on'"
    };
    let row = client
        .query_one(&format!("SELECT {allowed}, setting::int FROM pg_settings WHERE name = 'deadlock_timeout'"), &[])
        .await
        .map_err(query_failed("reading deadlock_timeout"))?;
    let (may_set, server_ms): (bool, i32) = (row.get(0), row.get(1));
    let options = (may_set && server_ms > RESTORE_DEADLOCK_TIMEOUT_MS)
        .then(|| format!("-c deadlock_timeout={RESTORE_DEADLOCK_TIMEOUT_MS}ms"));
    tracing::info!(
        may_set,
        server_ms,
        shortened = options.is_some(),
        "restore sessions: lock waits before autovacuum is cancelled"
    );
    Ok(options)
}

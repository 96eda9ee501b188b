//! Autovacuum yielding to a restore. Autovacuum visits tables soon after a restore has loaded
//! them; a restore step that then needs the table (building an index, adding a constraint,
//! dropping it under `--clean`) waits `deadlock_timeout` — one second by default — before the
//! server cancels the autovacuum worker (never one preventing wraparound): a full second with
//! both cores idle, several times per restore (docs/benchmarks.md, "Measurements behind
//! defaults"). The restore's own sessions therefore run with a short
//! `deadlock_timeout`, so the worker is cancelled almost at once. Only the restore's sessions
//! change; the server's setting, and every other session, stay as they are.
//!
//! Restores that create their tables inside one transaction (`--single-transaction` into a new
//! database, `--into-schema`'s last step) cannot meet autovacuum on them and gain nothing.

use crate::profile::ProfileDraft;
use crate::secret::Secret;
use tokio_postgres::Client;

/// How long a restore session waits on a lock before the server checks for deadlocks — and
/// cancels an autovacuum worker holding the lock. Long enough that waits between the restore's
/// own jobs (a foreign key waiting for an index) rarely run the deadlock check at all.
pub(crate) const RESTORE_DEADLOCK_TIMEOUT_MS: i32 = 100;

const SETTING_SQL: &str = "SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout'";
/// Whether the login (not a role it has switched to: the server checks startup options against
/// the login) may set it.
const MAY_SET_SQL_15: &str = "SELECT has_parameter_privilege(session_user, 'deadlock_timeout', 'SET')";
const MAY_SET_SQL_OLDER: &str = "SELECT rolsuper FROM pg_roles WHERE rolname = session_user";

/// The libpq `PGOPTIONS` for a restore's sessions, or `None` to leave the server's setting:
/// when it is already this short, when the login may not set it (a superuser may or, from
/// PostgreSQL 15, a login granted `SET ON PARAMETER deadlock_timeout`), or when a trial
/// connection asking for it (to `draft`, where `admin` is connected) does not get it — a pooler
/// may refuse startup options altogether. The tool's connections would be refused outright, so
/// the server is asked first, and nothing here fails a restore.
pub(crate) async fn restore_session_options(
    admin: &Client,
    draft: &ProfileDraft,
    password: Option<&Secret>,
    server_major: u32,
) -> Option<String> {
    let server_ms: i32 = match admin.query_one(SETTING_SQL, &[]).await {
        Ok(row) => row.get(0),
        Err(e) => {
            tracing::info!(error = %e, "restore sessions keep the server's deadlock_timeout: it could not be read");
            return None;
        }
    };
    let options = format!("-c deadlock_timeout={RESTORE_DEADLOCK_TIMEOUT_MS}ms");
    let may_set = if server_major >= 15 { MAY_SET_SQL_15 } else { MAY_SET_SQL_OLDER };
    let granted = if server_ms <= RESTORE_DEADLOCK_TIMEOUT_MS {
        Err("the server's own is as short".to_string())
    } else {
        match admin.query_one(may_set, &[]).await.map(|row| row.get::<_, bool>(0)) {
            Ok(true) => match crate::connect::connect_with_options(draft, password, &options).await {
                Ok(trial) => match trial.query_one(SETTING_SQL, &[]).await {
                    Ok(row) if row.get::<_, i32>(0) == RESTORE_DEADLOCK_TIMEOUT_MS => Ok(()),
                    Ok(row) => Err(format!("the trial session got {} ms", row.get::<_, i32>(0))),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.message),
            },
            Ok(false) => Err("the login may not set deadlock_timeout".to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    let refused = granted.as_ref().err().map(String::as_str).unwrap_or("");
    tracing::info!(
        server_ms,
        shortened = granted.is_ok(),
        refused,
        "restore sessions: lock waits before autovacuum is cancelled"
    );
    granted.ok().map(|()| options)
}

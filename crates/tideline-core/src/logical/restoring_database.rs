//! A restore into a new database writes under a working name and takes the asked-for name only
//! when it has succeeded: a Tideline killed mid-restore (SIGKILL, a crash, a power cut) left a
//! half-filled database under the name the user asked for, which looked restored, and the next
//! restore into that name was refused as "not empty". The working database carries its writer
//! (a comment `tideline restore <pid:start>@<host>`), so the next restore into the same name on
//! this machine drops one whose writer is gone.

use crate::error::{Error, ErrorCode, Result};
use crate::pg::server::query_failed;
use crate::pg::table_names::quote_ident;
use tokio_postgres::Client;

const MARK: &str = "tideline restore ";

/// The working name for a restore into `database`: short (63 bytes is PostgreSQL's limit) and
/// the same for the same target, so a leftover is found again.
pub fn working_name(database: &str) -> String {
    format!("tideline_restoring_{}", &blake3::hash(database.as_bytes()).to_hex()[..16])
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

fn writer_mark() -> String {
    format!("{MARK}{}@{}", crate::process::this_process(), host())
}

/// Creates the working database, after dropping one a stopped restore on this machine left.
/// One being written by a live restore (or from another machine) is never touched.
pub(crate) async fn create(admin: &Client, working: &str, final_name: &str) -> Result<()> {
    let db = quote_ident(working);
    let mut attempts = 0;
    loop {
        drop_abandoned(admin, working, final_name).await?;
        let e = match admin.batch_execute(&format!("CREATE DATABASE {db} TEMPLATE template0")).await {
            Ok(()) => break,
            Err(e) => e,
        };
        // Before 15, a killed restore's CREATE DATABASE goes on after its client is gone (it
        // waits for a checkpoint): the name is taken before anyone can see it, and ours fails
        // as a duplicate once that one commits. Then it is there to be judged: look again.
        use tokio_postgres::error::SqlState;
        let taken = [SqlState::UNIQUE_VIOLATION, SqlState::DUPLICATE_DATABASE].iter().any(|c| e.code() == Some(c));
        attempts += 1;
        if !taken || attempts >= 25 {
            return Err(query_failed("creating the target database")(e));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mark = writer_mark().replace('\'', "''");
    admin
        .batch_execute(&format!("COMMENT ON DATABASE {db} IS '{mark}'"))
        .await
        .map_err(query_failed("marking the database being restored"))
}

/// Drops the working database a stopped restore on this machine left, if there is one; one a
/// live restore (or another machine) is writing is refused.
async fn drop_abandoned(admin: &Client, working: &str, final_name: &str) -> Result<()> {
    let comment: Option<Option<String>> = admin
        .query_opt("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", &[&working])
        .await
        .map_err(query_failed("looking for an earlier restore's database"))?
        .map(|r| r.get(0));
    let Some(comment) = comment else { return Ok(()) };
    let writer = comment.as_deref().and_then(|c| c.strip_prefix(MARK)).and_then(|w| w.rsplit_once('@'));
    let abandoned = match (&comment, writer) {
        (_, Some((process, at))) => at == host() && !crate::process::process_alive(process),
        // Unmarked: its writer died between CREATE DATABASE and the mark — likely before
        // 15, whose CREATE DATABASE waits for a checkpoint and finishes on the server after
        // the client is gone. A live writer marks it within milliseconds of its creation and
        // nobody else connects to it before then.
        (None, None) => sessions_in(admin, working).await? == 0,
        (Some(_), None) => false,
    };
    if !abandoned {
        return Err(Error::new(
            ErrorCode::BackupInProgress,
            format!("another restore into '{final_name}' is running on this server (database {working})"),
            "Wait for it to finish, or restore under another name (--to-db).",
        ));
    }
    tracing::info!(database = %working, "dropping what a stopped restore left");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(working)))
        .await
        .map_err(query_failed("dropping what a stopped restore left"))
}

async fn sessions_in(admin: &Client, database: &str) -> Result<i64> {
    Ok(admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", &[&database])
        .await
        .map_err(query_failed("looking for sessions in an earlier restore's database"))?
        .get(0))
}

/// Gives the restored database its name (and drops the working mark). A rename needs the
/// database to have no sessions: a connection pooler keeps the restore's server connections
/// open, and a parallel restore's last ones may still be closing. The database is this
/// restore's own, so its other sessions are ended, and the rename tried again.
pub(crate) async fn finish(admin: &Client, working: &str, final_name: &str) -> Result<()> {
    let (from, to) = (quote_ident(working), quote_ident(final_name));
    admin.batch_execute(&format!("COMMENT ON DATABASE {from} IS NULL")).await.map_err(query_failed("unmarking"))?;
    let rename = format!("ALTER DATABASE {from} RENAME TO {to}");
    let mut attempts = 0;
    loop {
        let e = match admin.batch_execute(&rename).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let in_use = e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE);
        attempts += 1;
        if !in_use || attempts >= 25 {
            let e = query_failed("naming the restored database")(e);
            return Err(Error::new(
                ErrorCode::TargetNotEmpty,
                format!("{}; the restored copy stays as '{working}'", e.message),
                "Rename it yourself once nothing uses it (ALTER DATABASE … RENAME TO …), or drop whichever of the two you do not need.",
            ));
        }
        let _ = admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&working],
            )
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

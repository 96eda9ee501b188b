//! `tideline mark PROFILE NAME`: a named restore point (`pg_create_restore_point`), recorded
//! with its LSN, timeline and time so the timeline can show it and PITR can target it.

use crate::catalog::restore_points::RestorePoint;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::pg::server::query_failed;

impl Engine {
    pub async fn mark(&self, profile_name: &str, name: &str) -> Result<RestorePoint> {
        if name.trim().is_empty() || name.len() >= 64 {
            return Err(Error::invalid_input(
                "a restore point needs a name of 1 to 63 characters",
                "Name the moment, e.g. `before-migration-42`.",
            ));
        }
        let profile = self.profile(profile_name)?;
        let password = self.password(&profile)?;
        let client = crate::connect::connect(&profile.draft(), password.as_ref()).await?;
        let row = client
            .query_one(
                "SELECT pg_create_restore_point($1)::text,
                        (SELECT system_identifier::text FROM pg_control_system()),
                        (SELECT timeline_id FROM pg_control_checkpoint())",
                &[&name],
            )
            .await
            .map_err(|e| {
                let text = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
                if text.contains("permission denied") || text.contains("must be superuser") {
                    Error::new(
                        ErrorCode::AccessDenied,
                        format!("{} may not create restore points: {text}", profile.draft().user),
                        "pg_create_restore_point needs a superuser, or `GRANT EXECUTE ON FUNCTION pg_create_restore_point(text) TO …`.",
                    )
                } else if text.contains("WAL level not sufficient") {
                    Error::new(
                        ErrorCode::ServerError,
                        format!("the server cannot create restore points: {text}"),
                        "Set wal_level to replica (`tideline wal setup --apply`) and restart the server.",
                    )
                } else {
                    query_failed("creating the restore point")(e)
                }
            })?;
        let point = RestorePoint {
            system_identifier: row.get(1),
            name: name.to_string(),
            profile: profile.name.clone(),
            lsn: row.get(0),
            timeline: row.get::<_, i32>(2) as u32,
            created_at: self.clock.now_rfc3339(),
        };
        self.catalog().record_restore_point(&point)?;
        tracing::info!(profile = %profile.name, name, lsn = %point.lsn, "restore point created");
        Ok(point)
    }
}

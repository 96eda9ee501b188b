//! Schedules and their runs. Starting a run is one IMMEDIATE transaction (SQLite's write lock):
//! stale runs are recovered, the schedule's own running run and the concurrency limit are
//! checked, and the run row is inserted under a unique (schedule, occurrence, kind) key — two
//! runners racing for the same occurrence cannot both get it.

use super::Catalog;
use crate::error::{Error, Result};
use crate::schedule::{RunKind, ScheduleRecord, ScheduleRun, ScheduleSpec};

fn spec_of(json: &str) -> Result<ScheduleSpec> {
    serde_json::from_str(json).map_err(|e| Error::internal(format!("a schedule in the catalog is damaged: {e}")))
}

fn run_of(r: &rusqlite::Row) -> rusqlite::Result<ScheduleRun> {
    Ok(ScheduleRun {
        id: r.get(0)?,
        schedule_id: r.get(1)?,
        occurrence: r.get(2)?,
        kind: RunKind::from_name(&r.get::<_, String>(3)?),
        status: super::named_column(r, 4, crate::schedule::RunStatus::from_name)?,
        runner: r.get(5)?,
        pid: r.get(6)?,
        started_at: r.get(7)?,
        heartbeat_at: r.get(8)?,
        finished_at: r.get(9)?,
        // Stored joined: ids have no commas.
        backup_ids: r
            .get::<_, Option<String>>(10)?
            .map(|ids| ids.split(',').filter(|i| !i.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
        error: r.get(11)?,
    })
}

const RUN_COLUMNS: &str =
    "id, schedule_id, occurrence, kind, status, runner, pid, started_at, heartbeat_at, finished_at, backup_id, error";

/// Why a run was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// This schedule already has a run going.
    AlreadyRunning,
    /// Another runner took this occurrence first.
    Taken,
    /// As many runs as allowed are going (across profiles).
    AtLimit,
}

impl Catalog {
    pub fn save_schedule(&self, s: &ScheduleRecord) -> Result<()> {
        let spec = serde_json::to_string(&s.spec).map_err(|e| Error::internal(e.to_string()))?;
        self.conn.execute(
            &format!(
                "INSERT OR REPLACE INTO schedules (id, profile, spec, enabled, created_at, considered_until, profile_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, {})",
                super::profile_id_of(2)
            ),
            rusqlite::params![s.id, s.spec.profile, spec, s.enabled, s.created_at, s.considered_until],
        )?;
        Ok(())
    }

    pub fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, spec, enabled, created_at, considered_until, {} FROM schedules ORDER BY created_at, id",
            super::owner_name("schedules")
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, spec, enabled, created_at, considered_until, owner) = row?;
            // The profile it belongs to now: a renamed profile's schedules follow it.
            let spec = ScheduleSpec { profile: owner, ..spec_of(&spec)? };
            out.push(ScheduleRecord { id, spec, enabled, created_at, considered_until });
        }
        Ok(out)
    }

    pub fn delete_schedule(&self, id: &str) -> Result<bool> {
        let n = self.conn.execute("DELETE FROM schedules WHERE id = ?1", [id])?;
        self.conn.execute("DELETE FROM schedule_runs WHERE schedule_id = ?1 AND status != 'running'", [id])?;
        Ok(n > 0)
    }

    pub fn schedule_runs(&self, schedule_id: &str) -> Result<Vec<ScheduleRun>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ?1 ORDER BY occurrence, id"
        ))?;
        let rows = stmt.query_map([schedule_id], run_of)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Starts a run if nothing forbids it; records `missed` occurrences (once) and moves the
    /// schedule's `considered_until` to `until`.
    #[allow(clippy::too_many_arguments)]
    pub fn start_schedule_run(
        &self,
        schedule_id: &str,
        occurrence: &str,
        kind: RunKind,
        missed: &[String],
        until: &str,
        runner: &str,
        now: &str,
        limit: u32,
    ) -> Result<std::result::Result<i64, Refused>> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| -> Result<std::result::Result<i64, Refused>> {
            for m in missed {
                self.conn.execute(
                    "INSERT OR IGNORE INTO schedule_runs (schedule_id, occurrence, kind, status, runner)
                     VALUES (?1, ?2, 'missed', 'missed', ?3)",
                    rusqlite::params![schedule_id, m, runner],
                )?;
            }
            let mine: i64 = self.conn.query_row(
                "SELECT count(*) FROM schedule_runs WHERE schedule_id = ?1 AND status = 'running'",
                [schedule_id],
                |r| r.get(0),
            )?;
            let all: i64 =
                self.conn.query_row("SELECT count(*) FROM schedule_runs WHERE status = 'running'", [], |r| r.get(0))?;
            let refused = if mine > 0 {
                Some(Refused::AlreadyRunning)
            } else if all >= i64::from(limit) {
                Some(Refused::AtLimit)
            } else {
                None
            };
            if let Some(r) = refused {
                // Missed occurrences stay recorded; the due one stays due.
                return Ok(Err(r));
            }
            let inserted = self.conn.execute(
                "INSERT OR IGNORE INTO schedule_runs (schedule_id, occurrence, kind, status, runner, pid, started_at, heartbeat_at)
                 VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?6)",
                rusqlite::params![schedule_id, occurrence, kind.name(), runner, std::process::id(), now],
            )?;
            self.conn.execute(
                "UPDATE schedules SET considered_until = max(considered_until, ?2) WHERE id = ?1",
                rusqlite::params![schedule_id, until],
            )?;
            if inserted == 0 {
                return Ok(Err(Refused::Taken));
            }
            Ok(Ok(self.conn.last_insert_rowid()))
        })();
        match &result {
            Ok(_) => self.conn.execute_batch("COMMIT")?,
            Err(_) => {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
        }
        result
    }

    /// Moves `considered_until` on without a run (only missed occurrences, catch-up off).
    pub fn consider_schedule_until(
        &self,
        schedule_id: &str,
        missed: &[String],
        until: &str,
        runner: &str,
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for m in missed {
            tx.execute(
                "INSERT OR IGNORE INTO schedule_runs (schedule_id, occurrence, kind, status, runner)
                 VALUES (?1, ?2, 'missed', 'missed', ?3)",
                rusqlite::params![schedule_id, m, runner],
            )?;
        }
        tx.execute(
            "UPDATE schedules SET considered_until = max(considered_until, ?2) WHERE id = ?1",
            rusqlite::params![schedule_id, until],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn heartbeat_schedule_run(&self, run_id: i64, now: &str) -> Result<()> {
        self.conn
            .execute("UPDATE schedule_runs SET heartbeat_at = ?2 WHERE id = ?1", rusqlite::params![run_id, now])?;
        Ok(())
    }

    pub fn finish_schedule_run(
        &self,
        run_id: i64,
        status: crate::schedule::RunStatus,
        now: &str,
        backup_ids: &[String],
        error: Option<&str>,
    ) -> Result<()> {
        let backup_id = (!backup_ids.is_empty()).then(|| backup_ids.join(","));
        self.conn.execute(
            "UPDATE schedule_runs SET status = ?2, finished_at = ?3, backup_id = ?4, error = ?5 WHERE id = ?1",
            rusqlite::params![run_id, status.name(), now, backup_id, error],
        )?;
        Ok(())
    }

    /// Runs marked running whose runner is gone: `crashed`, so the schedule can run again.
    pub fn recover_stale_runs(&self, is_stale: &dyn Fn(&ScheduleRun) -> bool, now: &str) -> Result<Vec<ScheduleRun>> {
        let mut stmt =
            self.conn.prepare(&format!("SELECT {RUN_COLUMNS} FROM schedule_runs WHERE status = 'running'"))?;
        let running: Vec<ScheduleRun> = stmt.query_map([], run_of)?.collect::<rusqlite::Result<_>>()?;
        let mut recovered = Vec::new();
        for r in running.into_iter().filter(|r| is_stale(r)) {
            self.conn.execute(
                "UPDATE schedule_runs SET status = 'crashed', finished_at = ?2,
                   error = 'the runner stopped before the run finished' WHERE id = ?1 AND status = 'running'",
                rusqlite::params![r.id, now],
            )?;
            recovered.push(r);
        }
        Ok(recovered)
    }
}

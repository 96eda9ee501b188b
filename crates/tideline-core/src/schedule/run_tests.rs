//! Runners against a real catalog, with a manual clock and work that is told when to finish:
//! on-time runs, missed occurrences and one catch-up, no double start by two runners, a
//! crashed run's lock recovered, failures recorded. (The real work — backups — is run by the
//! CLI test of `schedule run-due` against a server.)

use super::run::{ScheduledWork, WorkFuture, DEFAULT_LIMIT};
use super::when::When;
use super::{RunKind, ScheduleSpec, ScheduleWhat};
use crate::catalog::schedules::Refused;
use crate::clock::ManualClock;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode};
use crate::keychain::MemorySecrets;
use crate::profile::ProfileDraft;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

fn at(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap()
}

fn engine(dir: &std::path::Path, clock: Arc<ManualClock>) -> Engine {
    Engine::open(dir, Arc::new(MemorySecrets::default()), clock).unwrap()
}

/// Counts its runs; fails when told to; waits for `release` when given one.
#[derive(Default)]
struct Work {
    runs: AtomicU32,
    fail: bool,
    started: Notify,
    release: Option<Arc<Notify>>,
}

impl ScheduledWork for Work {
    fn run<'a>(&'a self, _: &'a Engine, _: &'a ScheduleSpec) -> WorkFuture<'a> {
        Box::pin(async move {
            let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            self.started.notify_one();
            if let Some(r) = &self.release {
                r.notified().await;
            }
            if self.fail {
                return Err(Error::new(ErrorCode::ToolFailed, "pg_dump failed".to_string(), "it was told to"));
            }
            Ok(vec![format!("backup-{n}")])
        })
    }
}

fn hourly(e: &Engine, catch_up: bool) -> String {
    e.add_profile(&ProfileDraft { name: "p".into(), ..ProfileDraft::default() }, None).ok();
    let spec = ScheduleSpec {
        profile: "p".into(),
        what: ScheduleWhat::Database { database: None },
        when: When::Hourly { minute: 0 },
        time_zone: "UTC".into(),
        catch_up,
        retention: Default::default(),
    };
    e.schedule_add(spec).unwrap().record.id
}

#[tokio::test]
async fn runs_on_time_records_missed_occurrences_and_catches_up_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(at("2026-03-01T00:30:00Z")));
    let e = engine(dir.path(), clock.clone());
    let id = hourly(&e, true);
    let work = Work::default();

    // Nothing due yet; at 01:02 the 01:00 run starts, on time; again at 01:05, nothing.
    assert!(e.schedule_run_due("test", &work, DEFAULT_LIMIT).await.unwrap().ran.is_empty());
    clock.set(at("2026-03-01T01:02:00Z"));
    let r = e.schedule_run_due("test", &work, DEFAULT_LIMIT).await.unwrap();
    assert_eq!(r.ran.len(), 1);
    assert_eq!(
        (r.ran[0].occurrence.as_str(), r.ran[0].kind, r.ran[0].status.name()),
        ("2026-03-01T01:00:00Z", RunKind::Scheduled, "succeeded")
    );
    assert_eq!(r.ran[0].backup_ids, ["backup-1"]);
    clock.set(at("2026-03-01T01:05:00Z"));
    assert!(e.schedule_run_due("test", &work, DEFAULT_LIMIT).await.unwrap().ran.is_empty());

    // Asleep until 05:20: 02:00 to 05:00 were missed; one catch-up runs, not four.
    clock.set(at("2026-03-01T05:20:00Z"));
    let r = e.schedule_run_due("test", &work, DEFAULT_LIMIT).await.unwrap();
    let missed: Vec<&str> = r.missed.iter().map(|(_, o)| o.as_str()).collect();
    assert_eq!(
        missed,
        ["2026-03-01T02:00:00Z", "2026-03-01T03:00:00Z", "2026-03-01T04:00:00Z", "2026-03-01T05:00:00Z"]
    );
    assert_eq!(r.ran.len(), 1);
    assert_eq!(r.ran[0].kind, RunKind::CatchUp);
    assert_eq!(work.runs.load(Ordering::SeqCst), 2);
    // The history says so, and asking again changes nothing.
    assert!(e.schedule_run_due("test", &work, DEFAULT_LIMIT).await.unwrap().missed.is_empty());
    let runs = e.catalog().schedule_runs(&id).unwrap();
    assert_eq!(runs.iter().filter(|r| r.status == super::RunStatus::Missed).count(), 4);
    assert_eq!(runs.iter().filter(|r| r.status == super::RunStatus::Succeeded).count(), 2);

    // Without catch-up, missed occurrences are only recorded.
    let dir2 = tempfile::tempdir().unwrap();
    let e2 = engine(dir2.path(), clock.clone());
    clock.set(at("2026-03-01T05:30:00Z"));
    hourly(&e2, false);
    clock.set(at("2026-03-01T09:30:00Z"));
    let r = e2.schedule_run_due("test", &work, DEFAULT_LIMIT).await.unwrap();
    assert_eq!((r.ran.len(), r.missed.len()), (0, 4));
}

#[tokio::test]
async fn two_runners_never_start_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(at("2026-03-01T00:30:00Z")));
    let first = engine(dir.path(), clock.clone());
    let second = engine(dir.path(), clock.clone());
    let id = hourly(&first, true);
    let first_again = engine(dir.path(), clock.clone());
    clock.set(at("2026-03-01T01:01:00Z"));
    let release = Arc::new(Notify::new());
    let slow = Arc::new(Work { release: Some(release.clone()), ..Work::default() });
    let other = Work::default();

    // The first runner takes the 01:00 run and is still at it when the second looks.
    let (r, looked) = tokio::join!(first.schedule_run_due("first", slow.as_ref(), DEFAULT_LIMIT), async {
        slow.started.notified().await;
        let r = second.schedule_run_due("second", &other, DEFAULT_LIMIT).await.unwrap();
        release.notify_one();
        r
    });
    assert!(looked.ran.is_empty(), "{looked:?}");
    let r = r.unwrap();
    assert_eq!(r.ran.len(), 1);
    assert_eq!((slow.runs.load(Ordering::SeqCst), other.runs.load(Ordering::SeqCst)), (1, 0));
    // Finished: the second runner finds nothing more to do for 01:00.
    assert!(second.schedule_run_due("second", &other, DEFAULT_LIMIT).await.unwrap().ran.is_empty());

    // Had both seen 02:00 due at once, the lock decides: one run going refuses another, and an
    // occurrence taken once is never taken again.
    clock.set(at("2026-03-01T02:01:00Z"));
    let now = "2026-03-01T02:01:00Z";
    let take = |e: &Engine| {
        e.catalog()
            .start_schedule_run(&id, "2026-03-01T02:00:00Z", RunKind::Scheduled, &[], now, "racer", now, 2)
            .unwrap()
    };
    let won = take(&first_again).expect("the first gets it");
    assert_eq!(take(&second), Err(Refused::AlreadyRunning));
    first_again.catalog().finish_schedule_run(won, super::RunStatus::Succeeded, now, &[], None).unwrap();
    assert_eq!(take(&second), Err(Refused::Taken));
}

#[tokio::test]
async fn a_crashed_runs_lock_is_recovered_and_failures_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(at("2026-03-01T00:30:00Z")));
    let e = engine(dir.path(), clock.clone());
    let id = hourly(&e, true);
    clock.set(at("2026-03-01T01:01:00Z"));
    // A runner that died mid-run: its row says running, under a process that is gone.
    let taken = e
        .catalog()
        .start_schedule_run(
            &id,
            "2026-03-01T01:00:00Z",
            RunKind::Scheduled,
            &[],
            "2026-03-01T01:01:00Z",
            "dead",
            "2026-03-01T01:01:00Z",
            2,
        )
        .unwrap()
        .unwrap();
    e.catalog().conn.execute("UPDATE schedule_runs SET pid = 999999999 WHERE id = ?1", [taken]).unwrap();

    clock.set(at("2026-03-01T02:01:00Z"));
    let failing = Work { fail: true, ..Work::default() };
    let r = e.schedule_run_due("test", &failing, DEFAULT_LIMIT).await.unwrap();
    assert_eq!(r.recovered.len(), 1);
    assert_eq!(r.ran.len(), 1, "the schedule runs again once the dead run is recovered: {r:?}");
    assert_eq!(r.ran[0].status, super::RunStatus::Failed);
    assert_eq!(r.ran[0].error.as_deref(), Some("tool_failed: pg_dump failed"));
    let runs = e.catalog().schedule_runs(&id).unwrap();
    assert_eq!(runs.iter().map(|r| r.status.name()).collect::<Vec<_>>(), ["crashed", "failed"]);

    // A run that stopped beating its heart an hour ago is recovered too.
    clock.set(at("2026-03-01T03:01:00Z"));
    let hung = e
        .catalog()
        .start_schedule_run(
            &id,
            "2026-03-01T03:00:00Z",
            RunKind::Scheduled,
            &[],
            "2026-03-01T03:01:00Z",
            "hung",
            "2026-03-01T03:01:00Z",
            2,
        )
        .unwrap()
        .unwrap();
    clock.set(at("2026-03-01T04:30:00Z"));
    let r = e.schedule_run_due("test", &Work::default(), DEFAULT_LIMIT).await.unwrap();
    assert_eq!(r.recovered.iter().map(|r| r.id).collect::<Vec<_>>(), [hung]);
    assert_eq!(r.ran.len(), 1);
}

/// Moves the clock an hour per tick, `left` times.
struct Hours {
    clock: Arc<ManualClock>,
    left: u32,
}

impl super::agent::Ticker for Hours {
    fn tick(&mut self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            if self.left == 0 {
                return false;
            }
            self.left -= 1;
            self.clock.advance(chrono::Duration::hours(1));
            true
        })
    }
}

#[tokio::test]
async fn the_agent_runs_each_occurrence_as_its_tick_comes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(at("2026-03-01T00:01:00Z")));
    let e = engine(dir.path(), clock.clone());
    let id = hourly(&e, true);
    let work = Work::default();
    let mut ticks = Hours { clock: clock.clone(), left: 5 };
    let passes = e.schedule_agent("agent", &work, DEFAULT_LIMIT, &mut ticks).await.unwrap();
    // 01:01, 02:01 … 05:01: five on-time runs, nothing missed.
    assert_eq!(work.runs.load(Ordering::SeqCst), 5);
    assert_eq!(passes.len(), 5);
    let runs = e.catalog().schedule_runs(&id).unwrap();
    assert!(runs.iter().all(|r| r.kind == RunKind::Scheduled && r.status == super::RunStatus::Succeeded), "{runs:?}");
}

#[tokio::test]
async fn run_now_is_recorded_apart_and_refused_while_one_is_going() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(at("2026-03-01T00:30:00Z")));
    let e = engine(dir.path(), clock.clone());
    let other = engine(dir.path(), clock.clone());
    let id = hourly(&e, true);
    clock.set(at("2026-03-01T00:40:00Z"));
    let release = Arc::new(Notify::new());
    let slow = Work { release: Some(release.clone()), ..Work::default() };

    // While a run started by hand is going, a second one is refused with a code.
    let (run, refused) = tokio::join!(e.schedule_run_now(&id, "app", &slow), async {
        slow.started.notified().await;
        let refused = other.schedule_run_now(&id, "cli", &Work::default()).await;
        release.notify_one();
        refused
    });
    let run = run.unwrap();
    assert_eq!(
        (run.kind, run.status.name(), run.occurrence.as_str()),
        (RunKind::Manual, "succeeded", "2026-03-01T00:40:00Z")
    );
    assert_eq!(run.backup_ids, ["backup-1"]);
    assert_eq!(refused.unwrap_err().code, ErrorCode::ScheduleBusy);

    // The schedule's own times are untouched: 01:00 still runs, on time.
    clock.set(at("2026-03-01T01:01:00Z"));
    let r = e.schedule_run_due("test", &Work::default(), DEFAULT_LIMIT).await.unwrap();
    assert_eq!((r.ran.len(), r.missed.len()), (1, 0));
    assert_eq!(r.ran[0].kind, RunKind::Scheduled);
    assert_eq!(e.schedule_runs(&id).unwrap().len(), 2);
    assert_eq!(
        e.schedule_run_now("sch-none", "app", &Work::default()).await.unwrap_err().code,
        ErrorCode::ScheduleMissing
    );
}

//! Relation-name snapshots as the app takes them when it shows the timeline: one when the
//! cluster's newest is older than five minutes, none sooner (each connects to every database),
//! none and no error when the server does not answer.

use crate::support::{majors, password, TestCluster};
use std::sync::Arc;
use tideline_core::clock::ManualClock;

#[tokio::test(flavor = "multi_thread")]
async fn the_timeline_names_files_at_most_every_five_minutes() {
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    let home = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(chrono::Utc::now().fixed_offset()));
    let engine =
        tideline_core::Engine::open(home.path(), Arc::new(tideline_core::keychain::OsKeychain), clock.clone()).unwrap();
    let mut draft = pg.get().tcp_draft("p", "postgres", "postgres");
    draft.connect_timeout_secs = 5;
    engine.add_profile(&draft, Some(&tideline_core::Secret::new(&pw))).unwrap();
    let sysid = crate::support::psql(&pg, "postgres", "SELECT system_identifier FROM pg_control_system()");

    assert!(engine.snapshot_relation_names_if_due("p", &sysid).await, "none yet: one is taken");
    clock.advance(chrono::Duration::seconds(tideline_core::events::relation_names::SNAPSHOT_EVERY_SECS - 10));
    assert!(!engine.snapshot_relation_names_if_due("p", &sysid).await, "too soon after the last");
    clock.advance(chrono::Duration::seconds(20));
    assert!(engine.snapshot_relation_names_if_due("p", &sysid).await, "five minutes on: another");

    // A server that does not answer: no snapshot, no error (the timeline was drawn already).
    drop(pg);
    clock.advance(chrono::Duration::seconds(tideline_core::events::relation_names::SNAPSHOT_EVERY_SECS + 1));
    assert!(!engine.snapshot_relation_names_if_due("p", &sysid).await);
}

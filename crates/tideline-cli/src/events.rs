//! `tideline events`: destructive events read from the WAL.

use crate::args::EventsArgs;
use crate::output::Reply;
use tideline_core::events::rank::EventFilter;
use tideline_core::{Engine, Result};

/// `tideline events PROFILE`: most destructive first, one per line with its id.
pub async fn events(engine: &Engine, a: EventsArgs) -> Result<Reply> {
    let filter = EventFilter { from: a.from, to: a.to, min_rows: a.min_rows, min_share: a.min_percent / 100.0 };
    let report = engine.events(&a.profile, &filter).await?;
    let mut text = String::new();
    for e in &report.events {
        text.push_str(&format!("#{} {} {} (xid {}, LSN {}): {}\n", e.rank, e.id, e.time, e.xid, e.lsn, e.description));
    }
    if report.events.is_empty() {
        text.push_str("no destructive events in the WAL index\n");
    }
    match &report.names_as_of {
        Some(t) => text.push_str(&format!(
            "names as of {t}; restore to just before one: tideline pitr {} --before-event ID",
            report.profile
        )),
        None => text.push_str("no relation names yet (the server did not answer): events name relation files"),
    }
    Ok(Reply::of(&report, text))
}

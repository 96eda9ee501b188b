//! `tideline events`: destructive events read from the WAL.

use crate::args::EventsArgs;
use crate::output::Reply;
use tideline_core::events::rank::EventFilter;
use tideline_core::{Engine, Result};

/// `tideline events PROFILE`: in time order, one per line with its id, its severity and its
/// rank (#1 the most destructive); Tideline's own changes say so.
pub async fn events(engine: &Engine, a: EventsArgs) -> Result<Reply> {
    let filter = EventFilter { from: a.from, to: a.to, min_rows: a.min_rows, min_share: a.min_percent / 100.0 };
    let report = engine.events(&a.profile, &filter).await?;
    let mut text = String::new();
    for e in &report.events {
        let severity = format!("{:?}", e.severity).to_lowercase();
        text.push_str(&format!(
            "{} {severity:<6} #{} {} (xid {}, LSN {}): {}",
            e.time, e.rank, e.id, e.xid, e.lsn, e.description
        ));
        if let Some(what) = &e.by_tideline {
            text.push_str(&format!(" — by Tideline: {what}"));
        }
        text.push('\n');
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

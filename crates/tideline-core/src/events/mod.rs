//! "What happened, and just before which moment do I want to be": destructive events found in
//! the WAL index (`tideline events PROFILE`), on the timeline, and as recovery targets
//! (`tideline pitr PROFILE --before-event ID` stops just before the event's commit).

pub(crate) mod own_changes;
pub mod rank;
pub mod relation_names;
mod rows_before;

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use rank::{EventFilter, Names, WalEvent};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EventsReport {
    pub profile: String,
    pub system_identifier: String,
    /// In time order; each event's rank says how destructive it was among them.
    pub events: Vec<WalEvent>,
    /// When relation names were last read from the server (None: never; events name files).
    pub names_as_of: Option<String>,
    pub filter: EventFilter,
}

impl Engine {
    /// Events of cluster `sysid` from the catalog (summaries already ingested), by time.
    pub(crate) fn wal_events(&self, sysid: &str, home_database: &str, filter: &EventFilter) -> Result<Vec<WalEvent>> {
        let catalog = self.catalog();
        let mut names = Names::new(catalog.relation_files(sysid)?, catalog.relation_snapshots(sysid)?, home_database);
        let mut ended = Vec::new();
        for (timeline, tx) in catalog.ended_transactions(sysid)? {
            let mut xids: Vec<u32> = vec![tx.xid.parse().unwrap_or(0)];
            xids.extend(tx.subxacts.iter().filter_map(|x| x.parse::<u32>().ok()));
            let changes = catalog.transaction_changes(sysid, timeline, &xids)?;
            ended.push(rank::Ended { timeline, tx, changes });
        }
        let mut events = rank::events(&ended, &mut names, filter);
        own_changes::mark(&mut events, &catalog.own_changes(sysid)?, home_database);
        rank::rank(&mut events);
        Ok(events)
    }

    /// Refreshes relation names when the server answers, then lists the events, most
    /// destructive first.
    pub async fn events(&self, profile_name: &str, filter: &EventFilter) -> Result<EventsReport> {
        let profile = self.profile(profile_name)?;
        // Bounds as the index writes times (UTC, microseconds), so they compare as text.
        let utc = |t: &Option<String>| -> Result<Option<String>> {
            t.as_deref()
                .map(|t| {
                    crate::pg::recovery_target::parse_user_time(t)
                        .map(|t| t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                })
                .transpose()
        };
        let filter = EventFilter { from: utc(&filter.from)?, to: utc(&filter.to)?, ..filter.clone() };
        self.try_snapshot_relation_names(&profile.name).await;
        let view = self.timeline(&profile.name).await?;
        let sysid = view.window.system_identifier.clone();
        let mut events = self.wal_events(&sysid, &profile.database, &filter)?;
        events.sort_by_key(|e| (e.time.clone(), crate::pg::lsn::lsn(&e.lsn)));
        let names_as_of = self.catalog().relation_snapshots(&sysid)?.pop();
        Ok(EventsReport { profile: profile.name, system_identifier: sysid, events, names_as_of, filter })
    }

    /// The event `id` (`timeline:xid`) of cluster `sysid`, whatever the thresholds.
    pub(crate) fn find_event(&self, sysid: &str, home_database: &str, id: &str) -> Result<WalEvent> {
        let everything = EventFilter { min_rows: 0, min_share: 0.0, ..EventFilter::default() };
        self.wal_events(sysid, home_database, &everything)?.into_iter().find(|e| e.id == id).ok_or_else(|| {
            Error::new(
                ErrorCode::TargetInvalid,
                format!("no event {id} in the WAL index of this cluster"),
                "List them with `tideline events PROFILE` (ids are timeline:xid); `tideline wal index PROFILE` indexes WAL archived before summaries.",
            )
        })
    }
}

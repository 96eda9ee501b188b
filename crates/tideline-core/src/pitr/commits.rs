//! Commits in a WAL segment, read by Tideline's own WAL reader: the timeline's latest moment
//! (the last commit the archive holds) and a sandbox's reached point (the last commit replayed)
//! come from here — no pg_waldump process, no temporary file, any major 13–18.

use serde::{Deserialize, Serialize};
use tideline_wal::xact::Outcome;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Commit {
    pub xid: String,
    pub lsn: String,
    /// RFC 3339, UTC.
    pub time: String,
}

/// Every commit (COMMIT PREPARED included) that starts in `segment` — its bytes, a whole
/// segment or a `.partial` — in WAL order. A commit record that runs on into the next segment
/// is not complete here and not listed (pg_waldump on one file behaves alike).
pub fn commits_in(segment: &[u8]) -> Vec<Commit> {
    let mut out = Vec::new();
    let mut reader = tideline_wal::Reader::new(true);
    let _ = reader.feed_segment(segment, &mut |r| {
        if let Some(x) = tideline_wal::xact::parse(r).filter(|x| x.outcome == Outcome::Commit) {
            let time = chrono::DateTime::from_timestamp_micros(x.unix_micros())
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false))
                .unwrap_or_default();
            out.push(Commit { xid: x.xid.to_string(), lsn: tideline_wal::lsn_text(x.lsn), time });
        }
    });
    out
}

//! Bringing the catalog up to date with the repository's WAL summaries (`ingest`), and
//! `tideline wal index PROFILE`: summarising archived segments that have no summary yet
//! (archived before summaries existed, in an older format, or whose summary failed), then
//! ingesting; and naming relation files while the server answers.

use super::archive::{read_compressed, WalArchive};
use super::file_names::{classify, WalFileKind};
use crate::engine::Engine;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct IndexReport {
    pub system_identifier: String,
    /// Segments summarised now (they had no `<segment>.json`).
    pub summarised: u32,
    /// Summaries newly copied into the catalog.
    pub ingested: u32,
    pub segments: u32,
}

impl Engine {
    /// Copies summaries the catalog does not have yet; returns how many.
    pub(crate) fn ingest_wal_summaries(&self, sysid: &str, archive: &WalArchive) -> Result<u32> {
        let known = self.catalog().summarised_segments(sysid)?;
        let Ok(entries) = std::fs::read_dir(archive.dir()) else { return Ok(0) };
        let mut new: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
            .filter(|n| !n.starts_with('.') && !known.contains(n))
            .collect();
        new.sort();
        // A transaction per 500: a commit (and fsync) per summary made a 10,000-segment backfill
        // take seconds; batches keep memory bounded.
        let mut ingested = 0;
        for batch in new.chunks(500) {
            let summaries: Vec<_> = batch.iter().filter_map(|s| archive.read_summary(s)).collect();
            self.catalog().record_wal_summaries(sysid, &summaries)?;
            ingested += summaries.len() as u32;
        }
        Ok(ingested)
    }

    pub async fn wal_index(&self, profile_name: &str) -> Result<IndexReport> {
        self.try_snapshot_relation_names(profile_name).await;
        let sysid = self.cluster_of(profile_name).await?;
        let archive = WalArchive::open(self.repository()?.root(), sysid.parse().unwrap_or(0));
        let names = archive.names()?;
        let mut report = IndexReport { system_identifier: sysid.clone(), summarised: 0, ingested: 0, segments: 0 };
        for name in names.iter().filter(|n| classify(n).ok() == Some(WalFileKind::Segment)) {
            report.segments += 1;
            if archive.read_summary(name).is_some() {
                continue;
            }
            // A damaged segment is the timeline's to report (check.rs); the others still get theirs.
            let Ok(content) = read_compressed(&archive.path_of(name)) else { continue };
            archive.write_summary(name, &content, content.len() as u64, None)?;
            report.summarised += 1;
        }
        report.ingested = self.ingest_wal_summaries(&sysid, &archive)?;
        Ok(report)
    }
}

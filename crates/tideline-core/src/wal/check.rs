//! Checking the archived WAL. Every file is stored as zstd with a content checksum, so reading
//! one back whole proves it is what was archived. The timeline reads only files whose size or
//! modification time changed since they were last read (or summarised); `wal verify` reads
//! every file and rewrites damaged summaries. A damaged file counts as missing:
//! the recovery window ends before it, as at a gap.

use super::archive::{read_compressed, WalArchive};
use super::file_names::{classify, WalFileKind};
use super::summary::StoredFile;
use crate::catalog::wal_checks::WalCheck;
use crate::engine::Engine;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DamagedWal {
    pub name: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Read files that changed since they were last read, or were never read.
    Changed,
    /// Read every file.
    Every,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WalCheckReport {
    pub files: u32,
    /// Files read back now (the others were unchanged since they were last read).
    pub read: u32,
    #[ts(type = "number")]
    pub bytes_read: u64,
    pub damaged: Vec<DamagedWal>,
    /// Summaries that were damaged (unparsable, or not what was written), written again from
    /// their (whole) segments.
    pub rewritten_summaries: Vec<String>,
    /// Damaged files here brought again from the profile's repository elsewhere (the damaged
    /// copies lie aside as `<name>.zst.damaged`).
    pub replaced: Vec<String>,
}

/// What is wrong with one archived file, read back whole; `None` when nothing is.
fn damage_of(archive: &WalArchive, name: &str, segment_bytes: u64) -> (Option<String>, u64) {
    match read_compressed(&archive.path_of(name)) {
        Err(e) => (Some(e.message), 0),
        Ok(bytes) => {
            let whole_segment =
                classify(name).ok() != Some(WalFileKind::Segment) || bytes.len() as u64 == segment_bytes;
            let damage = (!whole_segment)
                .then(|| format!("{name} holds {} bytes where a segment has {segment_bytes}", bytes.len()));
            (damage, bytes.len() as u64)
        }
    }
}

impl Engine {
    /// Checks `names` of the archive to `depth`, records what was found, and returns it.
    pub(crate) fn check_wal_archive(
        &self,
        sysid: &str,
        archive: &WalArchive,
        names: &[String],
        segment_bytes: u64,
        depth: Depth,
    ) -> Result<WalCheckReport> {
        let known = self.catalog().wal_checks(sysid)?;
        let mut report = WalCheckReport { files: names.len() as u32, ..Default::default() };
        let mut fresh = Vec::new();
        for name in names {
            // A file that vanished since the listing (retention, a finished `.partial`) is no damage.
            let Some(now) = StoredFile::of(&archive.path_of(name)) else { continue };
            let unchanged = |bytes: u64, modified_ns: i64| now == StoredFile { bytes, modified_ns };
            let recorded = known.get(name).filter(|c| unchanged(c.size_bytes, c.modified_ns));
            let damage = match (depth, recorded) {
                (Depth::Changed, Some(c)) => c.damage.clone(),
                _ => {
                    let summarised = archive.read_summary(name).and_then(|s| s.stored);
                    if depth == Depth::Changed && recorded.is_none() && summarised == Some(now) {
                        None
                    } else {
                        let (damage, bytes) = damage_of(archive, name, segment_bytes);
                        report.read += 1;
                        report.bytes_read += bytes;
                        damage
                    }
                }
            };
            if recorded.is_none_or(|c| c.damage != damage) || depth == Depth::Every {
                fresh.push(WalCheck {
                    name: name.clone(),
                    size_bytes: now.bytes,
                    modified_ns: now.modified_ns,
                    damage: damage.clone(),
                });
            }
            if let Some(detail) = damage {
                tracing::warn!(file = %name, %detail, "damaged WAL in the archive");
                report.damaged.push(DamagedWal { name: name.clone(), detail });
            }
        }
        let now = self.clock.now_rfc3339();
        self.catalog().record_wal_checks(sysid, &fresh, &now)?;
        Ok(report)
    }

    /// [`Self::check_wal_archive`], then, for a profile kept in a repository elsewhere, its
    /// damaged files brought again from there and read again: only those, since only they
    /// changed. What is still damaged after that stays in the report.
    pub(crate) async fn check_wal_archive_or_replace(
        &self,
        profile_id: &str,
        sysid: &str,
        archive: &WalArchive,
        names: &[String],
        segment_bytes: u64,
        depth: Depth,
    ) -> Result<WalCheckReport> {
        let mut report = self.check_wal_archive(sysid, archive, names, segment_bytes, depth)?;
        let damaged: Vec<String> = report.damaged.iter().map(|d| d.name.clone()).collect();
        if damaged.is_empty() {
            return Ok(report);
        }
        report.replaced = self.replace_damaged_wal(profile_id, sysid, &damaged).await;
        if report.replaced.is_empty() {
            return Ok(report);
        }
        let again = self.check_wal_archive(sysid, archive, &report.replaced, segment_bytes, Depth::Every)?;
        report.read += again.read;
        report.bytes_read += again.bytes_read;
        // What could not be replaced is as it was; the replaced files as read now.
        report.damaged.retain(|d| !report.replaced.contains(&d.name));
        report.damaged.extend(again.damaged);
        report.damaged.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(report)
    }

    /// `tideline wal verify PROFILE`: every archived file of the profile's cluster read back,
    /// and summaries that no longer parse written again.
    pub async fn wal_verify(&self, profile_name: &str) -> Result<WalCheckReport> {
        let sysid = self.cluster_of(profile_name).await?;
        let archive = WalArchive::open(self.repository()?.root(), sysid.parse().unwrap_or(0));
        let names = archive.names()?;
        let segment_bytes = archive.segment_bytes(&names);
        let profile = self.profile(profile_name)?;
        let mut report = self
            .check_wal_archive_or_replace(&profile.id, &sysid, &archive, &names, segment_bytes, Depth::Every)
            .await?;
        for name in names.iter().filter(|n| classify(n).ok() == Some(WalFileKind::Segment)) {
            if archive.summary_state(name).is_ok() || report.damaged.iter().any(|d| &d.name == name) {
                continue;
            }
            let content = read_compressed(&archive.path_of(name))?;
            archive.write_summary(name, &content, segment_bytes, None)?;
            tracing::warn!(segment = %name, "a damaged WAL summary was written again");
            report.rewritten_summaries.push(name.clone());
        }
        Ok(report)
    }
}

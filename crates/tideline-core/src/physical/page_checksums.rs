//! Data page checksums, read in a laid-down data directory before its server starts.
//!
//! A cluster with data checksums (initdb's default from PostgreSQL 18) stamps each 8 kB page
//! with PostgreSQL's checksum (`src/include/storage/checksum_impl.h`). pg_basebackup checked
//! the pages it copied; this checks them again where they will run, so a page damaged on the
//! way (after the manifest's own checksums were taken, or in a backup older than them) stops
//! the lay-down instead of surfacing later as a query error in the sandbox.
//!
//! pg_checksums cannot do it: it refuses a data directory that was not shut down cleanly,
//! which is what every base backup is.

use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;

const BLOCK: usize = 8192;
/// Blocks per relation segment file (1 GB files, PostgreSQL's default build).
const BLOCKS_PER_SEGMENT: u64 = 131_072;
const N_SUMS: usize = 32;
const FNV_PRIME: u32 = 16_777_619;
const BASE_OFFSETS: [u32; N_SUMS] = [
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C, 0xF8D4474F,
    0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB, 0xE58F764B, 0x187636BC,
    0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4, 0x783125BB, 0x6CA8EAA2, 0xE407EAC6,
    0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756,
];

/// What a check of a laid-down data directory found (it stops at the first failure).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PageCheck {
    #[ts(type = "number")]
    pub pages_verified: u64,
    /// Pages changed after the backup started (replay rewrites them from full-page images,
    /// so a page caught mid-write is expected there) and pages never written.
    #[ts(type = "number")]
    pub pages_skipped: u64,
}

/// PostgreSQL's `pg_checksum_page`: the page with its checksum field as zero, mixed with the
/// block number, folded to 1..=65535.
pub fn page_checksum(page: &[u8], block_number: u32) -> u16 {
    let mut sums = BASE_OFFSETS;
    let mix = |sum: &mut u32, value: u32| {
        let t = *sum ^ value;
        *sum = t.wrapping_mul(FNV_PRIME) ^ (t >> 17);
    };
    for (row, words) in page.chunks_exact(4 * N_SUMS).enumerate() {
        for (lane, sum) in sums.iter_mut().enumerate() {
            let at = lane * 4;
            // pd_checksum (bytes 8 and 9 of the page) counts as zero.
            let word = if row == 0 && lane == 2 {
                u32::from_le_bytes([0, 0, words[at + 2], words[at + 3]])
            } else {
                u32::from_le_bytes(words[at..at + 4].try_into().expect("four bytes"))
            };
            mix(sum, word);
        }
    }
    for _ in 0..2 {
        sums.iter_mut().for_each(|s| mix(s, 0));
    }
    let folded = sums.iter().fold(0u32, |acc, s| acc ^ s) ^ block_number;
    ((folded % 65_535) + 1) as u16
}

/// Checks every page of every relation file under `data` (its tablespaces too); pages whose
/// LSN is at or past `replay_from` are left to replay. The first failure is an error naming
/// the file and block.
pub fn verify_data_dir(data: &Path, replay_from: u64) -> Result<PageCheck> {
    use rayon::prelude::*;
    let files = relation_files(data)?;
    let checks: Vec<PageCheck> = files
        .par_iter()
        .map(|(file, segment)| verify_file(data, file, *segment, replay_from))
        .collect::<Result<_>>()?;
    Ok(checks.iter().fold(PageCheck::default(), |acc, c| PageCheck {
        pages_verified: acc.pages_verified + c.pages_verified,
        pages_skipped: acc.pages_skipped + c.pages_skipped,
    }))
}

fn verify_file(data: &Path, file: &Path, segment: u64, replay_from: u64) -> Result<PageCheck> {
    let bytes = std::fs::read(file).map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
    let mut check = PageCheck::default();
    for (i, page) in bytes.chunks(BLOCK).enumerate() {
        // A short last page is a relation extended while the backup ran; replay rewrites it.
        // A page whose pd_upper is zero was never written (PostgreSQL's PageIsNew).
        if page.len() < BLOCK || page[14..16] == [0, 0] || page_lsn(page) >= replay_from {
            check.pages_skipped += 1;
            continue;
        }
        let block = (segment * BLOCKS_PER_SEGMENT + i as u64) as u32;
        let stored = u16::from_le_bytes([page[8], page[9]]);
        let computed = page_checksum(page, block);
        if stored != computed {
            let name = file.strip_prefix(data).unwrap_or(file).display().to_string();
            return Err(Error::new(
                ErrorCode::ChecksumMismatch,
                format!(
                    "data page checksum failure in {name} block {block} (stored {stored}, computed {computed}); nothing was started from it"
                ),
                "The laid-down copy is damaged: choose another backup with --from-backup (`tideline backups list`), run `tideline verify ID` on this one, and check the disks the repository and the sandbox are on.",
            ));
        }
        check.pages_verified += 1;
    }
    Ok(check)
}

fn page_lsn(page: &[u8]) -> u64 {
    let high = u32::from_le_bytes(page[0..4].try_into().expect("four bytes")) as u64;
    let low = u32::from_le_bytes(page[4..8].try_into().expect("four bytes")) as u64;
    (high << 32) | low
}

/// Relation files (`<filenode>[_fsm|_vm|_init][.<segment>]`) with their segment number, in
/// `global/`, `base/<db>/` and each tablespace's `PG_<version>_<catversion>/<db>/`.
fn relation_files(data: &Path) -> Result<Vec<(PathBuf, u64)>> {
    let mut dirs = vec![data.join("global")];
    dirs.extend(subdirs(&data.join("base"))?);
    for tablespace in subdirs(&data.join("pg_tblspc"))? {
        for version in subdirs(&tablespace)? {
            dirs.extend(subdirs(&version)?);
        }
    }
    let mut files = Vec::new();
    for dir in dirs {
        for entry in read_dir(&dir)? {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(segment) = relation_segment(&name) {
                files.push((entry.path(), segment));
            }
        }
    }
    Ok(files)
}

fn relation_segment(name: &str) -> Option<u64> {
    let (stem, segment) = match name.split_once('.') {
        Some((stem, seg)) => (stem, seg.parse().ok()?),
        None => (name, 0),
    };
    let node = match stem.split_once('_') {
        Some((node, fork)) if ["fsm", "vm", "init"].contains(&fork) => node,
        Some(_) => return None,
        None => stem,
    };
    (!node.is_empty() && node.bytes().all(|b| b.is_ascii_digit())).then_some(segment)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    // Tablespace links point outside the data directory: metadata() follows them.
    Ok(read_dir(dir)?.into_iter().map(|e| e.path()).filter(|p| p.metadata().is_ok_and(|m| m.is_dir())).collect())
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.flatten().collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(format!("reading {}", dir.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_file_names() {
        assert_eq!(relation_segment("16384"), Some(0));
        assert_eq!(relation_segment("16384.3"), Some(3));
        assert_eq!(relation_segment("16384_fsm"), Some(0));
        assert_eq!(relation_segment("16384_vm.1"), Some(1));
        for other in ["pg_filenode.map", "pg_internal.init", "PG_VERSION", "16384_xyz", "t3_16384", "pg_control"] {
            assert_eq!(relation_segment(other), None, "{other}");
        }
    }

    #[test]
    fn the_block_number_and_every_byte_count() {
        let mut page = vec![0u8; BLOCK];
        page[14] = 0x20; // pd_upper: not a new page
        page.iter_mut().enumerate().skip(24).for_each(|(i, b)| *b = (i % 251) as u8);
        let sum = page_checksum(&page, 0);
        assert_ne!(sum, 0, "zero means no checksum");
        assert_ne!(sum, page_checksum(&page, 1), "a page moved to another block fails");
        page[8] = 0xAB; // the stored checksum itself is not summed
        assert_eq!(sum, page_checksum(&page, 0));
        page[4000] ^= 1;
        assert_ne!(sum, page_checksum(&page, 0));
    }
}

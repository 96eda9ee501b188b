//! The parts of a record after its header (`DecodeXLogRecord`): block references (which
//! relation and block a change touches, with a full-page image or not), the replication
//! origin, the top-level transaction of a subtransaction, and the main data.

use crate::reader::{Record, RECORD_HEADER_SIZE};
use crate::{u16_at, u32_at};

const BLOCK_ID_DATA_SHORT: u8 = 255;
const BLOCK_ID_DATA_LONG: u8 = 254;
const BLOCK_ID_ORIGIN: u8 = 253;
const BLOCK_ID_TOPLEVEL_XID: u8 = 252;
const MAX_BLOCK_ID: u8 = 32;
const BKPBLOCK_FORK_MASK: u8 = 0x0F;
const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
const BKPBLOCK_HAS_DATA: u8 = 0x20;
const BKPBLOCK_SAME_REL: u8 = 0x80;

/// A relation's storage: tablespace, database and relfilenode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelFileLocator {
    pub tablespace: u32,
    pub database: u32,
    pub relfilenode: u32,
}

impl RelFileLocator {
    pub const MIN: RelFileLocator = RelFileLocator { tablespace: 0, database: 0, relfilenode: 0 };
    pub const MAX: RelFileLocator = RelFileLocator { tablespace: u32::MAX, database: u32::MAX, relfilenode: u32::MAX };

    pub(crate) fn at(b: &[u8], at: usize) -> Option<RelFileLocator> {
        Some(RelFileLocator {
            tablespace: u32_at(b, at)?,
            database: u32_at(b, at + 4)?,
            relfilenode: u32_at(b, at + 8)?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub id: u8,
    pub fork: u8,
    pub rel: RelFileLocator,
    pub block: u32,
    pub has_image: bool,
    pub has_data: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub blocks: Vec<BlockRef>,
    pub origin: Option<u16>,
    pub toplevel_xid: Option<u32>,
    pub main_data: &'a [u8],
}

/// Whether a full-page image is compressed, which decides if its hole length is stored.
fn image_compressed(major: u32, bimg_info: u8) -> bool {
    if major >= 15 {
        bimg_info & (0x04 | 0x08 | 0x10) != 0 // pglz, lz4, zstd
    } else {
        bimg_info & 0x02 != 0
    }
}

/// Decodes a record's headers; None when they do not add up (a damaged record).
pub fn decode<'a>(record: &Record<'a>) -> Option<Decoded<'a>> {
    let b = record.bytes;
    let mut at = RECORD_HEADER_SIZE;
    let mut payload = 0usize;
    let mut main_len = 0usize;
    let mut blocks: Vec<BlockRef> = Vec::new();
    let mut origin = None;
    let mut toplevel_xid = None;
    let mut last_rel: Option<RelFileLocator> = None;
    while b.len().saturating_sub(at) > payload {
        let id = *b.get(at)?;
        at += 1;
        match id {
            BLOCK_ID_DATA_SHORT => {
                main_len = *b.get(at)? as usize;
                at += 1;
                break;
            }
            BLOCK_ID_DATA_LONG => {
                main_len = u32_at(b, at)? as usize;
                at += 4;
                break;
            }
            BLOCK_ID_ORIGIN => {
                origin = Some(u16_at(b, at)?);
                at += 2;
            }
            BLOCK_ID_TOPLEVEL_XID => {
                toplevel_xid = Some(u32_at(b, at)?);
                at += 4;
            }
            id if id <= MAX_BLOCK_ID => {
                let flags = *b.get(at)?;
                let data_len = u16_at(b, at + 1)? as usize;
                at += 3;
                let has_image = flags & BKPBLOCK_HAS_IMAGE != 0;
                if has_image {
                    let image_len = u16_at(b, at)? as usize;
                    let bimg_info = *b.get(at + 4)?;
                    at += 5;
                    if bimg_info & 0x01 != 0 && image_compressed(record.major, bimg_info) {
                        at += 2; // hole length
                    }
                    payload += image_len;
                }
                payload += data_len;
                let rel = if flags & BKPBLOCK_SAME_REL != 0 {
                    last_rel?
                } else {
                    let r = RelFileLocator::at(b, at)?;
                    at += 12;
                    r
                };
                last_rel = Some(rel);
                let block = u32_at(b, at)?;
                at += 4;
                blocks.push(BlockRef {
                    id,
                    fork: flags & BKPBLOCK_FORK_MASK,
                    rel,
                    block,
                    has_image,
                    has_data: flags & BKPBLOCK_HAS_DATA != 0,
                });
            }
            _ => return None,
        }
    }
    // Block images and data come first, the main data last.
    let main_start = at.checked_add(payload)?;
    let main_data = b.get(main_start..main_start.checked_add(main_len)?)?;
    Some(Decoded { blocks, origin, toplevel_xid, main_data })
}

//! Segment files as Tideline stores them (one zstd frame, `<name>.zst`) or as PostgreSQL
//! writes them.

use crate::WalError;
use std::io::Read;
use std::path::Path;

/// `path` opened for reading, through zstd when the name ends in `.zst`.
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>, WalError> {
    let file = std::fs::File::open(path).map_err(|e| WalError::NotWal(format!("{}: {e}", path.display())))?;
    if path.extension().is_some_and(|e| e == "zst") {
        let decoder =
            zstd::stream::Decoder::new(file).map_err(|e| WalError::Compressed(format!("{}: {e}", path.display())))?;
        return Ok(Box::new(decoder));
    }
    Ok(Box::new(file))
}

/// Reads `path` into `buf` (cleared first), undoing zstd when the name ends in `.zst`.
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), WalError> {
    read_prefix_into(path, u64::MAX, buf)
}

/// Reads the first `len` bytes of what `path` holds (all of it when shorter) into `buf`:
/// a reader that needs a segment's first pages only does not decompress the rest.
pub fn read_prefix_into(path: &Path, len: u64, buf: &mut Vec<u8>) -> Result<(), WalError> {
    buf.clear();
    open(path)?
        .take(len)
        .read_to_end(buf)
        .map(|_| ())
        .map_err(|e| WalError::Compressed(format!("{}: {e}", path.display())))
}

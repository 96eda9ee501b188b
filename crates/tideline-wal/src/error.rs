//! What can be wrong with bytes that should be WAL.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WalError {
    #[error("not a WAL segment: {0}")]
    NotWal(String),
    #[error("a WAL segment of PostgreSQL {found} after one of {expected}")]
    VersionChanged { expected: u32, found: u32 },
    #[error("segment starting at {found} where {expected} was expected")]
    OutOfOrder { expected: String, found: String },
    #[error("reading compressed WAL: {0}")]
    Compressed(String),
    #[error("reading WAL: {0}")]
    Unreadable(String),
}

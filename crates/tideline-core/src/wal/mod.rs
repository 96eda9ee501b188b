//! Continuous WAL: the files PostgreSQL archives, stored in the repository under their
//! cluster's system identifier (brief §3), and what the server says about its archiving.
//!
//!   <repo>/clusters/<system_identifier>/wal/<name>.zst    one zstd frame, content checksum on

pub mod archive;
mod archive_target;
pub mod check;
pub mod control;
pub mod file_names;
pub mod index;
pub mod inspect;
pub mod mark;
pub mod push;
pub mod remote;
mod restart_command;
mod resume;
pub mod setup;
pub mod status;
pub mod stream;
pub mod summary;
mod temp_files;

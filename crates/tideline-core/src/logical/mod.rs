//! Logical backups and restores: pg_dump, pg_dumpall, pg_restore.

pub mod backups;
pub mod compression;
pub mod dump;
pub mod names;
pub mod options;

//! Logical backups and restores: pg_dump, pg_dumpall, pg_restore.

pub mod archive;
pub mod clean;
pub mod compression;
pub mod dump;
pub mod dump_args;
pub mod dumpall;
mod enclosing_schemas;
pub mod globals;
pub mod history;
pub mod into_schema;
pub(crate) mod lock_waits;
pub mod older_servers;
pub mod preflight;
pub mod restore;
mod restore_command;
mod restore_plan;
pub mod restoring_database;
pub mod role_map;
pub(crate) mod row_counts;
mod statistics;
pub mod toc;
pub mod verify;

//! Every end-to-end test in one binary: each file is a module, and `support/` (clusters, the
//! CLI, data, WAL, the window) is compiled and linked once instead of once per file.

#[macro_use]
mod support;

mod basebackup;
mod child_argv;
mod clusters;
mod demo;
mod disk_space;
mod dumpall;
mod fault_corruption;
mod fault_kills;
mod fault_server_gone;
mod faults;
mod import_and_local;
mod into_schema;
mod keychain_errors;
mod logical_backup;
mod logical_restore;
mod notify;
mod odd_names;
mod older_server_restore;
mod pitr;
mod pitr_incremental;
mod pitr_stream_in_place;
mod profiles_cli;
mod recovery_window;
mod relation_snapshots;
mod remote_key;
mod remote_names;
mod remote_profile;
mod remote_repository;
mod remote_settings;
mod remote_uploads;
mod remote_wal;
mod repository_access;
mod restore_lock_waits;
mod restore_sandbox;
mod sandbox_access;
mod schedules;
mod tls;
mod tools;
mod wal_archive;
mod wal_events;
mod wal_reader;
mod wal_setup;
mod wal_stream;
mod wal_summaries;
mod window;
mod window_backups;
mod window_comfort;
mod window_repositories;
mod window_schedule;
mod window_timeline;
mod window_tray;
mod window_wal;

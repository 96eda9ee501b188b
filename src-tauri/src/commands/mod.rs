//! Tauri commands: each a few lines that call the engine. Errors cross IPC as the engine's
//! `{code, message, hint}`.

pub mod backups;
pub mod profiles;
mod progress;
pub mod restore;
pub mod sandbox;
pub mod schedule;
pub mod tools;
pub mod wal;

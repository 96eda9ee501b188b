//! Tauri commands: each a few lines that call the engine. Errors cross IPC as the engine's
//! `{code, message, hint}`.

pub mod profiles;
pub mod tools;

//! Tideline's engine: everything the app and the CLI can do, with no GUI dependency.

/// `name()`, `from_name()` and Display for an enum kept by name in the catalog and manifests
/// (its serde names are the same).
#[macro_export]
macro_rules! named_enum {
    ($t:ty { $($v:ident => $n:literal),* $(,)? }) => {
        impl $t {
            pub fn name(self) -> &'static str {
                match self { $(Self::$v => $n),* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($n => Some(Self::$v),)* _ => None }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub mod catalog;
pub mod clock;
pub mod cluster;
pub mod connect;
pub mod demo;
pub mod engine;
pub mod error;
pub mod events;
pub mod health;
pub mod home;
pub mod job;
pub mod keychain;
pub mod layers;
pub mod libpq_env;
pub mod logging;
pub mod logical;
pub mod notify;
pub mod pg;
pub mod physical;
pub mod pitr;
pub mod process;
pub mod profile;
pub mod repo;
pub mod retention;
pub mod sandbox;
pub mod schedule;
pub mod secret;
pub mod tools;
pub mod wal;

pub use engine::Engine;
pub use error::{Error, ErrorCode, Result};
pub use secret::Secret;

//! Point-in-time recovery: what can be recovered to (the recovery window), which backup a
//! recovery starts from, the target, and the sandbox or data directory it lands in.

pub mod choose;
pub mod commits;
pub mod history;
pub mod in_place;
pub mod known_targets;
pub mod plan;
pub mod recovery;
pub mod run;
pub mod staging;
pub mod timeline;
pub mod window;

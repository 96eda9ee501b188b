//! Point-in-time recovery: what can be recovered to (the recovery window), and later the
//! sandboxes that do it.

pub mod history;
pub mod timeline;
pub mod window;

//! Physical backups: pg_basebackup into `<repo>/clusters/<system_identifier>/base/<id>/`.

pub mod basebackup;
pub mod compression;
pub mod laydown;
pub mod options;
pub mod page_checksums;
pub mod pg_basebackup_output;
mod space;

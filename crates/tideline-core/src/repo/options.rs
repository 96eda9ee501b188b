//! What a backup was asked to do, as the CLI and the app give it and the manifest keeps it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DumpFormat {
    Custom,
    /// The default: parallel dump and restore (`-j`), compressed per table.
    #[default]
    Directory,
    Plain,
    Tar,
}

impl DumpFormat {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "custom" | "c" => DumpFormat::Custom,
            "directory" | "d" => DumpFormat::Directory,
            "plain" | "p" => DumpFormat::Plain,
            "tar" | "t" => DumpFormat::Tar,
            _ => return None,
        })
    }

    pub fn flag(self) -> &'static str {
        match self {
            DumpFormat::Custom => "c",
            DumpFormat::Directory => "d",
            DumpFormat::Plain => "p",
            DumpFormat::Tar => "t",
        }
    }

    /// The artifact's name inside the backup directory.
    pub fn artifact(self) -> &'static str {
        match self {
            DumpFormat::Custom => "database.dump",
            DumpFormat::Directory => "database.d",
            DumpFormat::Plain => "database.sql",
            DumpFormat::Tar => "database.tar",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DumpOptions {
    /// The database to dump; the profile's database when absent.
    pub database: Option<String>,
    pub format: DumpFormat,
    /// Parallel jobs (directory format only).
    pub jobs: Option<u32>,
    pub schema_only: bool,
    pub data_only: bool,
    /// Exact table names (`schema.table`, SQL-style quoting); partitions come along.
    pub tables: Vec<String>,
    pub exclude_tables: Vec<String>,
    pub schemas: Vec<String>,
    pub exclude_schemas: Vec<String>,
    /// Include large objects even when tables or schemas are selected.
    pub large_objects: bool,
    pub no_owner: bool,
    pub no_privileges: bool,
    /// `METHOD[:LEVEL]` (gzip, lz4, zstd, none); the best the chosen pg_dump supports when absent.
    pub compress: Option<String>,
    pub no_row_counts: bool,
    /// pg_dump 18's planner statistics: `--statistics` (true) or `--no-statistics` (false);
    /// the pg_dump's own default when absent. Refused with an older pg_dump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub statistics: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BaseFormat {
    /// A copy of the data directory, file by file (what a restore lays down fastest).
    Plain,
    /// One tar per tablespace, compressible (the default: smallest, and one file to move).
    #[default]
    Tar,
}

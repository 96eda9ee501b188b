//! The values flags accept: clap lists them in `--help` and refuses anything else while parsing
//! (with the possible values), and each converts into the engine's own type.

use clap::ValueEnum;
use tideline_core::notify::payload::{HookFormat, NotifyEvent};
use tideline_core::physical::options::CheckpointMode;
use tideline_core::repo::options::{BaseFormat, DumpFormat};
use tideline_core::schedule::ScheduleWhat;
use tideline_core::wal::setup::WalMethod;

/// pg_dump's formats, by name or by pg_dump's own letter.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DumpFormatValue {
    #[value(alias = "c")]
    Custom,
    #[value(alias = "d")]
    Directory,
    #[value(alias = "p")]
    Plain,
    #[value(alias = "t")]
    Tar,
}

impl From<DumpFormatValue> for DumpFormat {
    fn from(v: DumpFormatValue) -> Self {
        match v {
            DumpFormatValue::Custom => DumpFormat::Custom,
            DumpFormatValue::Directory => DumpFormat::Directory,
            DumpFormatValue::Plain => DumpFormat::Plain,
            DumpFormatValue::Tar => DumpFormat::Tar,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BaseFormatValue {
    #[value(alias = "t")]
    Tar,
    #[value(alias = "p")]
    Plain,
}

impl From<BaseFormatValue> for BaseFormat {
    fn from(v: BaseFormatValue) -> Self {
        match v {
            BaseFormatValue::Tar => BaseFormat::Tar,
            BaseFormatValue::Plain => BaseFormat::Plain,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CheckpointValue {
    Fast,
    Spread,
}

impl From<CheckpointValue> for CheckpointMode {
    fn from(v: CheckpointValue) -> Self {
        match v {
            CheckpointValue::Fast => CheckpointMode::Fast,
            CheckpointValue::Spread => CheckpointMode::Spread,
        }
    }
}

/// What a schedule runs.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScheduleWhatValue {
    Database,
    Every,
    Globals,
    Cluster,
    Base,
    Verify,
}

impl ScheduleWhatValue {
    /// `database` is the one kind that names a database (`--database`, else the profile's).
    pub fn with_database(self, database: Option<String>) -> ScheduleWhat {
        match self {
            ScheduleWhatValue::Database => ScheduleWhat::Database { database },
            ScheduleWhatValue::Every => ScheduleWhat::EveryDatabase,
            ScheduleWhatValue::Globals => ScheduleWhat::Globals,
            ScheduleWhatValue::Cluster => ScheduleWhat::Cluster,
            ScheduleWhatValue::Base => ScheduleWhat::BaseBackup,
            ScheduleWhatValue::Verify => ScheduleWhat::Verify,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HookFormatValue {
    Generic,
    Slack,
    Discord,
    Ping,
    Desktop,
}

impl From<HookFormatValue> for HookFormat {
    fn from(v: HookFormatValue) -> Self {
        match v {
            HookFormatValue::Generic => HookFormat::Generic,
            HookFormatValue::Slack => HookFormat::Slack,
            HookFormatValue::Discord => HookFormat::Discord,
            HookFormatValue::Ping => HookFormat::Ping,
            HookFormatValue::Desktop => HookFormat::Desktop,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum NotifyEventValue {
    Failure,
    Success,
    Stale,
    Archiver,
}

impl From<NotifyEventValue> for NotifyEvent {
    fn from(v: NotifyEventValue) -> Self {
        match v {
            NotifyEventValue::Failure => NotifyEvent::Failure,
            NotifyEventValue::Success => NotifyEvent::Success,
            NotifyEventValue::Stale => NotifyEvent::Stale,
            NotifyEventValue::Archiver => NotifyEvent::Archiver,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum WalMethodValue {
    Archive,
    Stream,
}

impl From<WalMethodValue> for WalMethod {
    fn from(v: WalMethodValue) -> Self {
        match v {
            WalMethodValue::Archive => WalMethod::Archive,
            WalMethodValue::Stream => WalMethod::Stream,
        }
    }
}

//! Schedules and notifications.

use super::*;
use crate::values::{HookFormatValue, NotifyEventValue, ScheduleWhatValue};
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// A webhook; its URL is read from stdin (it is a secret).
    Add {
        /// generic (JSON), slack, discord, ping (a dead-man's switch: URL on success, URL/fail on
        /// failure), or desktop (a notification on this machine's session bus; no URL).
        #[arg(long, value_enum, default_value = "generic")]
        format: HookFormatValue,
        /// Only this profile's events (every profile's by default).
        #[arg(long)]
        profile: Option<String>,
        /// Comma-separated: failure, success, stale, archiver (default: failure,stale,archiver).
        #[arg(long, value_enum, value_delimiter = ',')]
        on: Vec<NotifyEventValue>,
        /// Read the URL from stdin (every format but desktop).
        #[arg(long)]
        url_stdin: bool,
    },
    List,
    Remove {
        id: String,
    },
    /// Send a test notification to one webhook.
    Test {
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// A new schedule for a profile.
    Add(Box<ScheduleAddArgs>),
    /// Replace a schedule's settings (same options as add); its runs stay.
    Edit {
        id: String,
        #[command(flatten)]
        args: Box<ScheduleAddArgs>,
    },
    /// Run a schedule now, outside its times (refused while a run of it is going).
    Run { id: String },
    /// Run every enabled schedule now, one after the other (the tray's "Back up now").
    RunAll,
    /// Every schedule with its next occurrences.
    List,
    /// One schedule, its next occurrences and its runs.
    Show {
        id: String,
        /// How many next occurrences to list.
        #[arg(long, default_value_t = 5)]
        next: usize,
    },
    /// Delete a schedule and its run history (the backups it made stay).
    Remove { id: String },
    /// Turn a schedule on; its times count from now (the time it was off is not "missed").
    Enable { id: String },
    /// Turn a schedule off; nothing runs or is recorded missed until it is on again.
    Disable { id: String },
    /// Planned occurrences and past runs (status, duration, size, missed) per day.
    Calendar {
        /// First day, YYYY-MM-DD (default: today).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: four weeks on).
        #[arg(long)]
        to: Option<String>,
        /// Days in this IANA zone (default: this machine's).
        #[arg(long)]
        tz: Option<String>,
        /// Write the planned occurrences to this .ics file.
        #[arg(long)]
        ics: Option<std::path::PathBuf>,
    },
    /// Keep running: start what is due every minute until Ctrl-C.
    Agent {
        #[arg(long, default_value_t = tideline_core::schedule::run::DEFAULT_LIMIT)]
        limit: u32,
    },
    /// Install the runner as a user service: a systemd timer on Linux (every minute, run-due);
    /// the launchd agent or Task Scheduler task is printed on macOS and Windows.
    Install {
        /// Only print the definitions.
        #[arg(long)]
        print: bool,
        /// linux, macos or windows (this machine's by default).
        #[arg(long)]
        platform: Option<String>,
    },
    /// Start what is due now (for cron or a systemd timer), record what was missed, and exit.
    RunDue {
        /// At most this many runs at a time, across profiles and runners.
        #[arg(long, default_value_t = tideline_core::schedule::run::DEFAULT_LIMIT)]
        limit: u32,
    },
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("when").required(true).args(["cron", "hourly", "daily", "weekdays", "weekly", "monthly"])))]
pub struct ScheduleAddArgs {
    pub profile: String,
    /// database (one database: --database, or the profile's), every (each database), globals,
    /// cluster, base, or verify (test-restore the newest backups).
    #[arg(long, value_enum, default_value = "database")]
    pub what: ScheduleWhatValue,
    #[arg(long)]
    pub database: Option<String>,
    /// Five fields: minute hour day-of-month month day-of-week.
    #[arg(long)]
    pub cron: Option<String>,
    /// Every hour at this minute.
    #[arg(long)]
    pub hourly: Option<u32>,
    /// Every day at HH:MM.
    #[arg(long)]
    pub daily: Option<String>,
    /// Monday to Friday at HH:MM.
    #[arg(long)]
    pub weekdays: Option<String>,
    /// DAY@HH:MM, e.g. sun@03:00.
    #[arg(long)]
    pub weekly: Option<String>,
    /// DAY@HH:MM with DAY 1–28, e.g. 1@04:00.
    #[arg(long)]
    pub monthly: Option<String>,
    /// IANA time zone (default: this machine's, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Do not make up for missed occurrences with one run at the next chance.
    #[arg(long)]
    pub no_catch_up: bool,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

//! `wal-push` and `wal-fetch`: run by PostgreSQL as archive_command / restore_command, as the
//! server's OS user. They open no catalog, keychain, log file or HOME, and speak in exit codes.

use crate::args::{WalFetchArgs, WalPushArgs};
use crate::output::print_error;
use std::path::PathBuf;
use tideline_core::wal::archive::{FetchOutcome, PushOutcome};
use tideline_core::wal::push::{fetch_exit_code, wal_fetch, wal_push};

fn pgdata(given: Option<PathBuf>) -> PathBuf {
    given.or_else(|| std::env::current_dir().ok()).unwrap_or_else(|| PathBuf::from("."))
}

/// Exit 0 once the file is safely in the repository; 1 on any failure (PostgreSQL keeps the
/// segment and retries).
pub fn push(args: WalPushArgs, json: bool) -> i32 {
    match wal_push(&args.repo, &args.path, &pgdata(args.pgdata)) {
        Ok(outcome) => {
            if json {
                let stored = outcome == PushOutcome::Stored;
                println!("{}", serde_json::json!({ "stored": stored, "already_archived": !stored }));
            }
            0
        }
        Err(e) => {
            print_error(&e, json);
            1
        }
    }
}

pub fn fetch(args: WalFetchArgs, json: bool) -> i32 {
    let result = wal_fetch(&args.repo, &args.name, &args.dest, &pgdata(args.pgdata));
    match &result {
        Ok(outcome) if json => {
            println!(
                "{}",
                serde_json::json!({ "restored": *outcome != FetchOutcome::Missing, "partial": *outcome == FetchOutcome::RestoredPartial })
            )
        }
        Ok(_) => {}
        Err(e) => print_error(e, json),
    }
    fetch_exit_code(&result)
}

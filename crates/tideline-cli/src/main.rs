//! The `tideline` binary. Every subcommand is a thin caller of an engine function.

mod args;
mod backup;
mod demo;
mod desktop;
mod events;
mod health;
mod notify;
mod output;
mod pitr;
mod profile;
mod progress;
mod repo;
mod restore;
mod retention;
mod sandbox;
mod schedule;
mod timeline;
mod tools;
mod values;
mod wal;

use args::{Cli, Command, WalCommand};
use clap::Parser;
use tideline_core::{Engine, Error, ErrorCode};

fn main() {
    let wants_json = std::env::args().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if wants_json && e.use_stderr() => {
            let err = Error::new(
                ErrorCode::InvalidInput,
                e.to_string().trim().to_string(),
                "Run `tideline --help` for usage.",
            );
            output::print_error(&err, true);
            std::process::exit(2);
        }
        Err(e) => e.exit(),
    };
    let json = cli.json;
    // Called by PostgreSQL: before anything that needs HOME, a catalog or a log directory.
    if matches!(cli.command, Command::WalPush(_) | Command::WalFetch(_)) {
        let code = match cli.command {
            Command::WalPush(args) => wal::push(args, json),
            Command::WalFetch(args) => wal::fetch(args, json),
            _ => unreachable!(),
        };
        std::process::exit(code);
    }
    if let Command::Wal(WalCommand::Inspect { segments, no_crc, count_only, events }) = cli.command {
        match wal::inspect(segments, no_crc, count_only, events) {
            Ok(reply) => reply.print(json),
            Err(err) => {
                output::print_error(&err, json);
                std::process::exit(1);
            }
        }
        return;
    }
    match run(cli) {
        Ok(reply) => reply.print(json),
        Err(err) => {
            tracing::info!(code = %err.code.name(), message = %err.message, "command failed");
            output::print_error(&err, json);
            std::process::exit(1);
        }
    }
}

fn run(cli: Cli) -> Result<output::Reply, Error> {
    let json = cli.json;
    let home = tideline_core::home::data_dir()?;
    let _log_guard = tideline_core::logging::init(&home, &cli.log_level, "cli");
    let engine = Engine::open_default()?.with_desktop_notifier(std::sync::Arc::new(desktop::SessionBus));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("starting the async runtime: {e}")))?;
    runtime.block_on(async {
        match cli.command {
            Command::Profile(cmd) => profile::run(&engine, *cmd).await,
            Command::Tools(args) => tools::run(&engine, args),
            Command::Backup(args) => backup::backup(&engine, *args, json).await,
            Command::Backups(cmd) => backup::backups(&engine, cmd),
            Command::Repo(cmd) => repo::repo(&engine, cmd, json).await,
            Command::Dumpall(args) => backup::dumpall(&engine, args, json).await,
            Command::Restore(args) => restore::restore(&engine, args, json).await,
            Command::Verify(args) => restore::verify(&engine, args, json).await,
            Command::Toc(args) => restore::toc(&engine, args),
            Command::Basebackup(args) => backup::basebackup(&engine, args, json).await,
            Command::Wal(cmd) => wal::wal(&engine, cmd, json).await,
            Command::Mark(args) => wal::mark(&engine, args).await,
            Command::Events(args) => events::events(&engine, args).await,
            Command::Schedule(cmd) => schedule::run(&engine, cmd).await,
            Command::Retention(cmd) => retention::retention(&engine, cmd),
            Command::Notify(cmd) => notify::notify(&engine, cmd).await,
            Command::Health { profile, threshold_hours } => health::health(&engine, profile, threshold_hours).await,
            Command::Timeline(args) => timeline::timeline(&engine, args).await,
            Command::Demo(args) => demo::demo(&engine, args, json).await,
            Command::Pitr(args) => pitr::pitr(&engine, *args, json).await,
            Command::Sandbox(cmd) => sandbox::sandbox(&engine, cmd).await,
            Command::RestoreInPlace(args) => pitr::restore_in_place(&engine, *args).await,
            Command::WalPush(_) | Command::WalFetch(_) => unreachable!("handled before the engine opens"),
        }
    })
}

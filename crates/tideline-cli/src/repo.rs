//! `tideline repo …`: the default directory, named repositories, their test and keys.

use crate::args::{RepoAddArgs, RepoCommand, RepoKeyCommand};
use crate::output::Reply;
use std::io::Read;
use tideline_core::catalog::repositories::RepositoryRecord;
use tideline_core::repo::named::{KitFile, RepositoryRequest, RequestedPlace};
use tideline_core::repo::probe::CheckState;
use tideline_core::{Engine, Error, Result, Secret};

pub async fn repo(engine: &Engine, cmd: RepoCommand, json: bool) -> Result<Reply> {
    match cmd {
        RepoCommand::Rescan { repo: None } => {
            let report = engine.rescan_repository()?;
            let text = rescan_text(&report);
            Ok(Reply::of(&report, text))
        }
        RepoCommand::Rescan { repo: Some(name) } => {
            let (job, bar) = crate::progress::job(json);
            let report = engine.rescan_from_repository(&name, &job).await;
            bar.finish_and_clear();
            let report = report?;
            let text = format!(
                "brought {} file(s) ({}) from {name}; {}",
                report.synced.copied,
                crate::output::human_bytes(report.synced.bytes_copied),
                rescan_text(&report.rescan)
            );
            Ok(Reply::of(&report, text))
        }
        RepoCommand::Path { dir } => {
            if let Some(dir) = &dir {
                engine.set_repository(dir)?;
            }
            let repo = engine.repository()?;
            let access = tideline_core::sandbox::access::repository_access(repo.root());
            let text = access.summary.clone();
            Ok(Reply::of(&access, text))
        }
        RepoCommand::Add(args) => add(engine, args).await,
        RepoCommand::WalConfig { name, out, owner, with_identity } => {
            engine.write_wal_config(&name, &out, owner.as_deref(), with_identity)?;
            let text = format!(
                "wrote {}: archive_command = 'tideline wal-push --repo-config {} %p'",
                out.display(),
                out.display()
            );
            Ok(Reply::new(serde_json::json!({ "repository": name, "config": out }), text))
        }
        RepoCommand::Sync { from, to } => sync(engine, &from, &to, json).await,
        RepoCommand::Clean { name, older_than_minutes } => {
            let report = engine.clean_repository(&name, older_than_minutes).await?;
            let text = format!(
                "{name}: aborted {} unfinished upload(s); {} begun less than {older_than_minutes} min ago left alone",
                report.aborted.len(),
                report.left.len()
            );
            Ok(Reply::of(&report, text))
        }
        RepoCommand::List => {
            let list = engine.repositories()?;
            let text = if list.is_empty() {
                "no named repositories (`tideline repo add`)".to_string()
            } else {
                list.iter().map(line).collect::<Vec<_>>().join("\n")
            };
            Ok(Reply::new(serde_json::json!({ "repositories": list }), text))
        }
        RepoCommand::Show { name } => {
            let record = engine.named_repository(&name)?;
            let text = line(&record);
            Ok(Reply::of(&record, text))
        }
        RepoCommand::Test { name } => {
            let test = engine.test_repository(&name).await?;
            let text = test_text(&test);
            Ok(Reply::of(&test, text))
        }
        RepoCommand::Remove { name } => {
            let record = engine.remove_repository(&name)?;
            let text = format!(
                "forgot repository '{}' on this computer; its files at {} are untouched",
                record.name,
                record.location()
            );
            Ok(Reply::of(&record, text))
        }
        RepoCommand::Key(RepoKeyCommand::Export { name, out }) => {
            let passphrase = stdin_lines(1)?.remove(0);
            engine.export_repository_key(&name, &KitFile { path: out.clone(), passphrase })?;
            let text = format!(
                "recovery kit written to {}: keep it and its passphrase apart from this computer",
                out.display()
            );
            Ok(Reply::new(serde_json::json!({ "repository": name, "kit": out }), text))
        }
        RepoCommand::Key(RepoKeyCommand::Rotate { name, recovery_kit }) => rotate(engine, &name, recovery_kit).await,
        RepoCommand::Key(RepoKeyCommand::Import { name, from }) => {
            let passphrase = stdin_lines(1)?.remove(0);
            engine.import_repository_key(&name, &KitFile { path: from, passphrase })?;
            Ok(Reply::new(
                serde_json::json!({ "repository": name, "imported": true }),
                format!("the key of '{name}' is in this computer's keychain"),
            ))
        }
    }
}

/// One line a check: its mark, its name, what it found; a failure's code and hint below it.
fn test_text(test: &tideline_core::repo::probe::RepositoryTest) -> String {
    let mut text = format!("{} ({})", test.repository, test.location);
    for c in &test.checks {
        let mark = match c.state {
            CheckState::Passed => "ok  ",
            CheckState::Warning => "warn",
            CheckState::Failed => "FAIL",
            CheckState::Skipped => "skip",
        };
        text.push_str(&format!("\n  {mark} {:<18} {}", c.check, c.detail));
        if let Some(e) = &c.error {
            text.push_str(&format!("\n       {}: {}", e.code.name(), e.hint));
        }
    }
    text
}

async fn sync(engine: &Engine, from: &str, to: &str, json: bool) -> Result<Reply> {
    let (job, bar) = crate::progress::job(json);
    let report = engine.sync_repositories(from, to, &job).await;
    bar.finish_and_clear();
    let report = report?;
    let text = format!(
        "{} → {}: copied {} file(s), {}; {} already there",
        report.from,
        report.to,
        report.copied,
        crate::output::human_bytes(report.bytes_copied),
        report.skipped
    );
    Ok(Reply::of(&report, text))
}

async fn add(engine: &Engine, args: RepoAddArgs) -> Result<Reply> {
    let encrypt = match (&args.s3, args.no_encryption, args.encryption) {
        (Some(_), no, _) => !no,
        (None, _, yes) => yes,
    };
    let place = match (args.s3, args.dir) {
        (Some(url), _) => RequestedPlace::S3 {
            url,
            endpoint: args.endpoint,
            region: args.region,
            path_style: args.path_style,
            access_key_id: args.access_key_id.unwrap_or_default(),
        },
        (None, Some(dir)) => RequestedPlace::Dir { path: dir.display().to_string() },
        (None, None) => {
            return Err(Error::invalid_input(
                "repo add needs --s3 s3://BUCKET/PREFIX or --dir PATH",
                "Say where the repository is.",
            ))
        }
    };
    let is_s3 = matches!(place, RequestedPlace::S3 { .. });
    let needed = usize::from(is_s3) + usize::from(args.recovery_kit.is_some());
    let mut lines = if needed > 0 { stdin_lines(needed)? } else { Vec::new() }.into_iter();
    let secret = if is_s3 { lines.next() } else { None };
    let request = RepositoryRequest {
        name: args.name,
        place,
        encrypt,
        recovery_kit: args.recovery_kit.map(|k| k.display().to_string()),
    };
    let record = engine.add_repository(request.resolve(secret, lines.next())?).await?;
    let text = format!("added {}", line(&record));
    Ok(Reply::of(&record, text))
}

fn line(r: &RepositoryRecord) -> String {
    let encrypted = if r.recipient.is_some() { "encrypted" } else { "not encrypted" };
    format!("{:<16} {}  ({encrypted})", r.name, r.location())
}

/// `count` non-empty lines from stdin: secrets never come from argv.
fn stdin_lines(count: usize) -> Result<Vec<Secret>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| Error::io("reading stdin", e))?;
    let lines: Vec<Secret> = text.lines().map(|l| Secret::new(l.trim_end_matches('\r'))).take(count).collect();
    if lines.len() < count || lines.iter().any(Secret::is_empty) {
        return Err(Error::invalid_input(
            format!("expected {count} line(s) on stdin, got {}", lines.len()),
            "Pipe them in: the secret access key first (for --s3), then the recovery-kit passphrase (for an encrypted repository).",
        ));
    }
    Ok(lines)
}

fn rescan_text(report: &tideline_core::logical::history::RescanReport) -> String {
    let mut text = format!("indexed {} backup(s), forgot {}", report.indexed.len(), report.forgotten);
    for (path, why) in &report.unreadable {
        text.push_str(&format!("\n  unreadable: {path}: {why}"));
    }
    text
}

async fn rotate(engine: &Engine, name: &str, recovery_kit: std::path::PathBuf) -> Result<Reply> {
    let passphrase = stdin_lines(1)?.remove(0);
    let rotated = engine.rotate_repository_key(name, &KitFile { path: recovery_kit.clone(), passphrase }).await?;
    let mut text = format!(
        "'{name}' encrypts to a new key from now on; the new recovery kit ({} keys) is {}: keep it apart from this computer, the old kit no longer opens new files",
        rotated.keys,
        recovery_kit.display()
    );
    for config in &rotated.wal_configs {
        text.push_str(&format!("\n  rewritten for archive_command: {config}"));
    }
    text.push_str(
        "\n  configs written with `repo wal-config --out` elsewhere still encrypt to the old key: write them again",
    );
    Ok(Reply::of(&rotated, text))
}

//! `tideline profile …`: thin callers of the engine's profile operations.

use crate::args::{AddArgs, ConnectionFields, EditArgs, ImportArgs, ProfileCommand};
use crate::output::Reply;
use serde_json::json;
use std::io::{IsTerminal, Read};
use tideline_core::profile::import::ImportRequest;
use tideline_core::profile::{PasswordChange, ProfileDraft, SslMode};
use tideline_core::{Engine, Error, Result, Secret};

pub async fn run(engine: &Engine, command: ProfileCommand) -> Result<Reply> {
    match command {
        ProfileCommand::Add(args) => add(engine, args),
        ProfileCommand::List => {
            let profiles = engine.profiles()?;
            let text = if profiles.is_empty() {
                "no profiles yet: `tideline profile add NAME --url postgresql://…`".to_string()
            } else {
                profiles
                    .iter()
                    .map(|p| {
                        format!(
                            "{:<20} {}{}",
                            p.name,
                            p.draft().target(),
                            if p.has_password { "  [keychain]" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Ok(Reply::new(json!({ "profiles": profiles }), text))
        }
        ProfileCommand::Show { name } => {
            let p = engine.profile(&name)?;
            let text = format!(
                "{}\n  target:   {}\n  sslmode:  {}\n  password: {}\n  created:  {}",
                p.name,
                p.draft().target(),
                p.sslmode.as_str(),
                if p.has_password { "in the OS keychain" } else { "none" },
                p.created_at
            );
            Ok(Reply::of(&p, text))
        }
        ProfileCommand::Edit(args) => edit(engine, args),
        ProfileCommand::Test { name } => {
            let facts = engine.test_profile(&name).await?;
            let mut text = format!(
                "{name}: PostgreSQL {} as {}{}{}\n  wal_level={} archive_mode={} max_wal_senders={}  round trip {:.2} ms{}",
                facts.server_version,
                facts.current_user,
                if facts.is_superuser { " (superuser)" } else { "" },
                if facts.can_replicate { " (replication)" } else { "" },
                facts.wal_level,
                facts.archive_mode,
                facts.max_wal_senders,
                facts.round_trip_ms,
                if facts.tls { ", TLS" } else { "" },
            );
            for db in &facts.databases {
                text.push_str(&format!("\n  {:<24} {:>12} bytes", db.name, db.size_bytes));
            }
            let mut value = serde_json::to_value(&facts).map_err(|e| Error::internal(e.to_string()))?;
            value["profile"] = json!(name);
            Ok(Reply::new(value, text))
        }
        ProfileCommand::Remove { name } => {
            engine.remove_profile(&name)?;
            Ok(Reply::new(json!({ "removed": name }), format!("removed profile {name} and its keychain entry")))
        }
        ProfileCommand::Import(args) => import(engine, args),
    }
}

fn apply_fields(draft: &mut ProfileDraft, f: &ConnectionFields) -> Result<()> {
    if let Some(v) = &f.host {
        draft.host = v.clone();
    }
    if let Some(v) = f.port {
        draft.port = v;
    }
    if let Some(v) = &f.database {
        draft.database = v.clone();
    }
    if let Some(v) = &f.user {
        draft.user = v.clone();
    }
    if let Some(v) = &f.sslmode {
        draft.sslmode = SslMode::parse(v)?;
    }
    let opt = |v: &Option<String>, cur: &Option<String>| match v.as_deref() {
        Some("") => None,
        Some(s) => Some(s.to_string()),
        None => cur.clone(),
    };
    draft.sslrootcert = opt(&f.sslrootcert, &draft.sslrootcert);
    draft.sslcert = opt(&f.sslcert, &draft.sslcert);
    draft.sslkey = opt(&f.sslkey, &draft.sslkey);
    draft.application_name = opt(&f.application_name, &draft.application_name);
    if let Some(v) = f.connect_timeout {
        draft.connect_timeout_secs = v;
    }
    Ok(())
}

fn read_password_stdin() -> Result<Secret> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| Error::io("reading the password from stdin", e))?;
    let trimmed = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(Error::invalid_input(
            "--password-stdin read an empty password",
            "Pipe the password in (`printf %s \"$PW\" | tideline profile add …`), or use --no-password for passwordless auth.",
        ));
    }
    Ok(Secret::new(trimmed))
}

fn add(engine: &Engine, args: AddArgs) -> Result<Reply> {
    let (mut draft, url_password) = match &args.fields.url {
        Some(url) => {
            let parsed = engine.parse_connection(url)?;
            (parsed.draft, parsed.password)
        }
        None => (ProfileDraft::default(), None),
    };
    draft.name = args.name.clone();
    apply_fields(&mut draft, &args.fields)?;
    if url_password.is_some() {
        eprintln!("note: the password in the URL was moved to the keychain; it may still be in your shell history");
    }
    let password = if args.password_stdin {
        Some(read_password_stdin()?)
    } else if args.no_password {
        None
    } else if url_password.is_some() {
        url_password
    } else if std::io::stdin().is_terminal() {
        let pw = rpassword::prompt_password(format!("Password for {} (empty for none): ", draft.target()))
            .map_err(|e| Error::io("reading the password", e))?;
        Some(Secret::new(pw))
    } else {
        None
    };
    let profile = engine.add_profile(&draft, password.as_ref())?;
    let text = format!(
        "saved profile {} ({}){}; `tideline profile test {}` connects",
        profile.name,
        draft.target(),
        if profile.has_password { ", password in the OS keychain" } else { "" },
        profile.name
    );
    Ok(Reply::of(&profile, text))
}

fn edit(engine: &Engine, args: EditArgs) -> Result<Reply> {
    let current = engine.profile(&args.name)?;
    let mut draft = match &args.fields.url {
        Some(url) => engine.parse_connection(url)?.draft,
        None => current.draft(),
    };
    draft.name = args.rename.clone().unwrap_or_else(|| current.name.clone());
    apply_fields(&mut draft, &args.fields)?;
    let change = if args.password_stdin {
        PasswordChange::Set { password: read_password_stdin()? }
    } else if args.clear_password {
        PasswordChange::Clear
    } else {
        PasswordChange::Keep
    };
    let profile = engine.update_profile(&args.name, &draft, &change)?;
    let mut text = format!("updated profile {} ({})", profile.name, draft.target());
    let second = match (&args.second_repo, args.no_second_repo) {
        (Some(name), _) => Some(engine.set_second_repository(&profile.name, Some(name))?),
        (None, true) => Some(engine.set_second_repository(&profile.name, None)?),
        (None, false) => None,
    };
    let primary =
        args.repo.as_deref().map(|name| engine.set_profile_repository(&profile.name, Some(name))).transpose()?;
    let mut value = serde_json::to_value(&profile).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(primary) = primary {
        text.push_str(&match &primary {
            Some(r) => format!(
                "; backups and WAL are kept in {} ({}): run `tideline wal setup {} --apply` again to archive there",
                r.name,
                r.location(),
                profile.name
            ),
            None => "; backups and WAL are kept in this computer's repository".into(),
        });
        value["repository"] = serde_json::json!(primary.map(|r| r.name).unwrap_or_else(|| "local".into()));
    }
    if let Some(second) = second {
        text.push_str(&match &second {
            Some(r) => format!("; each backup is copied to {} ({})", r.name, r.location()),
            None => "; backups are no longer copied to a second repository".into(),
        });
        value["second_repository"] = serde_json::json!(second.map(|r| r.name));
    }
    Ok(Reply::new(value, text))
}

fn import(engine: &Engine, args: ImportArgs) -> Result<Reply> {
    let none = !args.pgpass && !args.service_file && !args.discover;
    let request = ImportRequest {
        pgpass: args.pgpass || none,
        service_file: args.service_file || none,
        discover: args.discover || none,
    };
    let report = engine.import_profiles(request)?;
    let mut text = format!("added {} profile(s)", report.added.len());
    for p in &report.added {
        text.push_str(&format!("\n  + {:<20} {}", p.name, p.draft().target()));
    }
    for s in &report.skipped {
        text.push_str(&format!("\n  - {:<20} {}", s.name, s.reason));
    }
    Ok(Reply::of(&report, text))
}

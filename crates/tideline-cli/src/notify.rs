//! `tideline notify`: webhooks and desktop notifications.

use crate::args::NotifyCommand;
use crate::output::Reply;
use tideline_core::{Engine, Error, Result};

pub async fn notify(engine: &Engine, cmd: NotifyCommand) -> Result<Reply> {
    use tideline_core::notify::payload::NotifyEvent;
    match cmd {
        NotifyCommand::Add { format, profile, on, url_stdin } => {
            let events: Vec<NotifyEvent> = on.into_iter().map(Into::into).collect();
            let url = if url_stdin {
                let mut url = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut url)
                    .map_err(|e| Error::io("reading the URL from stdin", e))?;
                Some(tideline_core::Secret::new(url.trim().to_string()))
            } else {
                None
            };
            let h = engine.hook_add(profile.as_deref(), format.into(), events, url.as_ref())?;
            let mut text = format!("webhook {} ({:?}, {}) for {:?}", h.id, h.format, h.host, h.events);
            if let Some(w) = &h.warning {
                text.push_str(&format!("\nwarning: {w}"));
            }
            Ok(Reply::of(&h, text))
        }
        NotifyCommand::List => {
            let all = engine.hooks()?;
            let text = if all.is_empty() {
                "no webhooks".to_string()
            } else {
                all.iter()
                    .map(|h| {
                        format!(
                            "{} {:?} {} on {:?}{}",
                            h.id,
                            h.format,
                            h.host,
                            h.events,
                            h.profile.as_deref().map(|p| format!(" (profile {p})")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Ok(Reply::new(serde_json::json!({ "hooks": all }), text))
        }
        NotifyCommand::Remove { id } => {
            engine.hook_remove(&id)?;
            Ok(Reply::new(serde_json::json!({ "removed": id }), format!("removed webhook {id}")))
        }
        NotifyCommand::Test { id } => {
            let h = engine.hook(&id)?;
            let d = engine.hook_test(&id).await?;
            Ok(Reply::of(&d, format!("delivered to {} ({} attempt(s))", h.host, d.attempts)))
        }
    }
}

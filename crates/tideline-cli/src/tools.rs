//! `tideline tools`: the PostgreSQL binaries found, per major, with their capabilities.

use crate::args::ToolsArgs;
use crate::output::Reply;
use tideline_core::{Engine, Result};

pub fn run(engine: &Engine, args: ToolsArgs) -> Result<Reply> {
    if let Some(dir) = &args.add_dir {
        engine.add_tool_dir(dir)?;
    }
    if let Some(dir) = &args.remove_dir {
        engine.remove_tool_dir(dir)?;
    }
    let inventory = engine.refresh_tools()?;
    let mut text = String::new();
    if inventory.installations.is_empty() {
        text.push_str("no PostgreSQL binaries found; install them, or `tideline tools --add-dir /path/to/bin`");
    }
    for i in &inventory.installations {
        let c = &i.capabilities;
        text.push_str(&format!(
            "PostgreSQL {:<8} {} ({})\n  tools: {}\n  pg_dump compression: {}  pg_basebackup compression: {}  incremental: {}\n",
            i.version,
            i.dir,
            i.source,
            i.tools.join(" "),
            if c.dump_compression.is_empty() { "-".into() } else { c.dump_compression.join(",") },
            if c.basebackup_compression.is_empty() { "-".into() } else { c.basebackup_compression.join(",") },
            if c.incremental_backup { "yes" } else { "no" },
        ));
        for a in &i.advisories {
            text.push_str(&format!("  warning: {a}\n"));
        }
    }
    Ok(Reply::of(&inventory, text.trim_end().to_string()))
}

//! `tideline demo`: the demo database and its accident.

use crate::args::DemoArgs;
use crate::output::Reply;
use tideline_core::{Engine, Result};

pub async fn demo(engine: &Engine, args: DemoArgs, json: bool) -> Result<Reply> {
    if args.remove {
        engine.demo_remove()?;
        return Ok(Reply::new(serde_json::json!({ "removed": true }), "demo removed".into()));
    }
    let report = if args.accident {
        engine.demo_accident().await?
    } else {
        let (job, bar) = crate::progress::job(json);
        let r = engine.demo(args.reset, &job).await;
        bar.finish_and_clear();
        r?
    };
    let mut text = format!(
        "demo: PostgreSQL {} on 127.0.0.1:{} (profile {}, database {}){}\nrepository {}\n",
        report.major,
        report.port,
        report.profile,
        report.database,
        if report.created { ", just created" } else { "" },
        report.repository
    );
    if let Some(a) = &report.accident {
        text.push_str(&format!("accident: {a}\n"));
    }
    text.push_str("next:\n");
    for step in &report.next_steps {
        text.push_str(&format!("  {step}\n"));
    }
    Ok(Reply::of(&report, text.trim_end().to_string()))
}

//! What a command prints: one JSON object on one line with --json, else text for people.
//! Errors follow the same rule: `{code, message, hint}` on stdout with --json, else stderr.

use serde::Serialize;
use serde_json::Value;
use tideline_core::Error;

pub struct Reply {
    pub json: Value,
    pub text: String,
}

impl Reply {
    pub fn new(json: Value, text: String) -> Self {
        Reply { json, text }
    }

    pub fn of<T: Serialize>(value: &T, text: String) -> Self {
        let json = serde_json::to_value(value).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }));
        Reply { json, text }
    }

    pub fn print(&self, json: bool) {
        if json {
            line(&self.json.to_string());
        } else {
            line(&self.text);
        }
    }
}

/// One line on stdout. A reader that has gone (`tideline … | head`) ends the process quietly
/// with the status a shell gives a process killed by SIGPIPE, rather than a panic (Rust's
/// runtime ignores SIGPIPE, so `println!` would panic on the broken pipe).
pub fn line(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.write_all(b"\n")).and_then(|_| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            std::process::exit(1);
        }
    }
}

pub fn print_error(err: &Error, json: bool) {
    if json {
        line(&serde_json::to_string(err).unwrap_or_default());
    } else {
        eprintln!("error: {}\n  hint: {}", err.message, err.hint);
    }
}

/// Sizes as people read them: 1.5 GiB.
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

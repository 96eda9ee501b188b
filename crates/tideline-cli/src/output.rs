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
            println!("{}", self.json);
        } else {
            println!("{}", self.text);
        }
    }
}

pub fn print_error(err: &Error, json: bool) {
    if json {
        println!("{}", serde_json::to_string(err).unwrap_or_default());
    } else {
        eprintln!("error: {}\n  hint: {}", err.message, err.hint);
    }
}

//! Which of the engine's modules may import which: each only from the layers below its own,
//! except the catalog (the index every module records into) and the `Engine` handle, which
//! any module reaches and which reach every module. docs/architecture.md draws the same map;
//! the test below reads every `crate::` path outside comments and tests and holds the code to it.

/// Lowest first.
pub const LAYERS: &[&[&str]] = &[
    &["error", "secret", "clock", "notify"],
    &["home", "job", "keychain"],
    &["logging", "process", "profile", "repo"],
    &["connect", "tools"],
    &["libpq_env"],
    &["pg"],
    &["cluster"],
    &["wal"],
    &["physical", "events", "health", "retention"],
    &["logical"],
    &["sandbox", "schedule"],
    &["pitr", "demo"],
];

/// Reached from anywhere, and reaching anywhere.
pub const EVERYWHERE: &[&str] = &["catalog", "engine"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn layer(module: &str) -> Option<usize> {
        LAYERS.iter().position(|l| l.contains(&module))
    }

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The top-level modules a file's code (not its comments or tests) names as `crate::X`.
    fn imports(text: &str) -> Vec<String> {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut found = Vec::new();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        }
        found
    }

    #[test]
    fn modules_import_only_from_below() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut wrong = Vec::new();
        for file in files {
            let relative = file.strip_prefix(&src).unwrap().to_string_lossy().to_string();
            let own = relative.split('/').next().unwrap().trim_end_matches(".rs").to_string();
            if ["lib", "layers"].contains(&own.as_str()) || EVERYWHERE.contains(&own.as_str()) {
                continue;
            }
            let own_layer = layer(&own).unwrap_or_else(|| panic!("module {own} is in no layer of LAYERS"));
            for target in imports(&std::fs::read_to_string(&file).unwrap()) {
                if target == own || EVERYWHERE.contains(&target.as_str()) {
                    continue;
                }
                match layer(&target) {
                    Some(l) if l < own_layer => {}
                    Some(_) => wrong.push(format!("{relative} imports {target}")),
                    None => {}
                }
            }
        }
        wrong.sort();
        wrong.dedup();
        assert!(wrong.is_empty(), "imports from the same or a higher layer:\n{}", wrong.join("\n"));
    }

    #[test]
    fn every_module_has_a_layer() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(&src).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().trim_end_matches(".rs").to_string();
            if ["lib", "layers"].contains(&name.as_str()) || EVERYWHERE.contains(&name.as_str()) {
                continue;
            }
            assert!(layer(&name).is_some(), "{name} is in no layer");
        }
    }

    /// `(lines, name)` of each function in `text` before its tests, by rustfmt's layout: a
    /// function ends at the first line that is its own indentation and `}`.
    fn function_lengths(text: &str) -> Vec<(usize, String)> {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let lines: Vec<&str> = code.lines().collect();
        let mut found = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let signature = ["pub ", "pub(crate) ", "pub(super) ", "async ", "const ", "unsafe "]
                .iter()
                .fold(trimmed, |rest, prefix| rest.strip_prefix(prefix).unwrap_or(rest));
            let Some(rest) = signature.strip_prefix("fn ") else { continue };
            if line.trim_end().ends_with(';') {
                continue;
            }
            let close = format!("{indent}}}");
            if let Some(end) = lines[i..].iter().position(|l| *l == close) {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                found.push((end + 1, name));
            }
        }
        found
    }

    #[test]
    fn no_function_over_100_lines_and_no_file_over_600() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in ["crates/tideline-core/src", "crates/tideline-cli/src", "crates/tideline-wal/src", "src-tauri/src"] {
            sources(&root.join(dir), &mut files);
        }
        let mut long = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
            if text.lines().count() > 600 {
                long.push(format!("{name}: {} lines", text.lines().count()));
            }
            for (lines, function) in function_lengths(&text).into_iter().filter(|(n, _)| *n > 100) {
                long.push(format!("{name}: fn {function}, {lines} lines"));
            }
        }
        assert!(long.is_empty(), "too long to read in one sitting:\n{}", long.join("\n"));
        assert_eq!(function_lengths("fn a() {\n    x;\n}\n"), vec![(3, "a".to_string())]);
    }
}

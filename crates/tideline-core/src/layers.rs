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
}

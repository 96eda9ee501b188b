// The app's commands are declared once, in `src/commands/mod.rs` (`app_commands!`). Declaring
// them to Tauri makes it generate one permission per command, and the capability file written
// here grants exactly those to the main window and nothing else.

use std::path::Path;

fn declared_commands() -> Vec<String> {
    let source = std::fs::read_to_string("src/commands/mod.rs").expect("src/commands/mod.rs");
    let list = source.split("app_commands! {\n").nth(1).expect("an app_commands! { … } declaration");
    let list = &list[..list.find('}').expect("the declaration ends")];
    list.split(',')
        .filter_map(|entry| entry.trim().rsplit("::").next().map(str::to_string))
        .filter(|name| !name.is_empty())
        .collect()
}

fn capability(commands: &[String]) -> String {
    let permissions: Vec<String> = commands.iter().map(|c| format!("    \"allow-{}\"", c.replace('_', "-"))).collect();
    format!(
        "{{\n  \"$schema\": \"../gen/schemas/desktop-schema.json\",\n  \"identifier\": \"default\",\n  \"description\": \"The main window may call Tideline's own commands and nothing else (written by build.rs from src/commands/mod.rs).\",\n  \"windows\": [\n    \"main\"\n  ],\n  \"permissions\": [\n{}\n  ]\n}}\n",
        permissions.join(",\n")
    )
}

fn main() {
    println!("cargo:rerun-if-changed=src/commands/mod.rs");
    let commands = declared_commands();
    let path = Path::new("capabilities/default.json");
    let text = capability(&commands);
    if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(path, text).expect("writing capabilities/default.json");
    }
    let names: Vec<&'static str> = commands.into_iter().map(|c| &*Box::leak(c.into_boxed_str())).collect();
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(Box::leak(names.into_boxed_slice()))),
    )
    .expect("tauri build script");
}

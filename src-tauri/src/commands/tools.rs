use tauri::State;
use tideline_core::tools::ToolInventory;
use tideline_core::{Engine, Error};

#[tauri::command]
pub async fn tools_list(engine: State<'_, Engine>) -> Result<ToolInventory, Error> {
    // The Tools screen's "Look again" means it.
    engine.refresh_tools()
}

/// The folders Tideline looks in besides the usual places.
#[tauri::command]
pub async fn tools_folders(engine: State<'_, Engine>) -> Result<Vec<String>, Error> {
    Ok(engine.added_tool_dirs()?.iter().map(|d| d.display().to_string()).collect())
}

#[tauri::command]
pub async fn tools_folder_add(engine: State<'_, Engine>, dir: String) -> Result<Vec<String>, Error> {
    engine.add_tool_dir(std::path::Path::new(&dir))?;
    tools_folders(engine).await
}

#[tauri::command]
pub async fn tools_folder_remove(engine: State<'_, Engine>, dir: String) -> Result<Vec<String>, Error> {
    engine.remove_tool_dir(std::path::Path::new(&dir))?;
    tools_folders(engine).await
}

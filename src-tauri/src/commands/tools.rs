use tauri::State;
use tideline_core::tools::ToolInventory;
use tideline_core::{Engine, Error};

#[tauri::command]
pub async fn tools_list(engine: State<'_, Engine>) -> Result<ToolInventory, Error> {
    // The Tools screen's "Look again" means it.
    engine.refresh_tools()
}

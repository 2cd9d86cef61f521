//! What a batch can be made of: the price table's models and the personas.

use chipbench_core::{personas::{self, Persona}, store::Model};
use tauri::State;

use super::{AppState, Result};

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn models(state: State<'_, AppState>) -> Result<Vec<Model>> {
    Ok(state.store.models()?)
}

#[tauri::command(async)]
#[specta::specta]
pub fn personas() -> Vec<Persona> {
    personas::built_in()
}

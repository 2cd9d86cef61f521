//! Data management: what the database holds, and deleting runs (with a preview for the
//! confirmation, and an undo). Deletions are tombstones that sync carries, and so are undos.

use chipbench_core::store::{DatabaseStats, Deleted, DeletionPlan, RunSelection};
use tauri::State;

use super::{AppState, Result};

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn database_stats(state: State<'_, AppState>) -> Result<DatabaseStats> {
    Ok(state.store.database_stats()?)
}

/// What deleting the selection would take, for the confirmation.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn deletion_plan(state: State<'_, AppState>, selection: RunSelection) -> Result<DeletionPlan> {
    Ok(state.store.deletion_plan(&selection)?)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn delete_runs(state: State<'_, AppState>, selection: RunSelection) -> Result<Deleted> {
    Ok(state.store.delete_runs(&selection)?)
}

/// Undoes a deletion: the runs come back with everything under them; returns how many.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn restore_runs(state: State<'_, AppState>, run_ids: Vec<String>) -> Result<u64> {
    Ok(state.store.restore_runs(&run_ids)?)
}

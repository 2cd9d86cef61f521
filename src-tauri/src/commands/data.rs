//! Data management: what the database holds, deleting runs and traces that belong to no run
//! (with a preview for the confirmation, and an undo). Deletions are tombstones that sync
//! carries, and so are undos.

use chipbench_core::store::{DatabaseStats, Deleted, DeletionPlan, RunSelection, TraceDeletion};
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

/// What deleting these traces (playground sessions, replays, imports) would take.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn trace_deletion_plan(state: State<'_, AppState>, trace_ids: Vec<String>) -> Result<TraceDeletion> {
    Ok(state.store.trace_deletion_plan(&trace_ids)?)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn delete_traces(state: State<'_, AppState>, trace_ids: Vec<String>) -> Result<TraceDeletion> {
    Ok(state.store.delete_traces(&trace_ids)?)
}

/// Undoes a trace deletion; returns how many traces came back.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn restore_traces(state: State<'_, AppState>, trace_ids: Vec<String>) -> Result<u64> {
    Ok(state.store.restore_traces(&trace_ids)?)
}

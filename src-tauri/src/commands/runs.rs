//! Runs: the seed's `GET /runs` and `GET /runs/{id}`.

use std::path::PathBuf;

use chipbench_core::{
    export,
    store::{RunDetail, RunSummary},
};
use serde::Serialize;
use tauri::State;

use super::{typed_path, AppState, Result};

#[derive(Serialize, specta::Type)]
pub struct RunList {
    pub runs: Vec<RunSummary>,
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn run_count(state: State<'_, AppState>) -> Result<u64> {
    Ok(state.store.run_count()?)
}

/// Every run, newest first, with result counts.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn runs(state: State<'_, AppState>) -> Result<RunList> {
    Ok(RunList { runs: state.store.runs()? })
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn run(state: State<'_, AppState>, id: String) -> Result<RunDetail> {
    Ok(state.store.run(&id)?)
}

/// Writes a run's results to a .csv or .json file, as `chipbench export` does; how many.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn export_run(state: State<'_, AppState>, run_id: String, path: PathBuf) -> Result<u32> {
    Ok(export::export_run(&state.store, &run_id, &typed_path("export file", path)?)? as u32)
}

//! Runs: the seed's `GET /runs` and `GET /runs/{id}`.

use chipbench_core::store::{RunDetail, RunSummary};
use serde::Serialize;
use tauri::State;

use super::{AppState, Result};

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

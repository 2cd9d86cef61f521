//! Results: the seed's `GET /results` (filters, my_rating, total) and `GET /results/{id}`.

use chipbench_core::store::{ResultDetail, ResultFilter, ResultPage};
use tauri::State;

use super::{AppState, Result};

/// A page of results; `my_rating` is always the current rater's (the filter's `user` is ignored).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn results(state: State<'_, AppState>, filter: ResultFilter) -> Result<ResultPage> {
    Ok(state.store.results(&ResultFilter { user: Some(state.rater()?), ..filter })?)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn result(state: State<'_, AppState>, id: String) -> Result<ResultDetail> {
    Ok(state.store.result(&id, Some(&state.rater()?))?)
}
